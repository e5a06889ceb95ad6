"""PNG plots of a benchmark report (matplotlib Agg).

:func:`plot_report` (one export folder): median latency per stage against the number of denoiser steps per
frame. Log-log axes: deployed configurations (the ``--steps`` sweep) are joined by lines per stage, the
baseline's stages are drawn as stars at its step count, and the total's p99 is dashed, so one picture
shows where the time goes, how it scales with steps, and how far the naive pipeline is.

:func:`plot_compare` (several export folders, :mod:`vps.bench.compare`): one horizontal bar per export, its
stages' medians stacked in frame order (a family's own stages get their own colours), the total's p99 as
a black tick and the median total and STQ written beside it; exports need not share a step count or family.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from vps.bench.stats import DENOISE_ALL
from vps.data.codecs import atomic_write_bytes
from vps.runtime.timing import TOTAL

STAGES = ("preprocess", "encoder", "context", DENOISE_ALL, "decode", "postprocess", "tracking", "device",
          TOTAL)
LABELS = {DENOISE_ALL: "denoiser (all steps)"}


def steps_per_frame(info: dict[str, Any]) -> int:
    """Denoiser steps of a typical (not the first) frame of a stream."""
    if info.get("kind") == "baseline":
        return int(info["steps"])
    return int(info["warm_steps"] if info["warm_start"] else info["steps"])


def _median(lane: dict[str, Any], stage: str) -> float | None:
    s = lane["stages"].get(stage)
    if s is None and stage == DENOISE_ALL:
        s = lane["stages"].get("denoise_0")  # one step: no derived sum
    return None if s is None else float(s["median"])


def _save(fig: Any, path: str | Path) -> Path:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    path = Path(path)
    atomic_write_bytes(path, buf.getvalue())
    return path


def plot_report(report: dict[str, Any], path: str | Path) -> Path:
    """Write the plot of ``report`` (see :mod:`vps.bench.report`) to ``path`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    variants = sorted(report["variants"], key=lambda v: steps_per_frame(v["info"]))
    base = report["baseline"]
    fig, ax = plt.subplots(figsize=(8, 5.5), dpi=120)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for k, stage in enumerate(STAGES):
        pts = [(steps_per_frame(v["info"]), _median(v, stage)) for v in variants]
        pts = [(x, y) for x, y in pts if y is not None and y > 0]
        b = _median(base, stage) if base is not None else None
        if not pts and b is None:
            continue
        color = colors[k % len(colors)]
        label = LABELS.get(stage, stage)
        if pts:
            ax.plot(*zip(*pts, strict=True), marker="o", color=color, label=label,
                    linewidth=2.5 if stage == TOTAL else 1.5)
        if b is not None and b > 0:
            ax.plot([steps_per_frame(base["info"])], [b], marker="*", markersize=12, color=color,
                    linestyle="none", label=None if pts else f"{label} (baseline)")
    p99 = [(steps_per_frame(v["info"]), v["stages"][TOTAL]["p99"]) for v in variants]
    ax.plot(*zip(*p99, strict=True), linestyle="--", marker="_", markersize=14, color="black",
            label="total p99")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ticks = sorted({steps_per_frame(v["info"]) for v in variants}
                   | ({steps_per_frame(base["info"])} if base is not None else set()))
    ax.set_xticks(ticks, [str(t) for t in ticks])
    ax.set_xlim(ticks[0] / 1.5, ticks[-1] * 1.5)
    ax.set_xlabel("denoiser steps per frame")
    ax.set_ylabel("median latency per frame (ms)")
    m = report["machine"]
    dev = variants[0]["info"]
    title = f"vps-bench: {dev['backend']} on {m['gpu'] or m['cpu_model']}"
    if base is not None:
        title += f"\n★ = naive baseline ({base['info']['steps']} steps, PyTorch eager); speed-up " \
                 f"{report['speedup']:.1f}x"
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    return _save(fig, path)


def plot_compare(report: dict[str, Any], path: str | Path) -> Path:
    """Write the side-by-side plot of a comparison ``report`` (see the module docstring) to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from vps.bench.compare import stage_order

    lanes = report["variants"]
    stages = [s for s in stage_order(lanes) if s not in (TOTAL, DENOISE_ALL)]
    fig, ax = plt.subplots(figsize=(10, 1.8 + 0.7 * len(lanes)), dpi=120)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    y = list(range(len(lanes)))[::-1]  # the first export on top
    left = [0.0] * len(lanes)
    for k, stage in enumerate(stages):
        widths = [float(lane["stages"][stage]["median"]) if stage in lane["stages"] else 0.0
                  for lane in lanes]
        ax.barh(y, widths, left=left, height=0.6, color=colors[k % len(colors)], label=stage)
        left = [a + b for a, b in zip(left, widths, strict=True)]
    p99 = [float(lane["stages"][TOTAL]["p99"]) for lane in lanes]
    ax.plot(p99, y, linestyle="none", marker="|", markersize=22, color="black", label="total p99")
    for yi, lane, x in zip(y, lanes, p99, strict=True):
        stq = lane.get("stq")
        txt = f" median {lane['stages'][TOTAL]['median']:.1f} ms"
        txt += "" if stq is None else f", STQ {stq['STQ']:.3f}"
        ax.text(x, yi, txt, va="center", fontsize=8)
    ax.set_yticks(y, [f"{lane['info']['label']}\n{lane['info'].get('family', '')}" for lane in lanes],
                  fontsize=8)
    ax.set_xlim(0, max(p99) * 1.35)
    ax.set_xlabel("median latency per stage, stacked (ms per frame)")
    m = report["machine"]
    ax.set_title(f"vps-bench: {len(lanes)} exports, one interleaved session on {m['gpu'] or m['cpu_model']}",
                 fontsize=10)
    ax.grid(True, axis="x", alpha=0.3)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    fig.tight_layout()
    return _save(fig, path)
