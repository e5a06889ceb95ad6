"""Latency statistics: median / p90 / p99 / max per stage and frames per second.

Percentiles are NumPy's default (linear interpolation between closest ranks), so they can be checked
against ``numpy.percentile`` and compared with other tools that use it. With ``n`` samples the p99 is only
meaningful for ``n >= 100``; below that it lies between the two largest samples (the sample count is
reported next to every row so a reader can tell).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np

PERCENTILES = (50.0, 90.0, 99.0)
DENOISE_ALL = "denoise_all"  # derived stage: all denoiser steps of a frame together


@dataclass(frozen=True)
class LatencyStats:
    """Summary of one stage's per-frame latencies, in milliseconds."""

    count: int
    mean: float
    median: float
    p90: float
    p99: float
    max: float
    min: float

    @property
    def fps(self) -> float:
        """Sustained frames per second if every frame took the mean time (``1000 / mean``)."""
        return 1000.0 / self.mean if self.mean > 0 else float("inf")

    def to_dict(self) -> dict[str, float | int]:
        """The fields, plus ``p50`` (the median under the name people search for)."""
        return {**asdict(self), "p50": self.median}


def summarize(samples_ms: Sequence[float] | np.ndarray) -> LatencyStats:
    """:class:`LatencyStats` of ``samples_ms`` (at least one finite, non-negative value)."""
    x = np.asarray(samples_ms, dtype=np.float64).ravel()
    if x.size == 0:
        raise ValueError("no latency samples to summarize")
    if not np.isfinite(x).all() or (x < 0).any():
        raise ValueError("latency samples must be finite and non-negative")
    p50, p90, p99 = np.percentile(x, PERCENTILES)
    return LatencyStats(int(x.size), float(x.mean()), float(p50), float(p90), float(p99), float(x.max()),
                        float(x.min()))


def with_denoise_all(timings: Mapping[str, float]) -> dict[str, float]:
    """``timings`` plus :data:`DENOISE_ALL` (sum of ``denoise_*``) right after the last denoiser step."""
    keys = [k for k in timings if k.startswith("denoise_") and k != DENOISE_ALL]
    out: dict[str, float] = {}
    for k, v in timings.items():
        out[k] = v
        if keys and k == keys[-1]:
            out[DENOISE_ALL] = sum(timings[s] for s in keys)
    return out


class StageSeries:
    """Per-frame stage timings of one pipeline: ``add({stage: ms})`` per frame, then :meth:`summary`.

    Stages keep their first-seen order (the pipeline's order). A stage missing from some frames (e.g. a
    denoiser step that only cold-start frames run) is summarized over the frames that ran it.
    """

    def __init__(self) -> None:
        self.samples: dict[str, list[float]] = {}
        self.frames = 0

    def add(self, timings: Mapping[str, float]) -> None:
        for stage, ms in timings.items():
            self.samples.setdefault(stage, []).append(float(ms))
        self.frames += 1

    def extend(self, frames: Iterable[Mapping[str, float]]) -> None:
        for t in frames:
            self.add(t)

    @property
    def stages(self) -> list[str]:
        return list(self.samples)

    def summary(self) -> dict[str, LatencyStats]:
        """``{stage: LatencyStats}`` for every stage seen."""
        return {stage: summarize(v) for stage, v in self.samples.items()}

    def to_dict(self) -> dict[str, dict[str, float | int]]:
        return {stage: s.to_dict() for stage, s in self.summary().items()}
