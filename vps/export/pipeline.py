"""The export pipeline behind ``vps-export``: graphs -> (int8 Q/DQ) -> (engines) -> manifest -> parity.

The graphs are those of the checkpoint's model family (``config.model.family``; :mod:`vps.export.families`):
Pix2Seq-D's four sub-networks or Video K-Net's one ``knet_frame``. Everything is written into a staging
folder beside ``--out`` that replaces it in one rename at the end
(:func:`vps.export.artifacts.staging_folder`), so a crash never leaves half an export behind.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from tqdm import tqdm

from vps.data.codecs import atomic_write_bytes
from vps.export.artifacts import build_manifest, graph_spec, staging_folder
from vps.export.families import ExportFamily, check_same_graphs, export_family, model_contracts
from vps.export.onnx_export import export_graph, graph_summary, tool_versions
from vps.export.parity import format_table
from vps.export.verify import PARITY_NAME, load_verify_clips, verify
from vps.runtime.manifest import Manifest, load_manifest, write_manifest


@dataclass(frozen=True)
class ExportOptions:
    """Parsed ``vps-export`` options (see :mod:`vps.export.cli` for their meaning)."""

    checkpoint: Path
    out: Path
    engine: str = "onnx"
    precision: str = "fp32"
    steps: int = 2
    warm_start_steps: int | None = None
    warm_start_time: float | None = None
    opset: int = 18
    batch_sizes: tuple[int, int, int] = (1, 1, 4)
    input_size: tuple[int, int] | None = None
    verify: bool = True
    verify_data: Path | None = None
    verify_clips: int = 2
    verify_frames: int = 4
    warm_start: bool = False
    seed: int = 0
    device: str = "cpu"
    check_trt: bool = False
    workspace_gb: float = 4.0
    threads: int = 0
    progress: bool = True


def _load(opts: ExportOptions) -> tuple[Any, Any, Any]:
    """(model on the CPU, config, meta): export traces on the CPU; verification moves the model."""
    from vps.model.checkpoint import load_for_inference

    return load_for_inference(opts.checkpoint, "cpu")


def run_export(opts: ExportOptions) -> dict[str, Any]:
    """Export, optionally lint and verify; returns a summary (``parity`` holds the report, or None)."""
    trt, capability = None, None
    if opts.engine == "trt":  # fail fast, before any work, if TensorRT or the GPU is missing
        from vps.export.trt_build import require_tensorrt

        trt, capability = require_tensorrt()
    model, config, meta = _load(opts)
    family = export_family(config.model.family)
    geometry, contracts = model_contracts(model, family.name)
    input_size = geometry.check_size(opts.input_size or geometry.image_size)
    from vps.model.program import frame_program

    program = frame_program(config, meta, model.layout, opts.steps, opts.warm_start_steps,
                            opts.warm_start_time, input_size)
    _check_kernels(program, model)
    versions = tool_versions()
    summary: dict[str, Any] = {"out": str(opts.out), "graphs": {}, "lint": None, "parity": None}
    with staging_folder(opts.out) as tmp:
        t0 = time.perf_counter()
        stages = tqdm(contracts, desc="export onnx", unit="graph", disable=not opts.progress, leave=False)
        for c in stages:
            precision = "fp16" if opts.precision == "fp16" else "fp32"
            export_graph(model, c, tmp / f"{c.name}.onnx", opts.opset, precision)
        onnx_manifest = build_manifest(program, [graph_spec(c, "onnx", "fp32", opts.batch_sizes, input_size)
                                                 for c in contracts], opts.opset, versions)
        if opts.precision == "int8":
            _quantize(tmp, onnx_manifest, opts, family)
        files: list[str] = []
        if opts.engine == "trt":
            files = _build_engines(trt, tmp, contracts, opts, input_size)
            versions["tensorrt"] = str(trt.__version__)
        summary["export_seconds"] = time.perf_counter() - t0
        summary["graphs"] = {c.name: graph_summary(tmp / f"{c.name}.onnx") for c in contracts}
        graphs = [graph_spec(c, opts.engine, opts.precision, opts.batch_sizes, input_size) for c in contracts]
        manifest = build_manifest(program, graphs, opts.opset, versions, files, capability,
                                  str(Path(opts.checkpoint).resolve()))
        manifest = write_manifest(tmp, manifest)
        if opts.check_trt:
            from vps.export.trt_lint import lint_files

            summary["lint"] = lint_files([tmp])
        if opts.verify:
            summary["parity"] = _verify_into(tmp, manifest, model, meta, opts, summary["export_seconds"])
    return summary


def _check_kernels(program: Any, model: Any) -> None:
    """A Video K-Net program's kernel plan must describe the model's kernels (``ValueError`` otherwise)."""
    plan = program.kernels
    if plan is None:
        return
    names = ("num_things", "num_kernels", "kernel_dim", "embed_dim", "stuff_classes")
    want = tuple(getattr(plan, n) for n in names)
    have = tuple(tuple(v) if isinstance(v, tuple | list) else v for v in (getattr(model, n) for n in names))
    if want != have:
        raise ValueError(f"the config's kernel plan (things, kernels, kernel_dim, embed_dim, stuff classes) "
                         f"{want} differs from the model's {have}")


def _quantize(tmp: Path, fp32_manifest: Manifest, opts: ExportOptions, family: ExportFamily) -> None:
    """Replace the family's int8 graphs in ``tmp`` by their int8 versions (calibrated on recorded inputs):
    ONNX Runtime's U8S8 QDQ for ``--engine onnx``, symmetric Q/DQ (what TensorRT requires) for ``trt``."""
    from vps.export.calibrate import collect_feeds
    from vps.export.quantize import quantize_file, quantize_file_ort

    quantize = quantize_file_ort if opts.engine == "onnx" else quantize_file
    feeds = collect_feeds(fp32_manifest, tmp, progress=opts.progress)
    for name, samples in feeds.items():
        # a graph the exported plans never call (denoiser_step of a 1-step export) has nothing to calibrate
        # on and runs on no frame: it stays fp32
        if name in family.int8_graphs and samples:
            path = tmp / f"{name}.onnx"
            quantize(path, path, samples, ops=family.int8_ops)


def _build_engines(trt: Any, tmp: Path, contracts: Any, opts: ExportOptions,
                   input_size: tuple[int, int]) -> list[str]:
    """``{name}.engine`` per graph plus the timing cache; returns the extra files to list in the manifest."""
    from vps.export.trt_build import TIMING_CACHE, BuildSettings, build_engine

    cache = tmp / TIMING_CACHE
    previous = opts.out / TIMING_CACHE
    if previous.is_file():  # reuse the cache of the previous build in this folder
        shutil.copyfile(previous, cache)
    settings = BuildSettings(opts.precision, int(opts.workspace_gb * (1 << 30)), cache)
    for c in tqdm(contracts, desc="build engines", unit="engine", disable=not opts.progress, leave=False):
        build_engine(trt, tmp / f"{c.name}.onnx", tmp / f"{c.name}.engine",
                     c.profiles(opts.batch_sizes, input_size), settings)
    return [f"{c.name}.onnx" for c in contracts] + [TIMING_CACHE]


def _verify_into(folder: Path, manifest: Manifest, model: Any, meta: Any, opts: ExportOptions,
                 export_seconds: float | None) -> dict[str, Any]:
    """Run verification on ``folder``, write ``parity.json`` and re-write the manifest listing it."""
    from vps.runtime.backends import open_backend
    from vps.runtime.backends.torch import TorchBackend

    device = "cuda" if opts.engine == "trt" else opts.device
    options = {"threads": opts.threads} if opts.engine == "onnx" else {}
    kind = "tensorrt" if manifest.engine == "trt" else "onnxruntime"
    candidate = open_backend(folder, kind, device, manifest, **options)
    if opts.threads > 0:
        import torch

        torch.set_num_threads(opts.threads)
    clips, source = load_verify_clips(manifest, meta, opts.verify_data, opts.verify_clips, opts.verify_frames)
    t0 = time.perf_counter()
    reference = TorchBackend(model.to(device))
    report = verify(reference, candidate, manifest, clips, source, opts.seed, opts.warm_start, opts.progress)
    report["verify_seconds"] = time.perf_counter() - t0
    report["export_seconds"] = export_seconds
    atomic_write_bytes(folder / PARITY_NAME, (json.dumps(report, indent=2) + "\n").encode())
    files = {**manifest.files, PARITY_NAME: ""}
    write_manifest(folder, replace(manifest, files=files))
    return report


def run_verify_only(opts: ExportOptions) -> dict[str, Any]:
    """Verify an existing export folder against the checkpoint (its manifest must be intact)."""
    manifest = load_manifest(opts.out)  # ManifestError if a file was changed since the export
    opts = replace(opts, engine=manifest.engine, precision=manifest.precision)
    model, config, meta = _load(opts)
    check_same_graphs(model, config.model.family, manifest, opts.checkpoint, opts.out)
    return {"out": str(opts.out), "lint": None, "graphs": {},
            "parity": _verify_into(opts.out, manifest, model, meta, opts, None)}


def describe(summary: dict[str, Any]) -> str:
    """Printed result: graphs, parity table, next commands."""
    lines = []
    for name, g in summary.get("graphs", {}).items():
        lines.append(f"{name}: {g['nodes']} nodes, opset {g['opset']}, "
                     f"{g['weight_bytes'] / 1e6:.2f} MB weights")
    if summary.get("export_seconds") is not None:
        lines.append(f"export time {summary['export_seconds']:.1f} s -> {summary['out']}")
    if summary.get("parity"):
        lines.append(format_table(summary["parity"]))
    out = summary["out"]
    lines += ["next:", f"  vps-run --artifacts {out} --input <video file, image folder or KITTI-STEP root>",
              f"  vps-bench --artifacts {out}"]
    return "\n".join(lines)
