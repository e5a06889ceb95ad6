"""Calibration inputs for int8: every graph's inputs, recorded while the fp32 graphs run the host loop.

The fp32 ONNX graphs run in ONNX Runtime through :class:`vps.runtime.sampling.SamplingLoop` on fresh
synthetic clips (seed and split distinct from the verification clips), so the denoiser is calibrated on
the ``x_t`` / context / gamma values it actually sees at the exported step count, including conditioning
on its own previous predictions.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vps.export.verify import run_clips
from vps.export.verify_data import VERIFY_SEED, synthetic_clips
from vps.runtime.backends.base import (
    COND,
    CONTEXT,
    DENOISER,
    ENCODER,
    FEATS,
    GAMMA,
    IMAGE,
    X_T,
    Backend,
)
from vps.runtime.manifest import Manifest

CALIBRATION_SEED = VERIFY_SEED + 1


class Recorder:
    """A :class:`Backend` passing calls through to ``inner`` and keeping each graph's input feeds."""

    def __init__(self, inner: Backend, ctx_names: Sequence[str]) -> None:
        self.inner, self.name, self.ctx_names = inner, inner.name, tuple(ctx_names)
        self.feeds: dict[str, list[dict[str, np.ndarray]]] = {ENCODER: [], CONTEXT: [], DENOISER: []}

    def _np(self, x: Any) -> np.ndarray:
        return np.array(self.inner.to_numpy(x), np.float32)  # a copy: backends may reuse buffers

    def encode(self, images: Any) -> Any:
        self.feeds[ENCODER].append({IMAGE: self._np(images)})
        return self.inner.encode(images)

    def context(self, cond: Any, feats: Any) -> list[Any]:
        self.feeds[CONTEXT].append({COND: self._np(cond), FEATS: self._np(feats)})
        return self.inner.context(cond, feats)

    def denoise(self, x_t: Any, ctx: Sequence[Any], gamma: Any) -> Any:
        feed = {X_T: self._np(x_t), GAMMA: self._np(gamma)}
        feed.update({n: self._np(c) for n, c in zip(self.ctx_names, ctx, strict=True)})
        self.feeds[DENOISER].append(feed)
        return self.inner.denoise(x_t, ctx, gamma)

    def asarray(self, array: np.ndarray) -> Any:
        return self.inner.asarray(array)

    def to_numpy(self, array: Any) -> np.ndarray:
        return self.inner.to_numpy(array)


def collect_feeds(manifest: Manifest, folder: str | Path, clips: int = 2, frames: int = 4,
                  progress: bool = True) -> dict[str, list[dict[str, np.ndarray]]]:
    """Graph name -> list of input feeds, from the fp32 ONNX graphs of ``manifest`` in ``folder``."""
    from vps.runtime.backends.onnxruntime import OnnxRuntimeBackend

    backend = OnnxRuntimeBackend(manifest, folder)
    recorder = Recorder(backend, backend.ctx_names)
    data = synthetic_clips(clips, frames, manifest.input_size, CALIBRATION_SEED)
    run_clips(recorder, data, manifest, seed=CALIBRATION_SEED, warm_start=False, postprocess=None,
              desc="int8 calibration", progress=progress)
    return recorder.feeds
