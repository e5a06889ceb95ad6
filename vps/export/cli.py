"""``vps-export``: a checkpoint to ONNX graphs or TensorRT engines at a reduced step count, verified.

Examples::

    vps-export --checkpoint checkpoints/tiny_synth.pt --engine onnx --steps 2 --out exports/tiny
    vps-export --checkpoint checkpoints/tiny_synth.pt --engine onnx --precision fp16 --out exports/tiny16
    vps-export --checkpoint ckpt.pt --engine trt --precision int8 --batch-sizes 1,1,4 --out exports/trt8
    vps-export --check-trt --out exports/tiny            # lint existing ONNX graphs for TensorRT
    vps-export --checkpoint ckpt.pt --verify-only --out exports/tiny   # re-verify an export folder

One graph per sub-network (image encoder, per-frame denoiser context, denoiser step; the sampler runs on
the host), ``manifest.json`` (schedule for the chosen step count, class metadata, bit layout, input size
and normalisation, versions, sha256 of every file) and ``parity.json`` (PyTorch vs artifacts through the
same host loop with the same noise). Exit codes: 0 ok; 1 parity failed or ``--check-trt`` found errors
(artifacts are still written); 2 bad arguments, unreadable checkpoint/folder, an existing export at
``--out`` without ``--overwrite``, TensorRT or GPU missing. A killed export leaves only a marked staging
folder, which ``vps-run`` refuses and the next export beside it removes (:mod:`vps.export.staging`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vps.export.pipeline import ExportOptions, describe, run_export, run_verify_only
from vps.quiet import quiet_libraries
from vps.runtime.backends.base import BackendUnavailableError

PROG = "vps-export"


def _triple(text: str) -> tuple[int, int, int]:
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected min,opt,max integers, got {text!r}") from None
    if len(values) != 3 or not 1 <= values[0] <= values[1] <= values[2]:
        raise argparse.ArgumentTypeError(f"expected 1 <= min <= opt <= max, got {text!r}")
    return values  # type: ignore[return-value]


def _hw(text: str) -> tuple[int, int]:
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected HxW (e.g. 192x640), got {text!r}") from None
    return h, w


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", type=Path, help="training or slim checkpoint (.pt)")
    p.add_argument("--out", type=Path, required=True, help="export folder (created, or replaced atomically "
                                                           "with --overwrite)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an existing export at --out (files the exporter did not write are kept)")
    p.add_argument("--engine", choices=("onnx", "trt"), default="onnx", help="artifact kind (default onnx)")
    p.add_argument("--precision", choices=("fp32", "fp16", "int8"), default="fp32",
                   help="fp16: half weights/activations, fp32 I/O; int8: Q/DQ explicit quantization")
    p.add_argument("--steps", type=int, default=2, help="denoising steps per frame (default 2)")
    p.add_argument("--warm-start-steps", type=int, default=None,
                   help="steps of the warm start (default: the config's diffusion.warm_start_steps)")
    p.add_argument("--warm-start-time", type=float, default=None,
                   help="time the warm start begins at (default: the config's diffusion.warm_start_time)")
    p.add_argument("--opset", type=int, default=18, help="ONNX opset (default 18)")
    p.add_argument("--batch-sizes", type=_triple, default=(1, 1, 4), metavar="MIN,OPT,MAX",
                   help="batch sizes of the TensorRT optimisation profile (default 1,1,4)")
    p.add_argument("--input-size", type=_hw, default=None, metavar="HxW",
                   help="network input size the runtime feeds (default: the model's image_size)")
    p.add_argument("--verify", action=argparse.BooleanOptionalAction, default=True,
                   help="compare artifacts with the checkpoint in PyTorch (default on)")
    p.add_argument("--verify-only", action="store_true", help="only verify the existing --out folder")
    p.add_argument("--verify-data", type=Path, default=None,
                   help="KITTI-STEP root for verification (default: fresh synthetic clips)")
    p.add_argument("--verify-clips", type=int, default=2, help="verification clips (default 2)")
    p.add_argument("--verify-frames", type=int, default=4, help="frames per verification clip (default 4)")
    p.add_argument("--warm-start", action="store_true", help="verify with the warm start from frame 2 on")
    p.add_argument("--seed", type=int, default=0, help="seed of the sampling noise (default 0)")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                   help="device of the verification runs (TensorRT always uses cuda)")
    p.add_argument("--check-trt", action="store_true",
                   help="lint the ONNX graphs for the TensorRT parser (without --checkpoint: those in --out)")
    p.add_argument("--threads", type=int, default=0,
                   help="CPU threads of PyTorch and ONNX Runtime during verification (default 0: theirs)")
    p.add_argument("--workspace-gb", type=float, default=4.0, help="TensorRT builder workspace (default 4)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    return p


def _options(args: argparse.Namespace) -> ExportOptions:
    if args.steps < 1 or (args.warm_start_steps is not None and args.warm_start_steps < 1):
        raise ValueError(f"--steps ({args.steps}) and --warm-start-steps must be >= 1")
    if args.verify_clips < 1 or args.verify_frames < 1:
        raise ValueError("--verify-clips and --verify-frames must be >= 1")
    return ExportOptions(
        checkpoint=args.checkpoint, out=args.out, engine=args.engine, precision=args.precision,
        steps=args.steps, warm_start_steps=args.warm_start_steps, warm_start_time=args.warm_start_time,
        opset=args.opset, batch_sizes=args.batch_sizes, input_size=args.input_size, verify=args.verify,
        verify_data=args.verify_data, verify_clips=args.verify_clips, verify_frames=args.verify_frames,
        warm_start=args.warm_start, seed=args.seed, device=args.device, check_trt=args.check_trt,
        workspace_gb=args.workspace_gb, threads=args.threads, progress=not args.no_progress)


def _lint_only(out: Path) -> int:
    from vps.export.trt_lint import lint_files, report

    findings = lint_files([out])
    print(report(findings))
    return 1 if any(f.severity == "error" for f in findings) else 0


def _prepare_out(out: Path, overwrite: bool) -> None:
    """Refuse an unusable ``--out`` before any work; remove staging folders of killed exports (said once)."""
    from vps.export.staging import check_out, clean_stale
    from vps.runtime.manifest import MANIFEST_NAME

    check_out(out)
    if (out / MANIFEST_NAME).is_file() and not overwrite:
        raise ValueError(f"--out {out}: holds an export already; pass --overwrite to replace it (files the "
                         f"exporter did not write are kept)")
    removed = clean_stale(out)
    if removed:
        print(f"{PROG}: removed {len(removed)} unfinished export(s) left by a killed run: "
              f"{', '.join(str(p) for p in removed)}", file=sys.stderr)


def _run(args: argparse.Namespace) -> int:
    if args.checkpoint is None:
        if args.check_trt:
            return _lint_only(args.out)
        raise ValueError("--checkpoint is required (except for --check-trt on an existing --out folder)")
    opts = _options(args)
    if not args.verify_only:
        _prepare_out(args.out, args.overwrite)
    summary = run_verify_only(opts) if args.verify_only else run_export(opts)
    print(describe(summary))
    code = 0
    if summary.get("lint") is not None:
        from vps.export.trt_lint import report

        print(report(summary["lint"]))
        code = 1 if any(f.severity == "error" for f in summary["lint"]) else 0
    parity = summary.get("parity")
    if parity is not None and not parity["passed"]:
        print(f"{PROG}: parity FAILED ({parity['message']}); artifacts are in {args.out} for inspection: "
              f"do not deploy them", file=sys.stderr)
        code = 1
    return code


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    quiet_libraries()  # ONNX Runtime / OpenCV chatter to the log, so the one-line error stands alone
    try:
        return _run(args)
    except BackendUnavailableError as e:
        print(f"{PROG}: error: --engine {args.engine} cannot run here: {e}", file=sys.stderr)
        return 2
    except (ValueError, FileNotFoundError, KeyError) as e:  # DataError / ManifestError are ValueErrors
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    except RuntimeError as e:  # export / engine build failures (one line, the cause is chained)
        print(f"{PROG}: error: {str(e).splitlines()[0] if str(e) else type(e).__name__}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
