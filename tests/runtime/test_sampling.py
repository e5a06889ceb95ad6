"""The backend-agnostic host loop with a recording NumPy backend: schedule, DDIM, noise, conditioning."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from vps.bits import BitLayout, panoptic_to_bits
from vps.runtime.manifest import SamplerSchedule
from vps.runtime.sampling import NoiseSource, SamplingLoop, StepPlan, ddim_coefficients, run_denoiser

LAYOUT = BitLayout()
SCHEDULE = SamplerSchedule(
    sampler="ddim", schedule="cosine", td=0.0, steps=((1.0, 0.5), (0.5, 0.0)), gamma_now=(1e-9, 0.5),
    gamma_next=(0.5, 1.0), warm_start_time=0.5, warm_start_gamma=0.5, warm_steps=((0.5, 0.25), (0.25, 0.0)),
    warm_gamma_now=(0.5, 0.85), warm_gamma_next=(0.85, 1.0))


class Recording:
    """Fake backend: feats = first channel pooled; logits say "class 13, instance 7" wherever x_t[0] > 0."""

    name = "fake"

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def encode(self, images: np.ndarray) -> np.ndarray:
        self.calls.append(("encode", images.shape))
        return images[:, :1, ::2, ::2].repeat(4, axis=1)  # [B, 4, H/2, W/2]

    def context(self, cond: np.ndarray, feats: np.ndarray) -> list[np.ndarray]:
        self.calls.append(("context", cond.copy()))
        return [feats]

    def denoise(self, x_t: np.ndarray, ctx: Sequence[np.ndarray], gamma: np.ndarray) -> np.ndarray:
        self.calls.append(("denoise", (x_t.copy(), gamma.copy())))
        B, _, h, w = x_t.shape
        logits = np.zeros((B, 512, h, w), np.float32)
        logits[:, 13] = 5.0 * (x_t[:, 0] > 0)
        logits[:, 256 + 7] = 5.0
        return logits

    def asarray(self, array: np.ndarray) -> np.ndarray:
        return array

    def to_numpy(self, array: Any) -> np.ndarray:
        return np.asarray(array)


def test_ddim_coefficients_match_the_formula() -> None:
    a, b = ddim_coefficients(0.3, 1.0)
    assert (a, b) == (pytest.approx(1.0), 0.0)  # a step to t = 0 returns the x0 estimate
    a, b = ddim_coefficients(0.2, 0.6)
    assert b == pytest.approx(math.sqrt(0.4) / math.sqrt(0.8))
    assert a == pytest.approx(math.sqrt(0.6) - b * math.sqrt(0.2))


def test_step_plans_and_ddpm_refused() -> None:
    cold, warm = StepPlan.from_schedule(SCHEDULE), StepPlan.from_schedule(SCHEDULE, warm=True)
    assert cold.gammas == (1e-9, 0.5) and cold.start_gamma is None and cold.steps == 2
    assert warm.gammas == (0.5, 0.85) and warm.start_gamma == 0.5
    from dataclasses import replace

    with pytest.raises(ValueError, match="DDIM only"):
        StepPlan.from_schedule(replace(SCHEDULE, sampler="ddpm"))


def test_run_denoiser_calls_and_ddim_update() -> None:
    be = Recording()
    noise = NoiseSource(0)((1, 16, 4, 6))
    feats = np.zeros((1, 4, 4, 6), np.float32)
    logits = run_denoiser(be, feats, np.zeros((1, 32, 4, 6), np.float32), StepPlan.from_schedule(SCHEDULE),
                          noise, LAYOUT.scale)
    denoise = [c[1] for c in be.calls if c[0] == "denoise"]
    assert len(denoise) == 2 and [float(g[0]) for _, g in denoise] == [np.float32(1e-9), 0.5]
    np.testing.assert_array_equal(denoise[0][0], noise)  # cold start: pure noise
    from vps.kernels import expected_bits

    a, b = ddim_coefficients(1e-9, 0.5)
    first = be.denoise(noise, [feats], np.zeros(1, np.float32))
    np.testing.assert_allclose(denoise[1][0], expected_bits(first, 0.1) * a + noise * b, rtol=1e-6)
    assert logits.shape == (1, 512, 4, 6)
    with pytest.raises(ValueError, match="warm-start plan"):
        run_denoiser(be, feats, feats, StepPlan.from_schedule(SCHEDULE), noise, 0.1, x_init=noise)


def test_noise_source_is_reproducible() -> None:
    src = NoiseSource(11)
    first = src((2, 3))
    assert first.dtype == np.float32 and not np.array_equal(first, src((2, 3)))
    src.reset()
    np.testing.assert_array_equal(src((2, 3)), first)
    np.testing.assert_array_equal(NoiseSource(11)((2, 3)), first)


def test_loop_conditions_on_previous_predictions_and_warm_starts() -> None:
    be = Recording()
    loop = SamplingLoop(be, SCHEDULE, LAYOUT, seed=2, warm_start=True, postprocess=lambda p: p + 1)
    images = np.ones((1, 3, 8, 12), np.float32)
    first = loop.step(images)
    assert first.shape == (1, 4, 6) and first.dtype == np.int32
    assert set(np.unique(first % 1000)) == {8}  # decoded 7, then the post-process hook adds 1
    conds = [c[1] for c in be.calls if c[0] == "context"]
    assert not conds[0].any()  # no previous frame: zeros
    second = loop.step(images)
    conds = [c[1] for c in be.calls if c[0] == "context"]
    np.testing.assert_array_equal(conds[1][:, :16], panoptic_to_bits(first, LAYOUT))
    assert not conds[1][:, 16:].any()  # no t-2 frame yet
    gammas = [float(c[1][1][0]) for c in be.calls if c[0] == "denoise"]
    assert gammas == pytest.approx([1e-9, 0.5, 0.5, 0.85])  # frame 2 ran the warm plan
    loop.step(images)
    conds = [c[1] for c in be.calls if c[0] == "context"]
    np.testing.assert_array_equal(conds[2][:, 16:], panoptic_to_bits(first, LAYOUT))
    np.testing.assert_array_equal(conds[2][:, :16], panoptic_to_bits(second, LAYOUT))
    loop.reset()
    assert loop.prev == [] and loop.step(images).shape == (1, 4, 6)


def test_same_seed_same_noise_and_bad_inputs() -> None:
    a, b = (SamplingLoop(Recording(), SCHEDULE, LAYOUT, seed=5) for _ in range(2))
    x = np.random.default_rng(0).normal(size=(2, 3, 8, 12)).astype(np.float32)
    np.testing.assert_array_equal(a.step(x), b.step(x))
    explicit = np.ones((2, 16, 4, 6), np.float32)
    c = SamplingLoop(Recording(), SCHEDULE, LAYOUT)
    assert (c.step(x, noise=explicit) // 1000 == 13).all()  # x_t[0] > 0 everywhere -> class 13
    with pytest.raises(ValueError, match="noise must have shape"):
        c.step(x, noise=np.ones((2, 16, 4, 4), np.float32))
    with pytest.raises(ValueError, match="changed mid-stream"):
        c.step(np.ones((1, 3, 8, 12), np.float32))
    with pytest.raises(ValueError, match="float32"):
        c.step(x.astype(np.float64))
    with pytest.raises(ValueError, match=r"\[B, 3, H, W\]"):
        c.step(np.ones((2, 4, 8, 12), np.float32))
