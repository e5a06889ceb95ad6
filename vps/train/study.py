"""Steps study: STQ / AQ / SQ against denoiser steps, cold and warm, over several noise seeds, per model.

Two commands (so that teacher and student can run as separate processes on a few-core CPU)::

    python -m vps.train.study run --label teacher --checkpoint checkpoints/tiny_synth.pt \\
        --data /tmp/synth_val5151 --steps 1 2 4 8 --seeds 0 1 2 --out study/teacher.json
    python -m vps.train.study table study/teacher.json study/student.json --out checkpoints/steps_study

``run`` segments the whole ``--data`` folder (KITTI-STEP layout with ground truth) for every (steps, seed):
cold (every frame from pure noise in N denoiser calls) and warm (frames after the first start from the
previous prediction noised to ``warm_start_time`` and run N calls from there, ``warm_start_steps = N``),
with the same frame engine as ``vps-predict`` (model's own ids). Results are appended to the JSON after each
evaluation and existing entries are skipped, so a killed run continues. ``--seeds-for STEPS=SEEDS`` limits
the seeds of one step count (e.g. ``8=0`` when time is short). ``table`` writes ``NAME.md`` (mean and
spread, i.e. min-max half range, over the seeds) and ``NAME.png``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vps.data.codecs import atomic_write_bytes
from vps.model.checkpoint import load_for_inference
from vps.train.evaluate import eval_sequences, evaluate_video
from vps.train.predict import open_input, pick_split
from vps.train.report import with_warm_steps

METRICS = ("STQ", "AQ", "SQ")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m vps.train.study", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="evaluate one checkpoint")
    r.add_argument("--label", required=True)
    r.add_argument("--checkpoint", type=Path, required=True)
    r.add_argument("--data", type=Path, required=True)
    r.add_argument("--out", type=Path, required=True, help="results JSON (appended to)")
    r.add_argument("--steps", type=int, nargs="+", default=[1, 2, 4, 8])
    r.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    r.add_argument("--seeds-for", nargs="*", default=[], metavar="STEPS=SEED,SEED",
                   help="other seeds for one step count")
    r.add_argument("--modes", nargs="+", default=["cold", "warm"], choices=["cold", "warm"])
    r.add_argument("--threads", type=int, default=1)
    t = sub.add_parser("table", help="merge results into a markdown table and a plot")
    t.add_argument("results", type=Path, nargs="+")
    t.add_argument("--out", type=Path, required=True, help="path without suffix: writes .md and .png")
    return p


def _seed_plan(steps: list[int], seeds: list[int], seeds_for: list[str]) -> dict[int, list[int]]:
    plan = {n: list(seeds) for n in steps}
    for item in seeds_for:
        n, _, values = item.partition("=")
        plan[int(n)] = [int(v) for v in values.split(",") if v]
    return plan


def run(args: argparse.Namespace) -> None:
    torch.set_num_threads(args.threads)
    model, config, meta = load_for_inference(args.checkpoint, "cpu")
    dataset = open_input(args.data, pick_split(args.data, None))
    seqs = eval_sequences(dataset, 0)
    rows: list[dict[str, Any]] = json.loads(args.out.read_text()) if args.out.is_file() else []
    done = {(r["label"], r["mode"], r["steps"], r["seed"]) for r in rows}
    for steps, seeds in _seed_plan(args.steps, args.seeds, args.seeds_for).items():
        for seed in seeds:
            for mode in args.modes:
                if (args.label, mode, steps, seed) in done:
                    continue
                cfg = with_warm_steps(config, steps)
                res = evaluate_video(model, cfg, dataset, meta, steps, mode == "warm", seqs, seed=seed)
                rows.append({"label": args.label, "checkpoint": str(args.checkpoint), "data": str(args.data),
                             "mode": mode, "steps": steps, "seed": seed, "frames": res["frames"],
                             "fps": res["fps"], **{k: res[k] for k in METRICS}})
                args.out.parent.mkdir(parents=True, exist_ok=True)
                atomic_write_bytes(args.out, json.dumps(rows, indent=1).encode())
                scores = " ".join(f"{k} {res[k]:.4f}" for k in METRICS)
                print(f"{args.label} {mode} {steps} steps seed {seed}: {scores} ({res['fps']:.1f} fps)",
                      flush=True)


def summarize(rows: list[dict[str, Any]]) -> dict[tuple[str, str, int], dict[str, Any]]:
    """(label, mode, steps) -> mean and half range of each metric over the seeds, and the seed count."""
    groups: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["label"], r["mode"], int(r["steps"])), []).append(r)
    out = {}
    for key, rs in sorted(groups.items()):
        stats: dict[str, Any] = {"n": len(rs)}
        for m in METRICS:
            v = np.array([r[m] for r in rs])
            stats[m] = float(v.mean())
            stats[m + "_spread"] = float((v.max() - v.min()) / 2)
        out[key] = stats
    return out


def markdown(summary: dict[tuple[str, str, int], dict[str, Any]]) -> str:
    lines = ["| model | start | steps | seeds | STQ | AQ | SQ |", "|---|---|---:|---:|---:|---:|---:|"]
    for (label, mode, steps), s in summary.items():
        cells = " | ".join(f"{s[m]:.4f} ± {s[m + '_spread']:.4f}" for m in METRICS)
        lines.append(f"| {label} | {mode} | {steps} | {s['n']} | {cells} |")
    lines.append("")
    lines.append("Mean over the noise seeds ± half the range (max - min) / 2.")
    return "\n".join(lines) + "\n"


def plot(summary: dict[tuple[str, str, int], dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    series = sorted({(label, mode) for label, mode, _ in summary})
    for ax, m in zip(axes, METRICS, strict=True):
        for label, mode in series:
            pts = sorted((k[2], v) for k, v in summary.items() if k[:2] == (label, mode))
            xs = [p[0] for p in pts]
            ax.errorbar(xs, [p[1][m] for p in pts], yerr=[p[1][m + "_spread"] for p in pts], marker="o",
                        capsize=3, linestyle="-" if mode == "cold" else "--", label=f"{label} {mode}")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("denoiser calls per frame")
        ax.set_title(m)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def table(args: argparse.Namespace) -> None:
    rows = [r for p in args.results for r in json.loads(p.read_text())]
    summary = summarize(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".md").write_text(markdown(summary))
    plot(summary, args.out.with_suffix(".png"))
    print(markdown(summary))


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        run(args) if args.command == "run" else table(args)
    except (ValueError, FileNotFoundError, KeyError) as e:
        print(f"vps.train.study: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
