"""Noise schedule, forward (noising) process and the per-pixel loss weights of Pix2Seq-D.

``gamma(t)`` is the signal level at time ``t`` in ``[0, 1]`` (``gamma(0) = 1``: clean, ``gamma(1) ~ 0``:
pure noise); ``x_t = sqrt(gamma) * x_0 + sqrt(1 - gamma) * eps``. The schedule exists in two forms: on
tensors (training, exported graphs) and on Python floats (samplers: step coefficients are host scalars, so
the sampling loop never syncs with the device).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


class CosineSchedule:
    """``gamma(t) = cos(((t + ns) / (1 + ds)) * pi / 2) ** 2`` clipped to ``[clip_min, 1]``.

    With the default ``ns = ds = 0``, ``gamma(0) = 1`` exactly (so a DDIM step to ``t = 0`` returns the
    x0 estimate) and ``gamma(1) = clip_min``. Stateless: safe to share between a model and its EMA copy.
    """

    name = "cosine"

    def __init__(self, ns: float = 0.0, ds: float = 0.0, clip_min: float = 1e-9) -> None:
        self.ns, self.ds, self.clip_min = ns, ds, clip_min

    def gamma(self, t: float) -> float:
        """Host-side ``gamma`` of a Python float time."""
        t = min(max(float(t), 0.0), 1.0)
        g = math.cos(((t + self.ns) / (1 + self.ds)) * math.pi / 2) ** 2
        return min(max(g, self.clip_min), 1.0)

    def __call__(self, t: Tensor) -> Tensor:
        """Device-side ``gamma`` of a time tensor (any shape)."""
        t = t.float().clamp(0.0, 1.0)
        g = torch.cos(((t + self.ns) / (1 + self.ds)) * (math.pi / 2)) ** 2
        return g.clamp(self.clip_min, 1.0)

    def __repr__(self) -> str:
        return f"CosineSchedule(ns={self.ns}, ds={self.ds}, clip_min={self.clip_min})"


SCHEDULES = {"cosine": CosineSchedule}


def make_schedule(name: str) -> CosineSchedule:
    """Schedule by config name (``DiffusionConfig.schedule``)."""
    if name not in SCHEDULES:
        raise ValueError(f"unknown diffusion schedule {name!r}; known: {sorted(SCHEDULES)}")
    return SCHEDULES[name]()


def add_noise(x0: Tensor, gamma: Tensor, noise: Tensor) -> Tensor:
    """``x_t = sqrt(gamma) x0 + sqrt(1 - gamma) noise``; ``gamma [B]`` broadcast over ``x0 [B, ...]``."""
    g = gamma.to(x0.dtype).view(-1, *([1] * (x0.dim() - 1)))
    return g.sqrt() * x0 + (1 - g).sqrt() * noise


def segment_weights(cls: Tensor, inst: Tensor, power: float, valid: Tensor) -> Tensor:
    """Per-pixel loss weights ``[B, h, w]`` ~ ``segment_area ** -power``, averaging 1 over valid pixels.

    A segment is one (class, instance) pair of the target, so a small car weighs more per pixel than the
    road (Pix2Seq-D's size-normalised loss; ``power = 0`` gives uniform weights). ``cls``, ``inst`` are
    int64 ``[B, h, w]`` (class < 256, instance < 256); ``valid`` bool ``[B, h, w]`` (False: weight 0).
    """
    B = cls.shape[0]
    seg = cls.clamp(0, 255) * 256 + inst.clamp(0, 255)  # [B, h, w] compact id < 65536
    key = seg + torch.arange(B, device=cls.device).view(B, 1, 1) * 65536
    counts = torch.bincount(key.flatten(), minlength=B * 65536)  # [B * 65536]
    area = counts[key].float()  # [B, h, w]
    w = area.pow(-power) * valid
    mean = w.flatten(1).sum(1) / valid.flatten(1).sum(1).clamp(min=1)  # [B]
    return w / mean.clamp(min=1e-12).view(B, 1, 1)
