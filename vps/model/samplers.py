"""Diffusion samplers as small swappable classes (diffusers-style).

Usage::

    sampler = DDIMSampler(schedule, td=1.0)
    sampler.set_timesteps(4, start_time=1.0)
    for t_now, t_next in sampler.timesteps:
        x0 = expected_bits(model.denoise_step(x, ctx, gamma(t_now)), scale)
        x = sampler.step(x0, t_now, t_next, x)

Times run from ``start_time`` ``s`` (1.0 = pure noise; < 1 for a warm start from a noised previous mask) down
to 0 in ``n`` equal steps. Where on that grid the model is evaluated is the *spacing* (``SPACINGS``):

* ``td`` (default, what every checkpoint so far was tuned with): the *time-difference* trick of Pix2Seq /
  Bit Diffusion (``td``, in units of one step) evaluates the model at ``t_now = s (1 - i/n)`` but moves the
  sample to ``t_next - td * s/n`` (clipped at 0): the denoiser sees inputs slightly noisier than it assumes,
  which helps at few steps; ``td = 0`` is plain DDIM with trailing spacing.
* ``trailing`` (Lin et al. 2024; diffusers ``timestep_spacing="trailing"``): ``t_now = s (1 - i/n)``,
  ``t_next = s (1 - (i+1)/n)``, plain DDIM moves; the first call is always at the start time, so one step
  from noise is the model's x0 prediction at ``t = 1`` (``td`` is ignored).
* ``leading`` (diffusers' old default, ``T = MAX_STEPS`` discrete times): ``t_now = s ((n-1-i)/n + 1/T)``:
  the grid never reaches the start time, so the first call is told the sample is far cleaner than it is
  (at one step: ``t = s/T``). Kept to measure the gap that Garcia et al. (2024, E2E-FT) traced to it.

At one step ``td`` and ``trailing`` coincide (one call at ``s``, its prediction is the result).
Step coefficients are computed on the host from Python floats (no device sync); ``step`` also accepts
``t_now`` / ``t_next`` tensors so an exported graph can take time as an input.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod

import torch
from torch import Tensor

from vps.config import DiffusionConfig
from vps.model.diffusion import CosineSchedule, make_schedule
from vps.program import SamplerPlan, StepPlan

MAX_STEPS = 1000


def _sqrt(x: float | Tensor) -> float | Tensor:
    return x.clamp(min=0).sqrt() if isinstance(x, Tensor) else math.sqrt(max(x, 0.0))


SPACINGS = ("td", "trailing", "leading")


def time_grid(n: int, start_time: float = 1.0, spacing: str = "td",
              td: float = 0.0) -> list[tuple[float, float]]:
    """``n`` pairs ``(t_now, t_next)`` from ``start_time`` down to 0 under ``spacing`` (module docstring)."""
    if not isinstance(n, int) or not 1 <= n <= MAX_STEPS:
        raise ValueError(f"number of sampling steps must be an int in 1..{MAX_STEPS}, got {n!r}")
    if not 0.0 < start_time <= 1.0:
        raise ValueError(f"start_time must lie in (0, 1], got {start_time}")
    s = float(start_time)
    if spacing == "td":
        return [(s * (1 - i / n), max(s * (1 - (i + 1 + td) / n), 0.0)) for i in range(n)]
    if spacing == "trailing":
        return [(s * (1 - i / n), max(s * (1 - (i + 1) / n), 0.0)) for i in range(n)]
    if spacing == "leading":
        now = [s * ((n - 1 - i) / n + 1.0 / MAX_STEPS) for i in range(n)]
        return [(t, now[i + 1] if i + 1 < n else 0.0) for i, t in enumerate(now)]
    raise ValueError(f"unknown timestep spacing {spacing!r}; known: {SPACINGS}")


class Sampler(ABC):
    """Base: the time grid (:func:`time_grid`, one of ``SPACINGS``); subclasses implement :meth:`step`."""

    def __init__(self, schedule: CosineSchedule, td: float = 0.0, spacing: str = "td") -> None:
        if td < 0:
            raise ValueError(f"td must be >= 0, got {td}")
        if spacing not in SPACINGS:
            raise ValueError(f"unknown timestep spacing {spacing!r}; known: {SPACINGS}")
        self.schedule = schedule
        self.td = float(td)
        self.spacing = spacing
        self.timesteps: list[tuple[float, float]] = []
        self.start_time = 1.0

    def set_timesteps(self, n: int, start_time: float = 1.0) -> list[tuple[float, float]]:
        """Set (and return) ``n`` pairs ``(t_now, t_next)`` from ``start_time`` down to 0."""
        self.timesteps = time_grid(n, start_time, self.spacing, self.td)
        self.start_time = float(start_time)
        return self.timesteps

    def gamma(self, t: float | Tensor) -> float | Tensor:
        """Signal level at time ``t`` (host float for a float, tensor for a tensor)."""
        return self.schedule(t) if isinstance(t, Tensor) else self.schedule.gamma(t)

    def noise_to(self, x0: Tensor, t: float, noise: Tensor) -> Tensor:
        """Forward process to time ``t``: ``sqrt(gamma) x0 + sqrt(1 - gamma) noise`` (warm start)."""
        g = self.schedule.gamma(t)
        return x0 * math.sqrt(g) + noise * math.sqrt(1.0 - g)

    @abstractmethod
    def step(self, x0_pred: Tensor, t_now: float | Tensor, t_next: float | Tensor, x_t: Tensor,
             generator: torch.Generator | None = None) -> Tensor:
        ...


class DDIMSampler(Sampler):
    """Deterministic DDIM: ``x_next = sqrt(g_next) x0 + sqrt(1 - g_next) eps(x_t, x0)``.

    ``t_next == t_now`` returns ``x_t`` (for ``t > 0``), ``t_next = 0`` returns ``x0_pred`` exactly, so one
    step from pure noise is the x0 prediction.
    """

    def coefficients(self, t_now: float | Tensor,
                     t_next: float | Tensor) -> tuple[float | Tensor, float | Tensor]:
        """``(a, b)`` with ``x_next = a * x0_pred + b * x_t``."""
        g_now, g_next = self.gamma(t_now), self.gamma(t_next)
        one_minus = (1 - g_now).clamp(min=1e-20) if isinstance(g_now, Tensor) else max(1.0 - g_now, 1e-20)
        b = _sqrt(1 - g_next) / _sqrt(one_minus)  # eps coefficient / sqrt(1 - g_now)
        a = _sqrt(g_next) - b * _sqrt(g_now)
        return a, b

    def plan(self, n: int, start_time: float = 1.0, warm: bool = False) -> StepPlan:
        """The runtime's :class:`~vps.program.StepPlan` of ``n`` steps from ``start_time`` (host floats).

        Cold (``warm=False``): the start sample is pure noise. Warm: it is the previous prediction noised
        to ``start_time`` (signal level ``gamma(start_time)``, the plan's ``start_gamma``).
        """
        times = tuple(self.set_timesteps(n, start_time=start_time))
        gammas = tuple(float(self.schedule.gamma(t_now)) for t_now, _ in times)
        coefficients = tuple((float(a), float(b)) for a, b in (self.coefficients(*p) for p in times))
        start = float(self.schedule.gamma(start_time)) if warm else None
        return StepPlan(times=times, gammas=gammas, coefficients=coefficients, start_gamma=start)

    def step(self, x0_pred: Tensor, t_now: float | Tensor, t_next: float | Tensor, x_t: Tensor,
             generator: torch.Generator | None = None) -> Tensor:
        a, b = self.coefficients(t_now, t_next)
        if isinstance(a, Tensor):
            a, b = a.to(x_t.dtype).reshape(-1, 1, 1, 1), b.to(x_t.dtype).reshape(-1, 1, 1, 1)
        return x0_pred * a + x_t * b


class DDPMSampler(Sampler):
    """Ancestral sampling from the posterior ``q(x_next | x_t, x0_pred)`` (stochastic; needs a generator)."""

    def step(self, x0_pred: Tensor, t_now: float | Tensor, t_next: float | Tensor, x_t: Tensor,
             generator: torch.Generator | None = None) -> Tensor:
        if isinstance(t_now, Tensor) or isinstance(t_next, Tensor):
            raise TypeError("DDPMSampler.step takes host float times")
        g_now, g_next = self.schedule.gamma(t_now), self.schedule.gamma(t_next)
        alpha = min(max(g_now / g_next, 0.0), 1.0)
        denom = max(1.0 - g_now, 1e-20)
        c_x0 = math.sqrt(g_next) * (1 - alpha) / denom
        c_xt = math.sqrt(alpha) * (1 - g_next) / denom
        var = (1 - g_next) / denom * (1 - alpha)
        out = x0_pred * c_x0 + x_t * c_xt
        if var > 0:
            noise = torch.randn(x_t.shape, generator=generator, device=x_t.device, dtype=x_t.dtype)
            out = out + noise * math.sqrt(var)
        return out


SAMPLERS: dict[str, type[Sampler]] = {"ddim": DDIMSampler, "ddpm": DDPMSampler}


def make_sampler(name: str, schedule: CosineSchedule, td: float = 0.0, spacing: str = "td") -> Sampler:
    """Sampler by config name (``DiffusionConfig.sampler``, ``DiffusionConfig.spacing``)."""
    if name not in SAMPLERS:
        raise ValueError(f"unknown sampler {name!r}; known: {sorted(SAMPLERS)}")
    return SAMPLERS[name](schedule, td=td, spacing=spacing)


def sampler_plan(diffusion: DiffusionConfig, steps: int, warm_steps: int | None = None,
                 warm_time: float | None = None) -> SamplerPlan:
    """The cold plan of ``steps`` DDIM steps and the warm plan of ``warm_steps`` steps from ``warm_time``.

    Defaults: the config's ``warm_start_steps`` and ``warm_start_time``. The frame engine runs DDIM plans
    (deterministic given the noise); a config asking for another sampler is refused here, once.
    """
    if diffusion.sampler != "ddim":
        raise ValueError(f"the frame engine runs DDIM plans; diffusion.sampler is {diffusion.sampler!r}")
    warm_steps = diffusion.warm_start_steps if warm_steps is None else warm_steps
    warm_time = diffusion.warm_start_time if warm_time is None else warm_time
    if steps < 1 or warm_steps < 1:
        raise ValueError(f"steps ({steps}) and warm-start steps ({warm_steps}) must be >= 1")
    if not 0.0 < warm_time <= 1.0:
        raise ValueError(f"warm-start time must lie in (0, 1], got {warm_time}")
    sampler = DDIMSampler(make_schedule(diffusion.schedule), td=diffusion.td, spacing=diffusion.spacing)
    return SamplerPlan(sampler="ddim", schedule=diffusion.schedule, td=float(diffusion.td),
                       spacing=diffusion.spacing,
                       warm_start_time=float(warm_time), cold=sampler.plan(steps, 1.0),
                       warm=sampler.plan(warm_steps, warm_time, warm=True))
