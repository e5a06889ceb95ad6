"""``vps-bench``: per-stage latency of an export folder on this machine, next to the naive PyTorch baseline.

Examples::

    vps-bench --artifacts exports/tiny --checkpoint ckpt.pt --json bench.json --plot bench.png
    vps-bench --artifacts exports/tiny --checkpoint ckpt.pt --steps 1,2,4,8 --plot steps.png   # step sweep
    vps-bench --artifacts exports/tiny --no-baseline --input drive.mp4 --frames 300
    vps-bench --artifacts exports/teacher --artifacts exports/student --markdown cmp.md   # side by side

Streams ``--frames`` frames (a fresh synthetic clip at ``--size`` with ground truth, or the first sequence
of ``--input``), after ``--warmup`` frames, through the runtime (:class:`vps.runtime.Segmenter`) and reports
per stage (preprocess, encoder, context, each denoiser step, decode, tracking, total) the median, p90, p99
and max latency, frames per second, peak host memory and, on a GPU, peak device memory; then the STQ.

The baseline (needs ``--checkpoint``; the manifest does not record which checkpoint it was exported
from): the same checkpoint in PyTorch eager, fp32, ``--baseline-steps`` DDIM steps from noise on every
frame, Python post-processing, no kernels. Both pipelines run in the same process, in alternating blocks
of frames, so machine noise hits both alike; ``speedup`` = baseline median total / deployed median total,
``stq_delta`` = deployed STQ - baseline STQ on the same frames. The baseline defaults to 10 timed frames
on the CPU and 50 on a GPU (it is ~100x slower). Both libraries get the same number of threads
(``--threads``).

``--steps 1,2,4,8``: the artifacts fix their step count in the manifest, so every other count is
re-exported from ``--checkpoint`` into a temporary folder (``vps.export.pipeline.run_export``, same engine,
precision, input size and warm-start time, ``N`` steps cold and warm; ``--export-dir`` keeps them) and
all configurations are benchmarked in the same interleaved run.

Several export folders (``--artifacts A --artifacts B``, or ``--artifacts A B``): every one runs as
exported, of any model family, in ONE interleaved session on the same clip, scored against its ground
truth; one table (family, preset, precision, steps, STQ, AQ, SQ, median and p99 ms per stage and in
total, FPS, peak memory) is printed and written with ``--json`` / ``--markdown`` / ``--plot``
(:mod:`vps.bench.compare`; no baseline, no ``--steps``). Exit codes: 0 ok; 2 bad arguments, tampered export
folder, unreadable checkpoint or input, backend unavailable, exports of different class sets.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from vps.bench.deployed import DeployedPipeline, check_same_model, reexport
from vps.bench.inputs import BenchClip, input_clip, synthetic_clip
from vps.bench.report import build_report, format_table, lane_summary, write_json
from vps.bench.runner import InterleavedRun, Lane
from vps.runtime.backends import BACKENDS
from vps.runtime.backends.base import BackendUnavailableError
from vps.runtime.manifest import Manifest, load_manifest

PROG = "vps-bench"
BASELINE_FRAMES = {"cpu": 10, "cuda": 50}  # default timed baseline frames (capped by --frames)


def _steps(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated step counts like 1,2,4,8, got {text!r}") \
            from None
    if not values or any(v < 1 or v > 1000 for v in values):
        raise argparse.ArgumentTypeError(f"step counts must lie in 1..1000, got {text!r}")
    return sorted(set(values))


def _hw(text: str) -> tuple[int, int]:
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected HxW (e.g. 96x320), got {text!r}") from None
    if h < 16 or w < 16:
        raise argparse.ArgumentTypeError(f"size must be at least 16x16, got {text!r}")
    return h, w


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--artifacts", type=Path, required=True, action="extend", nargs="+", metavar="DIR",
                   help="export folder (manifest.json + graphs); repeat the flag or list several folders to "
                        "compare exports side by side in one session")
    p.add_argument("--backend", choices=BACKENDS, default="auto", help="runtime backend (default auto)")
    p.add_argument("--device", choices=("cpu", "cuda"), default=None, help="device (default: best available)")
    p.add_argument("--precision", choices=("fp32", "fp16", "bf16"), default=None,
                   help="torch backend: autocast precision (default bf16 on CUDA, fp32 on the CPU)")
    p.add_argument("--steps", type=_steps, default=None, metavar="N,N,...",
                   help="also benchmark these step counts (re-exported from --checkpoint)")
    p.add_argument("--frames", type=int, default=50, help="timed frames of the deployed run (default 50)")
    p.add_argument("--warmup", type=int, default=5, help="warm-up frames before timing (default 5)")
    p.add_argument("--size", type=_hw, default=None, metavar="HxW",
                   help="synthetic frame size (default: the artifacts' input size)")
    p.add_argument("--input", default=None, metavar="DIR|VIDEO",
                   help="video file, image folder or KITTI-STEP root instead of a synthetic clip")
    p.add_argument("--split", default=None, help="split of a KITTI-STEP --input")
    p.add_argument("--sequence", default=None, help="sequence of a KITTI-STEP --input (default: the first)")
    p.add_argument("--json", type=Path, default=None, metavar="OUT", help="write the JSON report here")
    p.add_argument("--plot", type=Path, default=None, metavar="OUT.png", help="write the latency plot here")
    p.add_argument("--markdown", type=Path, default=None, metavar="OUT.md",
                   help="write the comparison tables as markdown here")
    p.add_argument("--checkpoint", type=Path, default=None,
                   help="training checkpoint the artifacts were exported from (baseline, --steps)")
    p.add_argument("--baseline-steps", type=int, default=100, help="DDIM steps of the baseline (default 100)")
    p.add_argument("--baseline-frames", type=int, default=None,
                   help="timed baseline frames (default: 10 on the CPU, 50 on a GPU, at most --frames)")
    p.add_argument("--baseline-warmup", type=int, default=1, help="baseline warm-up frames (default 1)")
    p.add_argument("--no-baseline", action="store_true", help="benchmark the deployed pipeline only")
    p.add_argument("--blocks", type=int, default=None,
                   help="alternate the pipelines in this many blocks (default: min(10, baseline frames))")
    p.add_argument("--threads", type=int, default=0,
                   help="intra-op threads of PyTorch and ONNX Runtime alike (default: all usable cores)")
    p.add_argument("--sync-stages", action="store_true",
                   help="GPU: synchronise at every stage boundary for exact per-stage times")
    p.add_argument("--no-cuda-graph", action="store_true",
                   help="torch backend on CUDA: no CUDA graphs (per-stage times, not one 'device' stage)")
    p.add_argument("--no-warm-start", action="store_true", help="deployed: cold schedule on every frame")
    p.add_argument("--seed", type=int, default=0, help="seed of the synthetic clip and the noise (default 0)")
    p.add_argument("--export-dir", type=Path, default=None,
                   help="keep the --steps re-exports here (default: a temporary folder)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def check_args(args: argparse.Namespace) -> None:
    """``ValueError`` naming the first bad option."""
    for name in ("frames", "baseline_steps"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    for name in ("warmup", "baseline_warmup", "threads"):
        if getattr(args, name) < 0:
            raise ValueError(f"--{name.replace('_', '-')} must be >= 0, got {getattr(args, name)}")
    if args.baseline_frames is not None and args.baseline_frames < 1:
        raise ValueError(f"--baseline-frames must be >= 1, got {args.baseline_frames}")
    if args.blocks is not None and args.blocks < 1:
        raise ValueError(f"--blocks must be >= 1, got {args.blocks}")
    if args.checkpoint is None and not args.no_baseline:
        raise ValueError("--checkpoint is needed for the baseline (the export manifest does not record the "
                         "checkpoint it came from); pass --no-baseline to benchmark the artifacts alone")


def sweep_steps(args: argparse.Namespace, manifest: Manifest) -> list[int]:
    """Step counts to re-export: ``--steps`` minus the one the artifacts already run (cold = warm = N)."""
    steps = manifest.program.step_counts
    if steps is None:  # a family without denoising steps (Video K-Net)
        if args.steps:
            raise ValueError(f"--steps: a {manifest.program.family} export has no denoising steps to sweep")
        return []
    cold, warm = steps
    todo = [s for s in (args.steps or []) if (s, s) != (cold, warm)]
    if todo and args.checkpoint is None:
        raise ValueError(f"--steps {','.join(map(str, args.steps))}: the artifacts run {cold} steps; other "
                         f"counts are re-exported from --checkpoint, which is missing")
    return todo


def load_clip(args: argparse.Namespace, manifest: Manifest, frames: int) -> BenchClip:
    if args.input is not None:
        return input_clip(args.input, frames, manifest.program.meta, args.split, args.sequence)
    return synthetic_clip(frames, args.size or tuple(manifest.program.input_size), args.seed)


def load_options(args: argparse.Namespace, threads: int) -> dict[str, Any]:
    """The :meth:`DeployedPipeline.load` options every deployed lane shares."""
    return {"backend": args.backend, "device": args.device, "threads": threads,
            "checkpoint": args.checkpoint, "sync_timing": args.sync_stages, "seed": args.seed,
            "warm_start": not args.no_warm_start,
            "precision": args.precision, "cuda_graph": False if args.no_cuda_graph else None}


def open_variants(args: argparse.Namespace, todo: list[int], stack: ExitStack,
                  threads: int) -> list[DeployedPipeline]:
    """The artifacts as given (first), then one re-export per extra ``--steps`` count."""
    common = load_options(args, threads)
    pipes = [DeployedPipeline.load(args.artifacts, "artifacts", **common)]
    if todo:
        root = args.export_dir or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="vps-bench-")))
        for s in todo:
            print(f"{PROG}: re-exporting {args.checkpoint} with {s} steps -> {root / f'steps{s}'}",
                  flush=True)
            folder = reexport(args.checkpoint, args.artifacts, s, root / f"steps{s}")
            pipes.append(DeployedPipeline.load(folder, f"steps={s}", reexported=True, **common))
    return pipes


def make_baseline(args: argparse.Namespace, device: str) -> tuple[DeployedPipeline, dict[str, Any]]:
    """The naive baseline: the same frame engine, torch eager fp32, ``--baseline-steps`` cold steps."""
    dev = "cuda" if device.startswith("cuda") else "cpu"
    base = DeployedPipeline.naive_baseline(args.checkpoint, dev, args.baseline_steps, args.seed)
    info = {"kind": "baseline", **base.info.to_dict(), "checkpoint": str(args.checkpoint),
            "postprocess": "vps.postprocess (as deployed)", "kernels": False, "cuda_graphs": False}
    return base, info


def run(args: argparse.Namespace) -> dict[str, Any]:
    """The whole benchmark; returns the report dict (also printed / written as asked)."""
    if len(args.artifacts) > 1:
        return run_compare(args)
    args.artifacts = args.artifacts[0]
    manifest = load_manifest(args.artifacts)
    if manifest.program.step_counts is None:  # no diffusion (Video K-Net): no naive baseline, no step sweep
        args.no_baseline = True
    elif args.checkpoint is None and manifest.checkpoint:  # the checkpoint the artifacts were exported from
        args.checkpoint = Path(manifest.checkpoint)
    check_args(args)
    todo = sweep_steps(args, manifest)
    threads = args.threads or usable_cores()
    if args.checkpoint is not None:
        import torch

        torch.set_num_threads(threads)
        check_same_model(args.checkpoint, args.artifacts)
    notes: list[str] = []
    with ExitStack() as stack:
        variants = open_variants(args, todo, stack, threads)
        device = variants[0].info.device
        lanes = [Lane(p, args.frames, args.warmup) for p in variants]
        base_info = None
        if not args.no_baseline:
            base, base_info = make_baseline(args, device)
            nb = args.baseline_frames or min(args.frames, BASELINE_FRAMES[base_info["device"]])
            lanes.append(Lane(base, nb, args.baseline_warmup))
        clip = load_clip(args, manifest, max(lane.frames for lane in lanes))
        for lane in lanes:
            lane.frames = min(lane.frames, len(clip))
        run_ = InterleavedRun(lanes, clip, manifest.program.meta, args.blocks, progress=not args.no_progress)
        run_.run()
        results = run_.results()
    summaries = [lane_summary(results[p.name], {"kind": "deployed", **p.info.to_dict()}) for p in variants]
    add_floors(summaries, variants, threads, notes)
    baseline = None if base_info is None else lane_summary(results["baseline"], base_info)
    notes += make_notes(args, lanes, clip, device, threads)
    settings = make_settings(args, threads, run_, lanes)
    return build_report(summaries, 0, baseline, settings, clip_info(clip), notes)


def clip_info(clip: BenchClip) -> dict[str, Any]:
    return {"name": clip.name, "source": clip.source, "frames": len(clip), "size": list(clip.size),
            "has_gt": clip.has_gt}


def run_compare(args: argparse.Namespace) -> dict[str, Any]:
    """Several export folders side by side in one interleaved session (:mod:`vps.bench.compare`)."""
    from vps.bench.compare import check_compare_args, check_same_classes, compare_notes, lane_labels

    check_compare_args(args)
    args.no_baseline = True
    check_args(args)
    folders = list(args.artifacts)
    manifests = [load_manifest(f) for f in folders]  # each verified; ManifestError names the file
    check_same_classes(folders, manifests)
    threads = args.threads or usable_cores()
    common = load_options(args, threads)
    pipes = [DeployedPipeline.load(f, label, **common) for f, label in zip(folders, lane_labels(folders),
                                                                          strict=True)]
    lanes = [Lane(p, args.frames, args.warmup) for p in pipes]
    clip = load_clip(args, manifests[0], args.frames)
    for lane in lanes:
        lane.frames = min(lane.frames, len(clip))
    run_ = InterleavedRun(lanes, clip, manifests[0].program.meta, args.blocks, progress=not args.no_progress)
    run_.run()
    results = run_.results()
    summaries = [lane_summary(results[p.name], {"kind": "deployed", **p.info.to_dict()}) for p in pipes]
    notes: list[str] = []
    add_floors(summaries, pipes, threads, notes)
    notes += compare_notes(folders, manifests, clip.size)
    notes += make_notes(args, lanes, clip, pipes[0].info.device, threads)
    settings = make_settings(args, threads, run_, lanes)
    settings.pop("sweep")
    return build_report(summaries, 0, None, settings, clip_info(clip), notes, mode="compare")


def add_floors(summaries: list[dict[str, Any]], variants: list[DeployedPipeline], threads: int,
               notes: list[str]) -> None:
    """Each deployed lane's compute floor (:mod:`vps.bench.floor`), where its folder has ONNX graphs."""
    from vps.bench.floor import floor_report, matmul_peak_gflops, stage_flops

    peak = None
    for summary, pipe in zip(summaries, variants, strict=True):
        if pipe.info.device != "cpu" or pipe.info.backend != "onnxruntime":
            continue  # the measured peak is ONNX Runtime's on the CPU
        try:
            stages = stage_flops(pipe.info.artifacts, load_manifest(pipe.info.artifacts, verify=False))
        except (FileNotFoundError, ValueError) as e:
            notes.append(f"no compute floor for {pipe.info.label}: {e}")
            continue
        peak = peak or matmul_peak_gflops(threads)
        medians = {k: v["median"] for k, v in summary["stages"].items()}
        summary["floor"] = floor_report(stages, peak, medians)


def make_notes(args: argparse.Namespace, lanes: list[Lane], clip: BenchClip, device: str,
               threads: int) -> list[str]:
    """Caveats a reader must know to trust the figures (printed and stored in the JSON)."""
    notes = []
    base = next((lane for lane in lanes if lane.name == "baseline"), None)
    if base is not None and base.frames < lanes[0].frames:
        notes.append(f"the baseline ran {base.frames} timed frames (deployed: {lanes[0].frames}) to keep the "
                     f"run short; stq_delta compares both on the same first {base.frames} frames")
    if lanes[0].frames < args.frames:
        notes.append(f"the input has only {len(clip)} frames: {lanes[0].frames} timed instead of "
                     f"{args.frames}")
    if min(lane.frames for lane in lanes) < 100:
        notes.append("p99 over fewer than 100 frames lies between the two slowest frames; read it as a max")
    if device.startswith("cuda") and not args.sync_stages:
        notes.append("GPU without --sync-stages: per-stage times are host launch times (the wait shows up in "
                     "'decode'); 'total' is exact (each frame ends with its ids on the host)")
    notes.append(f"PyTorch and ONNX Runtime both use {threads} intra-op thread(s); peak host RSS is the "
                 f"whole process (all pipelines and the decoded clip in memory), taken over each pipeline's "
                 f"blocks")
    if not clip.has_gt:
        notes.append("the input has no ground truth: no STQ")
    return notes


def make_settings(args: argparse.Namespace, threads: int, run_: InterleavedRun,
                  lanes: list[Lane]) -> dict[str, Any]:
    def plain(v: Any) -> Any:
        return [plain(x) for x in v] if isinstance(v, list) else str(v) if isinstance(v, Path) else v

    s = {k: plain(v) for k, v in vars(args).items()}
    s.update({"threads_resolved": threads, "frames_per_lane": {lane.name: lane.frames for lane in lanes},
              "warmup_per_lane": {lane.name: lane.warmup for lane in lanes},
              "interleave": {"blocks": run_.blocks, "order": "block k runs chunk k of every pipeline; the "
                             "first pipeline rotates with k", "common_frames": run_.common},
              "sweep": "step counts other than the artifacts' are re-exported from --checkpoint with "
                       "vps.export.pipeline.run_export (same engine, precision, input size, warm-start "
                       "time; N cold and N warm steps; no parity check)"})
    return s


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        report = run(args)
    except BackendUnavailableError as e:
        print(f"{PROG}: error: backend {args.backend} cannot run here: {e}", file=sys.stderr)
        return 2
    except (ValueError, FileNotFoundError, KeyError) as e:  # DataError / ManifestError are ValueErrors
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    print(format_table(report))
    if args.json is not None:
        print(f"JSON report -> {write_json(report, args.json)}")
    if args.markdown is not None:
        from vps.bench.compare import write_markdown

        print(f"markdown -> {write_markdown(report, args.markdown)}")
    if args.plot is not None:
        from vps.bench.plot import plot_compare, plot_report

        plot = plot_compare if report["mode"] == "compare" else plot_report
        print(f"plot -> {plot(report, args.plot)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
