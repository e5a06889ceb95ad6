"""The pipelines under test, both :class:`vps.runtime.segmenter.Segmenter` (the one frame engine): an export
folder as it ships, and the naive baseline (:meth:`DeployedPipeline.naive_baseline`).

The stage timings are the runtime's own (:mod:`vps.runtime.timing`, laps on a monotonic clock):
``preprocess``, ``encoder``, ``context``, ``denoise_0`` .. ``denoise_{n-1}``, ``decode`` (argmax ids,
clean-up, bits fed back), ``tracking`` (track table, maps at frame resolution), ``total``. On a GPU
backend the runtime launches asynchronously, so without ``sync_timing`` a stage's lap is the host's launch
time and the wait lands in ``decode`` (the first read-back); ``total`` is exact either way because every
frame ends with its ids on the host. ``sync_timing=True`` synchronises at each stage boundary for exact
per-stage device times (at some cost in total latency).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vps.program import FrameProgram
from vps.runtime.manifest import Manifest, load_manifest


@dataclass(frozen=True)
class DeployedInfo:
    """What the JSON report says about one deployed configuration."""

    label: str
    artifacts: str
    backend: str
    device: str
    engine: str
    precision: str
    # denoiser steps of the first frame of a sequence and of every later frame, and the time the warm start
    # begins at; None for a family whose frame program has no step plan (vps.program.FrameProgram.sampler)
    steps: int | None
    warm_steps: int | None
    warm_start: bool
    warm_start_time: float | None
    input_size: tuple[int, int]
    sync_timing: bool
    min_instance_area: int  # post-processing threshold the runtime applies (mask pixels)
    min_part_area: int  # detached instance parts this big are split off (0 = no splitting)
    cuda_graph: bool  # TensorRT: each denoiser step; torch on CUDA: the whole frame replayed as CUDA graphs
    reexported: bool  # made by vps-bench from --checkpoint for a --steps sweep
    family: str = "pix2seq_d"  # the frame program's model family (vps.runtime.family.FAMILIES)
    preset: str = ""  # the training preset's name
    graph_bytes: int | None = None  # size of the export's graph files on disk (None: not an export)

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["input_size"] = list(self.input_size)
        return d


class DeployedPipeline:
    """``step(rgb frame) -> int32 [H, W]`` (``class * 1000 + track number``) plus :attr:`last_timings`."""

    def __init__(self, segmenter: Any, info: DeployedInfo) -> None:
        self.segmenter = segmenter
        self.info = info
        self.last_timings: dict[str, float] = {}

    @classmethod
    def load(cls, artifacts: str | Path, label: str, backend: str = "auto", device: str | None = None,
             threads: int = 0, checkpoint: str | Path | None = None, sync_timing: bool = False,
             seed: int = 0, warm_start: bool = True, precision: str | None = None,
             cuda_graph: bool | None = None, reexported: bool = False) -> DeployedPipeline:
        """Open ``artifacts`` with the runtime (manifest and file hashes verified).

        ``precision``: autocast of the torch backend (``fp16``/``bf16``/``fp32``; default bf16 on CUDA, fp32
        on the CPU); other backends run the precision the graphs were exported in. ``cuda_graph``: backend
        option (TensorRT's denoiser-step replay, the torch backend's whole-frame replay; default on CUDA).
        """
        from vps.runtime.backends import resolve_backend
        from vps.runtime.segmenter import Segmenter

        manifest = load_manifest(artifacts)
        kind = resolve_backend(backend, manifest, checkpoint)
        options: dict[str, Any] = {}
        if kind in ("onnxruntime", "torch") and threads > 0:
            options["threads"] = threads
        if kind in ("tensorrt", "torch") and cuda_graph is not None:
            options["cuda_graph"] = cuda_graph
        seg = Segmenter.load(artifacts, backend=kind, device=device, seed=seed, checkpoint=checkpoint,
                             precision=precision if kind == "torch" else None, rgb=True,
                             sync_timing=sync_timing, warm_start=warm_start, **options)
        dev = str(getattr(seg.backend, "device", device or "cpu"))
        graph_precision = manifest.precision
        if kind == "torch":  # the checkpoint runs under autocast, not the exported graphs
            graph_precision = precision or ("bf16" if dev.startswith("cuda") else "fp32")
        info = DeployedInfo(label=label, artifacts=str(artifacts), backend=kind, device=dev,
                            engine=manifest.engine if kind != "torch" else "pytorch",
                            precision=graph_precision,
                            **_plan_info(seg.program, warm_start), sync_timing=sync_timing,
                            cuda_graph=bool(getattr(seg.backend, "cuda_graph", False)), reexported=reexported,
                            graph_bytes=graph_bytes(artifacts, manifest))
        return cls(seg, info)

    @classmethod
    def naive_baseline(cls, checkpoint: str | Path, device: str = "cpu", steps: int = 100,
                       seed: int = 0) -> DeployedPipeline:
        """The naive pipeline a researcher would run, as a configuration of the same frame engine: the
        checkpoint in PyTorch eager, fp32, ``steps`` DDIM steps from noise on every frame (no warm start),
        the model's own ids (no track table), stage times synchronised on a GPU."""
        from vps.runtime.segmenter import Segmenter

        seg = Segmenter.from_checkpoint(checkpoint, steps=steps, device=device, precision="fp32", rgb=True,
                                        seed=seed, warm_start=False, track=False,
                                        sync_timing=device.startswith("cuda"))
        info = DeployedInfo(label="baseline", artifacts="", backend="torch", device=device, engine="pytorch",
                            precision="fp32", **_plan_info(seg.program, False),
                            sync_timing=device.startswith("cuda"), cuda_graph=False, reexported=False)
        return cls(seg, info)

    @property
    def name(self) -> str:
        return self.info.label

    def reset(self) -> None:
        self.segmenter.reset()

    def step(self, frame: np.ndarray) -> np.ndarray:
        res = self.segmenter.step(frame, rgb=True)
        self.last_timings = dict(res.timings)
        return np.asarray(res.panoptic, np.int32)


def _plan_info(program: FrameProgram, warm_start: bool) -> dict[str, Any]:
    """The :class:`DeployedInfo` fields a frame program fixes (step counts only where it has a step plan)."""
    sampler, steps = program.sampler, program.step_counts
    return {"steps": None if steps is None else steps[0], "warm_steps": None if steps is None else steps[1],
            "warm_start": warm_start, "warm_start_time": None if sampler is None else sampler.warm_start_time,
            "input_size": tuple(program.input_size), "min_instance_area": program.min_instance_area,
            "min_part_area": program.min_part_area, "family": program.family, "preset": program.preset}


def graph_bytes(folder: str | Path, manifest: Manifest) -> int | None:
    """Bytes of the graph files an export folder's manifest lists (``None`` if one is missing)."""
    try:
        return sum((Path(folder) / g.file).stat().st_size for g in manifest.graphs)
    except OSError:
        return None


def manifest_steps(folder: str | Path) -> tuple[int, int]:
    """(cold steps, warm steps) of an export folder's frame program."""
    steps = load_manifest(folder, verify=False).program.step_counts
    if steps is None:
        raise ValueError(f"{folder}: the export's model family has no denoising steps")
    return steps


def reexport(checkpoint: str | Path, template: str | Path, steps: int, out: str | Path,
             progress: bool = False) -> Path:
    """Export ``checkpoint`` like the ``template`` folder but with ``steps`` cold and warm steps.

    Uses :func:`vps.export.pipeline.run_export` (engine, precision, input size and warm-start time taken
    from the template's manifest; no parity verification: the template was verified when it was made).
    """
    from vps.export.pipeline import ExportOptions, run_export

    m = load_manifest(template, verify=False)
    opts = ExportOptions(checkpoint=Path(checkpoint), out=Path(out), engine=m.graphs[0].engine,
                         precision=m.precision, steps=steps, warm_start_steps=steps,
                         warm_start_time=m.program.sampler.warm_start_time, opset=m.opset,
                         input_size=tuple(m.program.input_size), verify=False, progress=progress)
    run_export(opts)
    return Path(out)


def check_same_model(checkpoint: str | Path, artifacts: str | Path) -> Any:
    """The checkpoint's :class:`~vps.config.Config`; ``ValueError`` unless its graphs match the artifacts'.

    The baseline must run the model that was exported, or the speed-up and STQ change compare two models.
    (Weights are not compared: the manifest does not record which checkpoint it came from.)
    """
    from vps.export.families import check_same_graphs
    from vps.model.checkpoint import load_for_inference

    m = load_manifest(artifacts, verify=False)
    model, config, _ = load_for_inference(checkpoint, "cpu")
    try:
        check_same_graphs(model, config.model.family, m, checkpoint, artifacts)
    except ValueError as e:
        raise ValueError(f"--checkpoint {e}") from None
    if config.name != m.program.preset:
        raise ValueError(f"--checkpoint {checkpoint} is preset {config.name!r}, the artifacts in {artifacts} "
                         f"are {m.program.preset!r}")
    return config
