"""Run several pipelines over one clip in alternating blocks of frames, timing stages and scoring STQ.

Why alternate: on a shared or thermally throttling machine the speed changes over minutes. Running the
deployed pipeline for a minute and then the baseline for ten would give each a different machine. Here
the timed frames of every pipeline ("lane") are cut into ``blocks`` consecutive chunks and block ``k``
runs chunk ``k`` of every lane, so each lane samples every period of the run; the lane that goes first
rotates from block to block so none always runs right after another (warm caches, turbo state). Each
lane keeps its own stream state across blocks: it sees its frames in order, as a camera would deliver
them, and its STQ is that of one uninterrupted stream.

Before the timed blocks every lane runs ``warmup`` frames (first-call allocations, lazy initialisation,
kernel compilation) and is then reset, so the timed stream starts cold at frame 0 like a real one.
Predictions are scored with :class:`vps.eval.STQAccumulator` against the clip's ground truth over all of a
lane's timed frames (``stq``) and over the first ``common`` frames that every lane ran (``stq_common``:
the same frames for all lanes, which is what ``stq_delta`` compares).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from tqdm import tqdm

from vps.bench.inputs import BenchClip
from vps.bench.memory import PeakTracker
from vps.bench.stats import StageSeries, with_denoise_all
from vps.data.meta import DatasetMeta


class Pipeline(Protocol):
    name: str
    last_timings: dict[str, float]

    def reset(self) -> None: ...

    def step(self, frame: np.ndarray) -> np.ndarray: ...


@dataclass
class Lane:
    """One pipeline's part of the run: how many frames it times and what it measured."""

    pipeline: Pipeline
    frames: int
    warmup: int
    series: StageSeries = field(default_factory=StageSeries)
    stq: Any = None  # STQAccumulator over all timed frames
    stq_common: Any = None  # over the frames every lane ran
    done: int = 0  # timed frames processed so far

    @property
    def name(self) -> str:
        return self.pipeline.name


def block_plan(counts: Sequence[int], blocks: int) -> list[list[tuple[int, int]]]:
    """``plan[k][i] = (start, stop)``: the frames lane ``i`` runs in block ``k`` (even chunks)."""
    if blocks < 1 or any(c < 1 for c in counts):
        raise ValueError(f"need blocks >= 1 and at least one frame per lane, got {blocks}, {list(counts)}")
    return [[(k * c // blocks, (k + 1) * c // blocks) for c in counts] for k in range(blocks)]


def default_blocks(counts: Sequence[int], cap: int = 10) -> int:
    """As many blocks as the smallest lane has frames, at most ``cap``."""
    return max(1, min(min(counts), cap))


def sanitize(pred: np.ndarray, meta: DatasetMeta, label_divisor: int) -> np.ndarray:
    """Classes the dataset lacks (a model may have more class logits) become void before scoring."""
    sem = pred // label_divisor
    bad = (sem >= meta.num_classes) & (sem != meta.ignore_label)
    return np.where(bad, meta.ignore_label * label_divisor, pred).astype(np.int32) if bad.any() else pred


def _stq_dict(acc: Any) -> dict[str, float] | None:
    if acc is None:
        return None
    r = acc.result()
    return {"STQ": float(r.stq), "AQ": float(r.aq), "SQ": float(r.sq)}


class InterleavedRun:
    """Warm up, then run the lanes' timed frames block by block (see the module docstring)."""

    def __init__(self, lanes: Sequence[Lane], clip: BenchClip, meta: DatasetMeta, blocks: int | None = None,
                 progress: bool = True) -> None:
        longest = max(lane.frames for lane in lanes)
        if longest > len(clip):
            raise ValueError(f"a lane needs {longest} frames but the clip has {len(clip)}")
        self.lanes, self.clip, self.meta = list(lanes), clip, meta
        counts = [lane.frames for lane in lanes]
        self.blocks = blocks or default_blocks(counts)
        self.plan = block_plan(counts, self.blocks)
        self.common = min(counts)
        self.memory = PeakTracker()
        self.progress = progress

    def run(self) -> None:
        from vps.eval import STQAccumulator

        total = sum(lane.frames + lane.warmup for lane in self.lanes)
        with tqdm(total=total, desc="vps-bench", unit="frame", disable=not self.progress) as bar:
            for lane in self.lanes:
                with self.memory.phase(lane.name):
                    self._warmup(lane, bar)
                if self.clip.has_gt:
                    lane.stq, lane.stq_common = STQAccumulator(self.meta), STQAccumulator(self.meta)
            for k, chunks in enumerate(self.plan):
                order = [(k + j) % len(self.lanes) for j in range(len(self.lanes))]  # rotate who goes first
                for i in order:
                    lane = self.lanes[i]
                    with self.memory.phase(lane.name):
                        self._timed(lane, *chunks[i], bar)

    def _warmup(self, lane: Lane, bar: Any) -> None:
        lane.pipeline.reset()
        for j in range(lane.warmup):
            lane.pipeline.step(self.clip.frames[j % len(self.clip)])
            bar.update()
        lane.pipeline.reset()

    def _timed(self, lane: Lane, start: int, stop: int, bar: Any) -> None:
        div = self.meta.label_divisor
        for j in range(start, stop):
            pred = lane.pipeline.step(self.clip.frames[j])
            lane.series.add(with_denoise_all(lane.pipeline.last_timings))
            gt = self.clip.gt[j]
            if lane.stq is not None and gt is not None:
                pred = sanitize(pred, self.meta, div)
                lane.stq.update(gt, pred, self.clip.name)
                if j < self.common:
                    lane.stq_common.update(gt, pred, self.clip.name)
            lane.done += 1
            bar.update()

    def results(self) -> dict[str, dict[str, Any]]:
        """Per lane: frames, warm-up, per-stage stats, STQ, memory."""
        out = {}
        for lane in self.lanes:
            dev = self.memory.device.get(lane.name)
            out[lane.name] = {
                "frames": lane.done, "warmup": lane.warmup, "stages": lane.series.to_dict(),
                "stq": _stq_dict(lane.stq), "stq_common": _stq_dict(lane.stq_common),
                "memory": {"host_peak_rss_bytes": self.memory.host.get(lane.name), "device": dev},
            }
        return out
