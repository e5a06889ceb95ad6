"""The benchmark's outputs: a printed table, a JSON report and a PNG plot of latency against step count.

JSON (written atomically), top-level keys:

* ``mode``: ``single`` (one export folder, its ``--steps`` sweep and the baseline) or ``compare`` (several
  export folders side by side, :mod:`vps.bench.compare`; no baseline);
* ``speedup``: baseline median total / deployed median total (``null`` without the baseline);
* ``stq_delta``: deployed STQ minus baseline STQ on the same frames (``null`` without both);
* ``deployed``: the artifacts as given; ``variants``: every deployed configuration (the ``--steps`` sweep),
  each ``{"info", "frames", "warmup", "stages": {stage: {count, mean, median, p90, p99, max, min}}, "fps",
  "fps_median", "stq", "stq_common", "memory", "speedup", "stq_delta"}`` (times in ms);
* ``baseline``: the same for the naive pipeline (or ``null``);
* ``machine`` (CPU model, cores, memory, GPU), ``versions`` (python, numpy, onnxruntime, torch, tensorrt,
  ...), ``settings`` (every option and the interleaving), ``clip``, ``notes``.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from vps.bench.stats import DENOISE_ALL
from vps.data.codecs import atomic_write_bytes
from vps.runtime.timing import TOTAL

SCHEMA = "vps-bench/1"
PACKAGES = {"numpy": ("numpy",), "onnxruntime": ("onnxruntime", "onnxruntime-gpu"), "torch": ("torch",),
            "tensorrt": ("tensorrt", "tensorrt-cu12", "tensorrt_cu12"), "triton": ("triton",),
            "opencv": ("opencv-python-headless", "opencv-python"), "onnx": ("onnx",),
            "vps": ("vps-toolkit",)}
MAX_STEP_ROWS = 8  # lanes with more denoiser steps show the first, the last and the sum in the table


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _gpu_name() -> str | None:
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        return str(torch.cuda.get_device_name())
    return None


def machine_info() -> dict[str, Any]:
    """CPU model, logical cores (all and usable by this process), memory, OS and GPU (if torch sees one)."""
    from vps.bench.memory import read_status_kb

    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    mem = read_status_kb(Path("/proc/meminfo")).get("MemTotal")
    return {"cpu_model": _cpu_model(), "cpu_cores": os.cpu_count(), "cpu_cores_usable": usable,
            "memory_total_bytes": None if mem is None else mem * 1024, "platform": platform.platform(),
            "hostname": platform.node(), "gpu": _gpu_name()}


def versions() -> dict[str, str | None]:
    """Installed versions (from package metadata: nothing is imported); ``None`` when not installed."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for key, names in PACKAGES.items():
        out[key] = None
        for name in names:
            try:
                out[key] = metadata.version(name)
                break
            except metadata.PackageNotFoundError:
                continue
    return out


def lane_summary(result: dict[str, Any], info: dict[str, Any]) -> dict[str, Any]:
    """A runner lane result plus its configuration and frames per second (from the ``total`` stage)."""
    total = result["stages"].get(TOTAL)
    fps = 1000.0 / total["mean"] if total and total["mean"] > 0 else None
    fps_median = 1000.0 / total["median"] if total and total["median"] > 0 else None
    return {"info": info, **result, "fps": fps, "fps_median": fps_median}


def compare(deployed: dict[str, Any], baseline: dict[str, Any] | None) -> tuple[float | None, float | None]:
    """``(speedup, stq_delta)`` of a deployed lane against the baseline lane (``None`` where undefined)."""
    if baseline is None:
        return None, None
    speedup = baseline["stages"][TOTAL]["median"] / deployed["stages"][TOTAL]["median"]
    a, b = deployed.get("stq_common"), baseline.get("stq_common")
    delta = None if a is None or b is None else a["STQ"] - b["STQ"]
    return speedup, delta


def build_report(variants: list[dict[str, Any]], primary: int, baseline: dict[str, Any] | None,
                 settings: dict[str, Any], clip: dict[str, Any], notes: list[str],
                 mode: str = "single") -> dict[str, Any]:
    """The JSON report (see the module docstring); ``variants[primary]`` is the artifacts as given."""
    for v in variants:
        v["speedup"], v["stq_delta"] = compare(v, baseline)
    deployed = variants[primary]
    return {"schema": SCHEMA, "mode": mode, "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "speedup": deployed["speedup"], "stq_delta": deployed["stq_delta"], "deployed": deployed,
            "variants": variants, "baseline": baseline, "machine": machine_info(), "versions": versions(),
            "settings": settings, "clip": clip, "notes": notes}


def write_json(report: dict[str, Any], path: str | Path) -> Path:
    path = Path(path)
    atomic_write_bytes(path, (json.dumps(report, indent=2) + "\n").encode("utf-8"))
    return path


# ---- table ----------------------------------------------------------------------------------------------
def _mb(n: int | None) -> str:
    return "-" if n is None else f"{n / 2**20:.0f} MiB"


def _stage_rows(stages: dict[str, dict[str, Any]]) -> list[str]:
    """Stage names to print: all, except that a long run of denoiser steps is shortened."""
    steps = [s for s in stages if s.startswith("denoise_") and s != DENOISE_ALL]
    hide = set(steps[1:-1]) if len(steps) > MAX_STEP_ROWS else set()
    if len(steps) <= 1:
        hide.add(DENOISE_ALL)
    return [s for s in stages if s not in hide]


def _title(lane: dict[str, Any]) -> str:
    i = lane["info"]
    if i.get("kind") == "baseline":
        return (f"baseline: PyTorch eager {i['precision']} on {i['device']}, {i['steps']} DDIM steps from "
                f"noise every frame, no warm start, the model's own ids (same frame engine)")
    made = " (re-exported by vps-bench)" if i.get("reexported") else ""
    model = f"{i.get('family', 'pix2seq_d')} {i.get('preset', '')}".rstrip()
    plan = ""
    if i.get("steps") is not None:
        warm = f", warm start {i['warm_steps']} steps" if i["warm_start"] else ", no warm start"
        plan = f", {i['steps']} steps{warm}"
    return (f"deployed [{i['label']}]: {model}, {i['backend']} on {i['device']}, {i['engine']} "
            f"{i['precision']}{plan}{made}")


def format_lane(lane: dict[str, Any]) -> list[str]:
    """Title, one row per stage (median, p90, p99, max in ms) and a summary line of one lane."""
    lines = [_title(lane), f"  {lane['frames']} timed frames after {lane['warmup']} warm-up frames",
             f"  {'stage (ms)':<16}{'median':>10}{'p90':>10}{'p99':>10}{'max':>10}"]
    stages = lane["stages"]
    for name in _stage_rows(stages):
        s = stages[name]
        lines.append(f"  {name:<16}{s['median']:>10.2f}{s['p90']:>10.2f}{s['p99']:>10.2f}{s['max']:>10.2f}")
    steps = [s for s in stages if s.startswith("denoise_") and s != DENOISE_ALL]
    if len(steps) > MAX_STEP_ROWS:
        lines.append(f"  ({len(steps) - 2} more denoiser steps in the JSON report)")
    mem = lane["memory"]
    dev = mem.get("device")
    extra = f", peak device memory {_mb(dev['peak_allocated_bytes'])} (torch)" if dev else ""
    stq = lane.get("stq")
    stq_txt = ("no ground truth" if stq is None
               else f"STQ {stq['STQ']:.4f} (AQ {stq['AQ']:.4f}, SQ {stq['SQ']:.4f})")
    fps = "-" if lane["fps"] is None else f"{lane['fps']:.2f}"
    lines.append(f"  {fps} frames/s (1000 / mean total), peak host RSS {_mb(mem['host_peak_rss_bytes'])}"
                 f"{extra}; {stq_txt}")
    floor = lane.get("floor")
    if floor:
        lines.append(f"  floor: {floor['frame_gflop']:.2f} GFLOP per frame (conv/matmul) at "
                     f"{floor['peak_gflops']:.0f} GFLOP/s (measured MatMul peak) = "
                     f"{floor['floor_ms']:.1f} ms; achieved {floor['achieved_gflops']:.0f} GFLOP/s, "
                     f"frame / floor = {floor['ratio_to_floor']:.2f}")
    return lines


def format_sweep(variants: list[dict[str, Any]]) -> list[str]:
    """One row per deployed configuration, by step count: latency, fps, STQ, speed-up, STQ change."""
    lines = [f"{'steps':>5} {'warm':>5} {'median ms':>10} {'p99 ms':>10} {'fps':>8} {'STQ':>8} "
             f"{'speed-up':>9} {'STQ change':>11}"]
    for v in sorted(variants, key=lambda v: (v["info"]["warm_steps"], v["info"]["steps"])):
        i, t = v["info"], v["stages"][TOTAL]
        stq = "-" if v["stq"] is None else f"{v['stq']['STQ']:.4f}"
        sp = "-" if v["speedup"] is None else f"{v['speedup']:.1f}x"
        delta = "-" if v["stq_delta"] is None else f"{v['stq_delta']:+.4f}"
        lines.append(f"{i['steps']:>5} {i['warm_steps']:>5} {t['median']:>10.2f} {t['p99']:>10.2f} "
                     f"{v['fps'] or 0:>8.2f} {stq:>8} {sp:>9} {delta:>11}")
    return lines


def format_table(report: dict[str, Any]) -> str:
    """The printed summary: one block per pipeline, then the comparison."""
    lines: list[str] = []
    for v in report["variants"]:
        lines += format_lane(v) + [""]
    base = report["baseline"]
    if base is not None:
        lines += format_lane(base) + [""]
    if report.get("mode") == "compare":
        from vps.bench.compare import format_compare

        lines += format_compare(report) + [""]
    elif len(report["variants"]) > 1:
        lines += format_sweep(report["variants"]) + [""]
    if report["speedup"] is not None:
        d = report["deployed"]
        common = min(d["frames"], base["frames"]) if base else 0
        delta = report["stq_delta"]
        stq_txt = "no ground truth" if delta is None else (
            f"STQ change {delta:+.4f} (deployed {d['stq_common']['STQ']:.4f} - baseline "
            f"{base['stq_common']['STQ']:.4f} on the same first {common} frames)")
        lines.append(f"speed-up {report['speedup']:.1f}x (baseline median total / deployed median total); "
                     f"{stq_txt}")
    lines += [f"note: {n}" for n in report["notes"]]
    return "\n".join(lines)
