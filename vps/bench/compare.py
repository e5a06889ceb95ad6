"""Several export folders side by side (``vps-bench --artifacts A --artifacts B ...``): checks and tables.

Comparison mode streams every export folder through the frame engine (:class:`vps.runtime.Segmenter`,
loaded with :meth:`~vps.runtime.Segmenter.load` like ``vps-run``) in ONE interleaved session on the same
clip (:class:`vps.bench.runner.InterleavedRun`: block ``k`` runs chunk ``k`` of every export, the first one
rotating), so machine noise hits all alike, and scores each against the clip's ground truth. Nothing here
knows a model family: what it reads is the manifest (family, preset, precision, step plan where the family
has one, graph files) and the stage timings each :class:`~vps.runtime.FrameResult` carries; a family's own
stages (Pix2Seq-D: ``encoder``, ``context``, ``denoise_i``) simply become rows of the stage table.

The exports must segment the same classes (the same :class:`~vps.data.meta.DatasetMeta`), or one clip's
ground truth could not score them all. There is no baseline in this mode: the naive baseline is one
checkpoint's eager loop, and each export here already runs as it ships.

Tables (:func:`summary_table`, :func:`stage_table`) are built once and printed (:func:`format_compare`) or
written as markdown (:func:`compare_markdown`, also for a single export's report: its variants and baseline
become the rows).
"""

from __future__ import annotations

from argparse import Namespace
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vps.bench.stats import DENOISE_ALL
from vps.data.codecs import atomic_write_bytes
from vps.data.meta import DatasetMeta
from vps.runtime.manifest import Manifest
from vps.runtime.timing import TOTAL

ENGINE_STAGES = ("preprocess", "decode", "tracking", TOTAL)  # the frame engine's own laps, every family
MISSING = "–"


def check_compare_args(args: Namespace) -> None:
    """``ValueError`` naming an option that applies to one export folder only."""
    n = len(args.artifacts)
    for name, value in (("--checkpoint", args.checkpoint), ("--steps", args.steps),
                        ("--export-dir", args.export_dir), ("--baseline-frames", args.baseline_frames)):
        if value is not None:
            raise ValueError(f"{name} applies to one --artifacts folder (the baseline and the --steps "
                             f"sweep); comparing {n} export folders runs each as exported, with no baseline")


def lane_labels(folders: Sequence[str | Path]) -> list[str]:
    """One unique label per export folder: its name, or where names repeat the shortest trailing part of
    its path that tells it apart (``teacher/int8``, ``student/int8``); ``name (2)`` etc. for the same
    folder given twice."""
    parts = [Path(f).resolve().parts for f in folders]

    def suffix(p: tuple[str, ...], depth: int) -> str:
        return "/".join(p[-depth:]) if p[-depth:] else "/"

    labels: list[str] = []
    for p in parts:
        depth = 1
        while depth < len(p) and sum(suffix(q, depth) == suffix(p, depth) for q in parts if q != p):
            depth += 1
        label, k = suffix(p, depth), 1
        while label in labels:
            k += 1
            label = f"{suffix(p, depth)} ({k})"
        labels.append(label)
    return labels


def check_same_classes(folders: Sequence[str | Path], manifests: Sequence[Manifest]) -> None:
    """``ValueError`` naming the first export whose class metadata differs from the first export's."""
    first = manifests[0].program.meta
    for folder, m in zip(folders[1:], manifests[1:], strict=True):
        meta = m.program.meta
        if _scoring_key(meta) != _scoring_key(first):
            raise ValueError(f"--artifacts {folder}: its classes ({meta.name}, {meta.num_classes} classes) "
                             f"differ from {folders[0]} ({first.name}, {first.num_classes} classes); one "
                             f"clip's ground truth cannot score both")


def _scoring_key(meta: DatasetMeta) -> tuple[Any, ...]:
    """What scoring against one ground truth needs to agree on: classes, things, void, the id layout."""
    return meta.class_names, meta.thing_ids, meta.ignore_label, meta.label_divisor


def compare_notes(folders: Sequence[str | Path], manifests: Sequence[Manifest],
                  clip_size: tuple[int, int]) -> list[str]:
    """Caveats of comparing several exports in one process."""
    notes = ["comparison mode: every export runs as exported (its own steps, warm start, precision); no "
             "baseline; one process holds all of them, so 'peak RSS' differs between exports only by what "
             "each allocates while it runs ('graphs' is each export's graph files on disk)"]
    sizes = {tuple(m.program.input_size) for m in manifests}
    if len(sizes) > 1:
        listed = ", ".join(f"{Path(f).name} {m.program.input_size[0]}x{m.program.input_size[1]}"
                           for f, m in zip(folders, manifests, strict=True))
        notes.append(f"the exports' input sizes differ ({listed}); the clip is {clip_size[0]}x{clip_size[1]} "
                     f"and each export fits it to its own input")
    return notes


# ---- tables ---------------------------------------------------------------------------------------------
def _lanes(report: dict[str, Any]) -> list[dict[str, Any]]:
    return list(report["variants"]) + ([report["baseline"]] if report.get("baseline") else [])


def _mib(n: int | None) -> str:
    return MISSING if n is None else f"{n / 2**20:.0f}"


def _steps_text(info: dict[str, Any]) -> str:
    """``2``, ``4 (warm 2)``, ``100 (no warm start)`` or a dash for a family without steps."""
    steps, warm = info.get("steps"), info.get("warm_steps")
    if steps is None:
        return MISSING
    if not info.get("warm_start"):
        return f"{steps} (no warm start)" if info.get("kind") != "baseline" else f"{steps} (from noise)"
    return str(steps) if warm == steps else f"{steps} (warm {warm})"


def _label(lane: dict[str, Any]) -> str:
    return "baseline" if lane["info"].get("kind") == "baseline" else str(lane["info"]["label"])


def summary_table(report: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Headers and one row per export: model, quality, total latency, speed, memory."""
    lanes = _lanes(report)
    gpu = any(lane["memory"].get("device") for lane in lanes)
    headers = ["export", "family", "preset", "precision", "steps", "STQ", "AQ", "SQ", "median ms", "p99 ms",
               "FPS", "peak RSS MiB"] + (["peak GPU MiB"] if gpu else []) + ["graphs MiB"]
    rows = []
    for lane in lanes:
        i, t, stq = lane["info"], lane["stages"][TOTAL], lane.get("stq")
        quality = [MISSING] * 3 if stq is None else [f"{stq[k]:.4f}" for k in ("STQ", "AQ", "SQ")]
        dev = lane["memory"].get("device")
        row = [_label(lane), i.get("family", "pix2seq_d"), i.get("preset") or MISSING,
               f"{i['engine']} {i['precision']}", _steps_text(i), *quality, f"{t['median']:.2f}",
               f"{t['p99']:.2f}", MISSING if lane["fps"] is None else f"{lane['fps']:.2f}",
               _mib(lane["memory"].get("host_peak_rss_bytes"))]
        if gpu:
            row.append(_mib(dev["peak_allocated_bytes"]) if dev else MISSING)
        rows.append(row + [_mib(i.get("graph_bytes"))])
    return headers, rows


def stage_order(lanes: Sequence[dict[str, Any]]) -> list[str]:
    """Every lane's stages: ``preprocess`` first, the family stages in first-seen order, then ``decode``,
    ``tracking``, ``total`` (a lane with more than two denoiser steps shows them and their sum)."""
    middle: list[str] = []
    for lane in lanes:
        steps = [s for s in lane["stages"] if s.startswith("denoise_") and s != DENOISE_ALL]
        for s in lane["stages"]:
            if s in ENGINE_STAGES or s in middle or (s == DENOISE_ALL and len(steps) <= 1):
                continue
            middle.append(s)
    head = [s for s in ENGINE_STAGES[:1] if any(s in lane["stages"] for lane in lanes)]
    tail = [s for s in ENGINE_STAGES[1:] if any(s in lane["stages"] for lane in lanes)]
    return head + middle + tail


def stage_table(report: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Headers and one row per stage: ``median / p99`` ms of every export (a dash where it has no such
    stage)."""
    lanes = _lanes(report)
    rows = []
    for stage in stage_order(lanes):
        cells = []
        for lane in lanes:
            s = lane["stages"].get(stage)
            cells.append(MISSING if s is None else f"{s['median']:.2f} / {s['p99']:.2f}")
        rows.append([stage, *cells])
    return ["stage (median / p99 ms)", *(_label(lane) for lane in lanes)], rows


def _numeric(rows: list[list[str]], column: int) -> bool:
    """Whether every cell of ``column`` is a number, a ``median / p99`` pair or a dash (right-aligned)."""
    def number(part: str) -> bool:
        try:
            float(part)
        except ValueError:
            return part == MISSING
        return True
    return all(number(part) for r in rows for part in r[column].split(" / "))


def _text(headers: list[str], rows: list[list[str]]) -> list[str]:
    """An aligned plain-text table: numeric columns right, the others left."""
    widths = [max(len(r[c]) for r in [headers, *rows]) for c in range(len(headers))]
    right = [_numeric(rows, c) for c in range(len(headers))]

    def line(cells: list[str]) -> str:
        padded = (c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right, strict=True))
        return "  ".join(padded)
    return [line(headers), "  ".join("-" * w for w in widths), *(line(r) for r in rows)]


def _markdown(headers: list[str], rows: list[list[str]]) -> list[str]:
    align = ["---:" if _numeric(rows, c) else "---" for c in range(len(headers))]
    return ["| " + " | ".join(cells) + " |" for cells in (headers, align, *rows)]


def format_compare(report: dict[str, Any]) -> list[str]:
    """The printed comparison: the summary table, then the stage table."""
    return [*_text(*summary_table(report)), "", *_text(*stage_table(report))]


def compare_markdown(report: dict[str, Any]) -> str:
    """The comparison as markdown: what ran where, both tables, the notes."""
    clip, m, s = report["clip"], report["machine"], report["settings"]
    lanes = _lanes(report)
    frames = sorted({lane["frames"] for lane in lanes})
    where = m.get("gpu") or f"{m.get('cpu_model')} ({m.get('cpu_cores_usable')} usable cores)"
    lines = [f"vps-bench, {report['created']}: {len(lanes)} pipelines in one interleaved session on {where}, "
             f"{s.get('threads_resolved')} intra-op thread(s); clip: {clip['source']}; "
             f"{'/'.join(map(str, frames))} timed frames each after {lanes[0]['warmup']} warm-up frames.", "",
             *_markdown(*summary_table(report)), "", *_markdown(*stage_table(report)), ""]
    lines += [f"* {n}" for n in report["notes"]]
    return "\n".join(lines) + "\n"


def write_markdown(report: dict[str, Any], path: str | Path) -> Path:
    """:func:`compare_markdown` of ``report``, written atomically."""
    path = Path(path)
    atomic_write_bytes(path, compare_markdown(report).encode("utf-8"))
    return path
