"""The backend-agnostic sampling host loop: encode, context, ``steps`` denoiser calls with DDIM updates.

The loop is the same for every backend (:mod:`vps.runtime.backends`): the exporter's verification runs
the PyTorch module and the exported artifacts through *this* code with identical noise, and the
streaming runtime runs the artifacts through it. Per frame (``images [B, 3, H, W]`` normalised):

1. ``feats = encode(images)``; ``ctx = context(cond, feats)`` with ``cond [B, 32, h, w]`` the analog bits
   of the two previous predictions (t-1, then t-2; zeros where there is none);
2. ``x`` starts as the noise (cold start) or, with the warm start from the second frame on, as the
   previous prediction's bits noised to the warm-start time: ``sqrt(g) * bits + sqrt(1 - g) * noise``;
3. for each step ``i``: ``logits = denoise(x, ctx, gamma_now[i])``; unless it is the last step the x0
   estimate is the softmax expectation of the bits (:func:`vps.kernels.expected_bits`) and DDIM moves
   ``x = a_i * x0 + b_i * x`` with ``b_i = sqrt(1 - g_next) / sqrt(1 - g_now)``,
   ``a_i = sqrt(g_next) - b_i * sqrt(g_now)`` (exactly :class:`vps.model.samplers.DDIMSampler`);
4. the panoptic ids of the last logits (:func:`vps.kernels.decode_panoptic`) -> ``int32 [B, h, w]``.

No schedule code runs here: times and gammas come precomputed from the manifest
(:class:`~vps.runtime.manifest.SamplerSchedule`). The arithmetic is written with operators that NumPy
arrays and torch tensors share, so the loop runs on host arrays (ONNX Runtime) and device tensors
(TensorRT, PyTorch) alike. Noise comes from :class:`NoiseSource` (seeded NumPy generator: the same seed
gives the same noise to every backend) or is passed in. Torch-free.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from vps.bits import BitLayout, panoptic_to_bits
from vps.runtime import native
from vps.runtime.backends.base import Backend, check_float32
from vps.runtime.manifest import SamplerSchedule

NUM_COND_FRAMES = 2  # the denoiser is conditioned on the previous two masks
Postprocess = Callable[[np.ndarray], np.ndarray]  # int32 [B, h, w] -> int32 [B, h, w]


def ddim_coefficients(g_now: float, g_next: float) -> tuple[float, float]:
    """``(a, b)`` with ``x_next = a * x0 + b * x_t`` for signal levels ``g_now -> g_next`` (host floats)."""
    b = math.sqrt(max(1.0 - g_next, 0.0)) / math.sqrt(max(1.0 - g_now, 1e-20))
    a = math.sqrt(max(g_next, 0.0)) - b * math.sqrt(max(g_now, 0.0))
    return a, b


@dataclass(frozen=True)
class StepPlan:
    """What the loop runs for one frame: gamma per denoiser call and the DDIM move after it.

    ``start_gamma`` is the signal level the start sample has (``None``: pure noise, the cold start).
    """

    gammas: tuple[float, ...]
    coefficients: tuple[tuple[float, float], ...]
    start_gamma: float | None = None

    @classmethod
    def from_schedule(cls, schedule: SamplerSchedule, warm: bool = False) -> StepPlan:
        """The cold (``warm=False``) or warm-start plan of a manifest's sampler schedule."""
        if schedule.sampler != "ddim":
            raise ValueError(f"the host loop runs DDIM only; the manifest asks for {schedule.sampler!r}")
        g_now = schedule.warm_gamma_now if warm else schedule.gamma_now
        g_next = schedule.warm_gamma_next if warm else schedule.gamma_next
        coeffs = tuple(ddim_coefficients(a, b) for a, b in zip(g_now, g_next, strict=True))
        return cls(tuple(g_now), coeffs, schedule.warm_start_gamma if warm else None)

    @property
    def steps(self) -> int:
        return len(self.gammas)


class NoiseSource:
    """Standard-normal float32 noise from ``numpy.random.default_rng(seed)``; :meth:`reset` restarts it."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = int(seed)
        self._rng = np.random.default_rng(self.seed)

    def reset(self) -> None:
        self._rng = np.random.default_rng(self.seed)

    def __call__(self, shape: Sequence[int]) -> np.ndarray:
        return self._rng.standard_normal(tuple(shape), dtype=np.float32)


def run_denoiser(backend: Backend, feats: Any, cond: Any, plan: StepPlan, noise: Any, scale: float,
                 x_init: Any = None) -> Any:
    """Reverse diffusion for one batch -> the last step's logits ``[B, 512, h, w]`` (backend arrays).

    ``noise [B, 16, h, w]`` and ``x_init`` (clean bits to warm-start from; needs ``plan.start_gamma``) are
    backend arrays. Mirrors :func:`vps.model.inference.sample`.
    """
    from vps.kernels import expected_bits

    ctx = backend.context(cond, feats)
    if x_init is None:
        x = noise
    else:
        if plan.start_gamma is None:
            raise ValueError("x_init given but the plan has no start_gamma (use the warm-start plan)")
        g = plan.start_gamma
        x = x_init * math.sqrt(g) + noise * math.sqrt(1.0 - g)
    batch = int(noise.shape[0])
    logits = None
    for i, (gamma, (a, b)) in enumerate(zip(plan.gammas, plan.coefficients, strict=True)):
        logits = backend.denoise(x, ctx, backend.asarray(np.full((batch,), gamma, np.float32)))
        if i + 1 < plan.steps:
            x = expected_bits(logits, scale) * a + x * b  # [B, 16, h, w]
    return logits


class SamplingLoop:
    """Frame-by-frame segmentation of ``B`` parallel streams with any :class:`Backend`.

    ``step(images float32 [B, 3, H, W]) -> int32 [B, h, w]`` panoptic ids at mask resolution
    (``class * label_divisor + instance``, instance < 256). The loop keeps the two previous predictions
    (after ``postprocess``, if given) as the conditioning; ``reset`` starts new streams and restarts the
    noise. ``warm_start``: frames after the first start from the previous prediction (fewer steps).
    """

    def __init__(self, backend: Backend, schedule: SamplerSchedule, layout: BitLayout, seed: int = 0,
                 warm_start: bool = False, postprocess: Postprocess | None = None) -> None:
        self.backend = backend
        self.layout = layout
        self.cold = StepPlan.from_schedule(schedule, warm=False)
        self.warm = StepPlan.from_schedule(schedule, warm=True)
        self.warm_start = warm_start
        self.postprocess = postprocess
        self.noise = NoiseSource(seed)
        self.prev: list[np.ndarray] = []  # int32 [B, h, w] of the last frames, newest first
        self.last_logits: Any = None

    def reset(self) -> None:
        """Forget the previous predictions and restart the noise from the seed."""
        self.prev = []
        self.last_logits = None
        self.noise.reset()

    def cond_bits(self, batch: int, hw: tuple[int, int]) -> np.ndarray:
        """``float32 [B, 32, h, w]``: bits of the previous two predictions (zeros where absent)."""
        nb = self.layout.num_bits
        out = np.zeros((batch, NUM_COND_FRAMES * nb, *hw), np.float32)
        for k, pan in enumerate(self.prev[:NUM_COND_FRAMES]):
            out[:, k * nb:(k + 1) * nb] = panoptic_to_bits(pan, self.layout)
        return out

    def step(self, images: np.ndarray, noise: np.ndarray | None = None) -> np.ndarray:
        """Segment one frame per stream; ``noise`` (float32 ``[B, 16, h, w]``) overrides the seeded draw."""
        images = check_float32(images, "images")
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"images must be float32 [B, 3, H, W], got shape {images.shape}")
        be = self.backend
        feats = be.encode(be.asarray(images))  # [B, C, h, w]
        batch, hw = int(images.shape[0]), (int(feats.shape[2]), int(feats.shape[3]))
        if self.prev and (self.prev[0].shape[0] != batch or self.prev[0].shape[1:] != hw):
            raise ValueError(f"frame shape changed mid-stream ({self.prev[0].shape} -> {(batch, *hw)}); "
                             f"reset() first")
        shape = (batch, self.layout.num_bits, *hw)
        noise = self.noise(shape) if noise is None else check_float32(noise, "noise")
        if noise.shape != shape:
            raise ValueError(f"noise must have shape {shape}, got {noise.shape}")
        warm = self.warm_start and bool(self.prev)
        x_init = be.asarray(panoptic_to_bits(self.prev[0], self.layout)) if warm else None
        cond = be.asarray(self.cond_bits(batch, hw))
        logits = run_denoiser(be, feats, cond, self.warm if warm else self.cold, be.asarray(noise),
                              self.layout.scale, x_init)
        pan = decode(be, logits, self.layout)
        if self.postprocess is not None:
            pan = np.asarray(self.postprocess(pan), np.int32)
        self.prev = [pan, *self.prev][:NUM_COND_FRAMES]
        self.last_logits = logits
        return pan


def decode(backend: Backend, logits: Any, layout: BitLayout) -> np.ndarray:
    """Panoptic ids ``int32 [B, h, w]`` (host) of a backend's logits."""
    if (ids := native.decode_logits(logits, layout)) is not None:  # vps_core, when built (host float32)
        return ids
    from vps.kernels import decode_panoptic

    return np.ascontiguousarray(backend.to_numpy(decode_panoptic(logits, None, layout.label_divisor)),
                                dtype=np.int32)
