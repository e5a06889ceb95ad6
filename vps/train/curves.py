"""Training curves from a ``vps-train`` log: loss (log scale) and periodic STQ against the training step.

Example (the figure in ``checkpoints/README.md``)::

    python -m vps.train.curves checkpoints/training_log.csv --out checkpoints/training_curves.png

Reads ``OUT/log.csv`` of one run (columns ``step, loss, lr, grad_norm, time_s, steps_per_s, STQ, AQ, SQ``;
evaluation rows have STQ and no loss) or several runs concatenated with a leading ``stage`` column; the
stages are then laid end to end on one step axis, with a marker where each stage starts.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Curves:
    """Points of a training log on one global step axis."""

    loss: list[tuple[int, float]] = field(default_factory=list)  # (global step, loss)
    stq: list[tuple[int, float, float, float]] = field(default_factory=list)  # (global step, STQ, AQ, SQ)
    stage_starts: list[tuple[int, str]] = field(default_factory=list)  # (global step, stage name)


def read_log(path: Path) -> Curves:
    """Parse a ``log.csv`` (optionally with a ``stage`` column); ``ValueError`` naming the file and line."""
    curves, offset, last, stage = Curves(), 0, 0, None
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames is None or not {"step", "loss", "STQ"} <= set(reader.fieldnames):
            raise ValueError(f"{path}: not a vps-train log (need columns step, loss, STQ)")
        for line, row in enumerate(reader, start=2):
            try:
                step = int(row["step"])
                if row.get("stage", stage) != stage:  # a new stage continues the axis
                    stage, offset = row.get("stage"), last
                    curves.stage_starts.append((offset, str(stage)))
                last = offset + step
                if row["loss"]:
                    curves.loss.append((last, float(row["loss"])))
                if row["STQ"]:
                    curves.stq.append((last, float(row["STQ"]), float(row["AQ"]), float(row["SQ"])))
            except (TypeError, ValueError) as e:
                raise ValueError(f"{path}:{line}: bad row ({e})") from None
    if not curves.loss and not curves.stq:
        raise ValueError(f"{path}: no data rows")
    return curves


def plot(curves: Curves, path: Path, title: str) -> None:
    """Loss (left, log-y) and STQ / AQ / SQ (right) against the step; PNG written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_l, ax_q) = plt.subplots(1, 2, figsize=(10, 3.6), dpi=120)
    if curves.loss:
        ax_l.plot(*zip(*curves.loss, strict=True), lw=0.8, color="tab:blue")
    ax_l.set_yscale("log")
    ax_l.set_ylabel("training loss")
    for name, k, style in (("STQ", 1, "o-"), ("AQ", 2, ":"), ("SQ", 3, "--")):
        if curves.stq:
            ax_q.plot([p[0] for p in curves.stq], [p[k] for p in curves.stq], style, ms=3, label=name)
    ax_q.set_ylim(0, 1)
    ax_q.set_ylabel("periodic validation")
    ax_q.legend(fontsize=7, loc="lower right")
    for ax in (ax_l, ax_q):
        ax.set_xlabel("training step (all stages)")
        ax.grid(True, alpha=0.3)
        for x, name in curves.stage_starts[1:]:
            ax.axvline(x, color="grey", lw=0.6, ls="--")
            ax.text(x, 1.0, f" stage {name}", transform=ax.get_xaxis_transform(), fontsize=7, va="top")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fig.savefig(tmp, format="png")
    plt.close(fig)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m vps.train.curves", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("log", type=Path, help="log.csv of a run (or runs concatenated with a 'stage' column)")
    p.add_argument("--out", type=Path, required=True, help="PNG to write")
    p.add_argument("--title", default=None, help="figure title (default: the log's path)")
    args = p.parse_args(argv)
    try:
        curves = read_log(args.log)
    except (OSError, ValueError) as e:
        print(f"vps.train.curves: error: {e}", file=sys.stderr)
        return 2
    plot(curves, args.out, args.title or str(args.log))
    print(f"{args.out}: {len(curves.loss)} loss points, {len(curves.stq)} evaluations, "
          f"{max(len(curves.stage_starts), 1)} stage(s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
