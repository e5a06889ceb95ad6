"""Noise schedule and samplers: monotone schedule/time grid, identity at t=0, one DDIM step = x0."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch

from vps.config import DiffusionConfig
from vps.model.diffusion import CosineSchedule, add_noise, make_schedule
from vps.model.samplers import (
    MAX_STEPS,
    SPACINGS,
    DDIMSampler,
    DDPMSampler,
    make_sampler,
    sampler_plan,
    time_grid,
)


def test_cosine_schedule_endpoints_and_monotone() -> None:
    s = CosineSchedule()
    assert s.gamma(0.0) == 1.0 and s.gamma(1.0) < 1e-8
    t = torch.linspace(0, 1, 1001)
    g = s(t)
    assert g[0].item() == 1.0 and g[-1].item() < 1e-8
    assert bool((g[1:] <= g[:-1]).all())
    host = torch.tensor([s.gamma(float(v)) for v in t[::50]])
    torch.testing.assert_close(host, g[::50].double(), check_dtype=False, atol=1e-6, rtol=0)
    with pytest.raises(ValueError, match="unknown diffusion schedule"):
        make_schedule("linearr")


@pytest.mark.parametrize("n", [1, 2, 7, 100])
@pytest.mark.parametrize("td", [0.0, 1.0])
@pytest.mark.parametrize("start", [1.0, 0.5])
def test_time_grid(n: int, td: float, start: float) -> None:
    sampler = DDIMSampler(CosineSchedule(), td=td)
    steps = sampler.set_timesteps(n, start_time=start)
    assert steps is sampler.timesteps and len(steps) == n
    assert steps[0][0] == start
    nows = [a for a, _ in steps]
    assert all(a > b for a, b in zip(nows, nows[1:], strict=False))
    for t_now, t_next in steps:
        assert 0.0 <= t_next < t_now <= start
        assert t_next == pytest.approx(max(t_now - start * (1 + td) / n, 0.0))
    assert steps[-1][1] == 0.0


def test_time_grid_rejects_bad_counts() -> None:
    sampler = DDIMSampler(CosineSchedule())
    for bad in (0, -1, 1001):
        with pytest.raises(ValueError, match="sampling steps"):
            sampler.set_timesteps(bad)
    with pytest.raises(ValueError, match="start_time"):
        sampler.set_timesteps(4, start_time=0.0)


def test_ddim_identity_and_x0() -> None:
    g = torch.Generator().manual_seed(0)
    x0 = torch.randn(2, 16, 4, 5, generator=g) * 0.1
    xt = torch.randn(2, 16, 4, 5, generator=g)
    sampler = DDIMSampler(CosineSchedule(), td=1.0)
    torch.testing.assert_close(sampler.step(x0, 0.0, 0.0, x0), x0, rtol=0, atol=0)  # t = 0: returns input
    torch.testing.assert_close(sampler.step(x0, 0.0, 0.0, xt), x0, rtol=0, atol=0)  # ... which is x0
    torch.testing.assert_close(sampler.step(x0, 0.3, 0.3, xt), xt, rtol=0, atol=1e-6)  # no move: identity
    (t_now, t_next), = sampler.set_timesteps(1)
    torch.testing.assert_close(sampler.step(x0, t_now, t_next, xt), x0, rtol=0, atol=0)  # 1 step -> x0


def test_ddim_step_is_consistent_with_forward_process() -> None:
    """If x_t was made from x0 with noise eps, a DDIM step lands on the same-noise x_next."""
    s = CosineSchedule()
    g = torch.Generator().manual_seed(1)
    x0, eps = torch.randn(1, 16, 3, 3, generator=g) * 0.1, torch.randn(1, 16, 3, 3, generator=g)
    xt = add_noise(x0, s(torch.tensor([0.8])), eps)
    x_next = DDIMSampler(s).step(x0, 0.8, 0.3, xt)
    torch.testing.assert_close(x_next, add_noise(x0, s(torch.tensor([0.3])), eps), atol=1e-5, rtol=1e-5)


def test_tensor_times_match_float_times() -> None:
    g = torch.Generator().manual_seed(2)
    x0, xt = torch.randn(3, 16, 2, 2, generator=g), torch.randn(3, 16, 2, 2, generator=g)
    sampler = DDIMSampler(CosineSchedule())
    ref = sampler.step(x0, 0.75, 0.25, xt)
    got = sampler.step(x0, torch.full((3,), 0.75), torch.full((3,), 0.25), xt)
    torch.testing.assert_close(got, ref, atol=1e-5, rtol=1e-5)


def test_ddpm_final_step_and_noise() -> None:
    g = torch.Generator().manual_seed(3)
    x0, xt = torch.randn(1, 16, 4, 4, generator=g), torch.randn(1, 16, 4, 4, generator=g)
    sampler = make_sampler("ddpm", CosineSchedule())
    assert isinstance(sampler, DDPMSampler)
    torch.testing.assert_close(sampler.step(x0, 0.5, 0.0, xt, generator=g), x0, atol=1e-6, rtol=0)
    a = sampler.step(x0, 0.9, 0.5, xt, generator=torch.Generator().manual_seed(7))
    b = sampler.step(x0, 0.9, 0.5, xt, generator=torch.Generator().manual_seed(7))
    torch.testing.assert_close(a, b)
    assert not torch.allclose(a, sampler.step(x0, 0.9, 0.5, xt, generator=torch.Generator().manual_seed(8)))
    with pytest.raises(ValueError, match="unknown sampler"):
        make_sampler("euler", CosineSchedule())


def test_warm_start_noising() -> None:
    sampler = DDIMSampler(CosineSchedule())
    x0, eps = torch.ones(1, 16, 2, 2) * 0.1, torch.ones(1, 16, 2, 2)
    g = CosineSchedule().gamma(0.5)
    torch.testing.assert_close(sampler.noise_to(x0, 0.5, eps), x0 * math.sqrt(g) + eps * math.sqrt(1 - g))


def test_plans_are_the_samplers_own_steps() -> None:
    from dataclasses import replace

    from vps.config import DiffusionConfig
    from vps.model.samplers import DDIMSampler, sampler_plan

    d = DiffusionConfig(td=1.0, warm_start_time=0.5, warm_start_steps=2)
    plan = sampler_plan(d, steps=4)
    sampler = DDIMSampler(make_schedule("cosine"), td=1.0)
    assert plan.cold.times == tuple(sampler.set_timesteps(4)) and plan.cold.start_gamma is None
    for (t_now, t_next), g, (a, b) in zip(plan.cold.times, plan.cold.gammas, plan.cold.coefficients,
                                          strict=True):
        assert g == sampler.gamma(t_now) and (a, b) == sampler.coefficients(t_now, t_next)
    assert plan.warm.steps == 2 and plan.warm.times[0][0] == 0.5
    assert plan.warm.start_gamma == sampler.gamma(0.5)
    assert plan.cold.coefficients[-1] == (pytest.approx(1.0), 0.0)  # the last move returns the x0 estimate
    with pytest.raises(ValueError, match="DDIM plans"):
        sampler_plan(replace(d, sampler="ddpm"), steps=2)
    with pytest.raises(ValueError, match=">= 1"):
        sampler_plan(d, steps=0)


def _approx(pairs: list[tuple[float, float]]) -> object:
    """``pytest.approx`` of a list of time pairs (flattened: approx does not nest tuples in lists)."""
    return _Flat(pairs)


class _Flat:
    def __init__(self, pairs: list[tuple[float, float]]) -> None:
        self.flat = pytest.approx([v for p in pairs for v in p])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, list) and [v for p in other for v in p] == self.flat


@pytest.mark.parametrize("start", [1.0, 0.5])
def test_trailing_spacing_starts_at_the_start_time_with_plain_ddim_moves(start: float) -> None:
    steps = time_grid(4, start, "trailing", td=1.0)  # td is ignored by trailing spacing
    assert steps == _approx([(start, 0.75 * start), (0.75 * start, 0.5 * start),
                                   (0.5 * start, 0.25 * start), (0.25 * start, 0.0)])
    assert time_grid(4, start, "td", td=0.0) == _approx(steps)  # td = 0 is trailing


@pytest.mark.parametrize("start", [1.0, 0.5])
def test_td_spacing_moves_one_step_further(start: float) -> None:
    steps = time_grid(4, start, "td", td=1.0)
    assert steps == _approx([(start, 0.5 * start), (0.75 * start, 0.25 * start),
                                   (0.5 * start, 0.0), (0.25 * start, 0.0)])


@pytest.mark.parametrize("start", [1.0, 0.5])
def test_leading_spacing_never_reaches_the_start_time(start: float) -> None:
    eps = start / MAX_STEPS
    assert time_grid(1, start, "leading") == _approx([(eps, 0.0)])  # 1 step: told "almost clean"
    steps = time_grid(4, start, "leading")
    nows = [0.75 * start + eps, 0.5 * start + eps, 0.25 * start + eps, eps]
    assert steps == _approx(list(zip(nows, [*nows[1:], 0.0], strict=True)))


def test_one_step_td_and_trailing_coincide_and_spacing_reaches_the_plan() -> None:
    assert time_grid(1, 1.0, "td", td=1.0) == time_grid(1, 1.0, "trailing") == [(1.0, 0.0)]
    with pytest.raises(ValueError, match="spacing"):
        time_grid(2, 1.0, "linspace")
    with pytest.raises(ValueError, match="spacing"):
        DDIMSampler(CosineSchedule(), spacing="nope")
    for spacing in SPACINGS:
        plan = sampler_plan(replace(DiffusionConfig(), spacing=spacing), steps=2, warm_steps=2)
        assert plan.spacing == spacing
        assert plan.cold.times == tuple(time_grid(2, 1.0, spacing, td=1.0))
        assert plan.warm.times == tuple(time_grid(2, 0.5, spacing, td=1.0))
