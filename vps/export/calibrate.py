"""Calibration inputs for int8: every graph's inputs, recorded while the fp32 graphs run the frame engine.

The fp32 ONNX graphs run in ONNX Runtime through :class:`vps.runtime.Segmenter` (the engine ``vps-run``
ships) on fresh synthetic clips (seed and split distinct from the verification clips), so the denoiser is
calibrated on the ``x_t`` / context / gamma values it actually sees at the exported step count, including
conditioning on its own previous predictions. A :class:`Recorder` engine hook keeps each call's inputs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from vps.export.verify import run_clips
from vps.export.verify_data import VERIFY_SEED, synthetic_clips
from vps.runtime.backends.base import io_names, name_inputs
from vps.runtime.manifest import Manifest
from vps.runtime.segmenter import Segmenter

CALIBRATION_SEED = VERIFY_SEED + 1


class Recorder:
    """Engine hook keeping each graph call's inputs as ``{tensor name: float32 copy}`` feeds.

    Names come from the manifest's graph specs (inputs in call order; a list input such as the context
    levels expands to consecutive names).
    """

    def __init__(self, manifest: Manifest, to_numpy: Any) -> None:
        self.io = io_names(manifest.graphs)
        self.to_numpy = to_numpy
        self.feeds: dict[str, list[dict[str, np.ndarray]]] = {name: [] for name in self.io}

    def __call__(self, graph: str, inputs: tuple[Any, ...], out: Any) -> None:
        named = name_inputs(self.io[graph][0], inputs)
        # copies: backends may reuse their buffers
        self.feeds[graph].append({n: np.array(self.to_numpy(v), np.float32) for n, v in named.items()})


def collect_feeds(manifest: Manifest, folder: str | Path, clips: int = 2, frames: int = 4,
                  progress: bool = True) -> dict[str, list[dict[str, np.ndarray]]]:
    """Graph name -> list of input feeds, from the fp32 ONNX graphs of ``manifest`` in ``folder``."""
    from vps.runtime.backends.onnxruntime import OnnxRuntimeBackend

    backend = OnnxRuntimeBackend(manifest, folder)
    recorder = Recorder(manifest, backend.to_numpy)
    engine = Segmenter(manifest.program, backend, seed=CALIBRATION_SEED, warm_start=False, track=False,
                       hooks=[recorder])
    data = synthetic_clips(clips, frames, manifest.program.input_size, CALIBRATION_SEED)
    run_clips(engine, data, desc="int8 calibration", progress=progress)
    return recorder.feeds
