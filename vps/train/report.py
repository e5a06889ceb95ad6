"""STQ against the number of sampling steps, with and without warm start: a markdown table and a plot.

Example (the figures in ``checkpoints/README.md``)::

    python -m vps.train.report --checkpoint checkpoints/tiny_synth.pt --data /tmp/synth_val \\
        --synth-seed 777 --synth-sequences 4 --synth-frames 10 --out checkpoints

``--data`` is a KITTI-STEP folder with ground truth; with ``--synth-seed`` it is first generated there by
:mod:`vps.data.synth` (split ``val``, at the model's input size) unless it already exists. For every
``--steps`` value the whole folder is segmented twice: cold (every frame from pure noise in N steps) and
warm (frames after the first start from the previous prediction noised to ``warm_start_time`` and run N
steps from there). Writes ``stq_vs_steps.md``, ``stq_vs_steps.json`` and ``stq_vs_steps.png``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

import torch

from vps.config import Config
from vps.data.codecs import atomic_write_bytes
from vps.model.checkpoint import load_for_inference
from vps.train.dist import resolve_device
from vps.train.evaluate import eval_sequences, evaluate_video
from vps.train.predict import open_input

DEFAULT_STEPS = (1, 2, 4, 8, 20)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m vps.train.report", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", type=Path, required=True)
    p.add_argument("--data", type=Path, required=True, help="KITTI-STEP folder with ground truth")
    p.add_argument("--split", default="val")
    p.add_argument("--out", type=Path, required=True, help="folder for stq_vs_steps.{md,json,png}")
    p.add_argument("--steps", type=int, nargs="+", default=list(DEFAULT_STEPS))
    p.add_argument("--seed", type=int, default=0, help="sampling-noise seed")
    p.add_argument("--max-frames", type=int, default=0, help="at most N frames per sequence (0 = all)")
    p.add_argument("--synth-seed", type=int, default=None, help="generate --data with vps.data.synth first")
    p.add_argument("--synth-sequences", type=int, default=4)
    p.add_argument("--synth-frames", type=int, default=10)
    p.add_argument("--threads", type=int, default=0,
                   help="torch CPU threads (0 = torch default; 1 is fastest on a busy few-core CPU)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--no-progress", action="store_true")
    return p


def with_warm_steps(config: Config, steps: int) -> Config:
    """``config`` whose warm start runs ``steps`` steps (the report compares equal step counts)."""
    diffusion = dataclasses.replace(config.diffusion, warm_start_steps=steps)
    return dataclasses.replace(config, diffusion=diffusion)


def sweep(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Evaluate every (steps, warm start) pair; one row per pair."""
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    model, config, meta = load_for_inference(args.checkpoint, resolve_device(args.device))
    if args.synth_seed is not None and not (args.data / "images" / args.split).is_dir():
        from vps.data.synth import generate_dataset

        generate_dataset(args.data, args.synth_sequences, args.synth_frames, tuple(config.model.image_size),
                         args.synth_seed, args.split, progress=not args.no_progress)
    dataset = open_input(args.data, args.split)
    if dataset.label_dir is None:
        raise ValueError(f"{args.data}: no panoptic_maps/{args.split} ground truth to score against")
    seqs = eval_sequences(dataset, 0)
    rows = []
    for steps in args.steps:
        if steps < 1:
            raise ValueError(f"--steps must be >= 1, got {steps}")
        for warm in (False, True):
            res = evaluate_video(model, with_warm_steps(config, steps), dataset, meta, steps, warm, seqs,
                                 args.max_frames, progress=not args.no_progress, seed=args.seed)
            rows.append({"steps": steps, "warm_start": warm, **res})
            if not args.no_progress:
                print(f"steps {steps:2d} warm {warm!s:5}: STQ {res['STQ']:.4f} AQ {res['AQ']:.4f} "
                      f"SQ {res['SQ']:.4f} ({res['fps']:.1f} fps)", flush=True)
    return rows


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """Steps down, cold/warm STQ (AQ, SQ) across."""
    lines = ["| steps | STQ | AQ | SQ | STQ warm | AQ warm | SQ warm | fps (CPU) |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    by = {(r["steps"], r["warm_start"]): r for r in rows}
    for steps in sorted({r["steps"] for r in rows}):
        c, w = by[(steps, False)], by[(steps, True)]
        lines.append(f"| {steps} | {c['STQ']:.3f} | {c['AQ']:.3f} | {c['SQ']:.3f} | {w['STQ']:.3f} | "
                     f"{w['AQ']:.3f} | {w['SQ']:.3f} | {c['fps']:.1f} |")
    return "\n".join(lines) + "\n"


def plot(rows: list[dict[str, Any]], path: Path, title: str) -> None:
    """STQ (solid) and AQ/SQ (dotted) against steps, cold and warm, log-x; PNG via the Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    for warm, color in ((False, "tab:blue"), (True, "tab:orange")):
        rs = sorted((r for r in rows if r["warm_start"] == warm), key=lambda r: r["steps"])
        x = [r["steps"] for r in rs]
        label = "warm start" if warm else "cold start"
        ax.plot(x, [r["STQ"] for r in rs], "o-", color=color, label=f"STQ, {label}")
        ax.plot(x, [r["AQ"] for r in rs], ":", color=color, alpha=0.7, label=f"AQ, {label}")
        ax.plot(x, [r["SQ"] for r in rs], "--", color=color, alpha=0.7, label=f"SQ, {label}")
    ax.set_xscale("log")
    xs = sorted({r["steps"] for r in rows})
    ax.set_xticks(xs, [str(s) for s in xs])
    ax.set_xlabel("sampling steps")
    ax.set_ylabel("score")
    ax.set_ylim(0, 1)
    ax.grid(True, alpha=0.3)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, ncol=2, loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        rows = sweep(args)
    except (ValueError, FileNotFoundError, KeyError) as e:
        print(f"vps.train.report: error: {e}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(args.out / "stq_vs_steps.json", json.dumps(rows, indent=2).encode())
    table = markdown_table(rows)
    atomic_write_bytes(args.out / "stq_vs_steps.md", table.encode())
    plot(rows, args.out / "stq_vs_steps.png", f"{args.checkpoint.name} on {args.data} ({args.split})")
    print(table, end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
