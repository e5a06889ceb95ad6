"""Video panoptic quality (VPQ) over sliding windows of k frames, streaming.

Kim et al., "Video Panoptic Segmentation", CVPR 2020, as evaluated by ViP-DeepLab / deeplab2: for each
window size k and each sequence, every run of k consecutive frames (stride 1, so ``n - k + 1`` windows;
none if the sequence is shorter) is concatenated side by side and scored as one image with
:func:`vps.eval.pq.pq_stats`; TP/FN/FP/IoU sums are pooled over all windows of all sequences and
``VPQ_k`` is the class-averaged PQ of the pool. ``VPQ`` is the mean of ``VPQ_k`` over the requested k,
leaving out a k longer than every sequence (it has no window at all). ``k = 1`` is image PQ. Only the
last ``max(k)`` frames' sparse pair tables of each sequence are kept.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from vps.data.meta import DatasetMeta
from vps.eval.ids import FramePairs, SparsePairs
from vps.eval.pq import PQStats, PQSummary, pq_stats, summarize


@dataclass(frozen=True)
class VPQResult:
    """``VPQ`` (mean over windows), ``PQ`` (= the k = 1 window) and each window's :class:`PQSummary`."""

    vpq: float
    vpq_things: float
    vpq_stuff: float
    pq: PQSummary
    per_window: dict[int, PQSummary]
    num_windows: dict[int, int]

    def to_dict(self) -> dict[str, Any]:
        return {
            "VPQ": self.vpq, "VPQ_things": self.vpq_things, "VPQ_stuff": self.vpq_stuff,
            "PQ": self.pq.pq, "PQ_details": self.pq.to_dict(),
            "VPQ_k": {str(k): {**s.to_dict(), "windows": self.num_windows[k]}
                      for k, s in self.per_window.items()},
        }


def parse_windows(windows: Sequence[int]) -> tuple[int, ...]:
    """Validate window sizes: positive ints, sorted, duplicates removed (``ValueError`` otherwise)."""
    out = sorted({int(k) for k in windows})
    if not out or out[0] < 1:
        raise ValueError(f"VPQ window sizes must be positive integers, got {list(windows)}")
    return tuple(out)


class VPQAccumulator:
    """Streaming VPQ: :meth:`update` the frames of each sequence in temporal order."""

    def __init__(self, meta: DatasetMeta, windows: Sequence[int] = (1, 2, 5)) -> None:
        self.meta = meta
        self.windows = parse_windows(windows)
        # k = 1 is always accumulated too: it is image PQ.
        self._sizes = tuple(sorted(set(self.windows) | {1}))
        self._stats = {k: PQStats.zeros(meta.num_classes) for k in self._sizes}
        self._count = dict.fromkeys(self._sizes, 0)
        self._recent: dict[str, deque[SparsePairs]] = {}

    def update(self, gt_panoptic: np.ndarray, pred_panoptic: np.ndarray, sequence_id: object = 0) -> None:
        """Add the next frame of ``sequence_id`` (``int [H, W]`` panoptic maps)."""
        self.update_pairs(FramePairs.from_maps(gt_panoptic, pred_panoptic), sequence_id)

    def update_pairs(self, pairs: FramePairs, sequence_id: object = 0) -> None:
        """Add the next frame given as its pair table; scores every window that ends at this frame."""
        key = str(sequence_id)
        recent = self._recent.get(key)
        if recent is None:
            recent = self._recent[key] = deque(maxlen=self._sizes[-1])
        recent.append(pairs.sparse())
        for k in self._sizes:
            if len(recent) < k:
                break
            window = SparsePairs.concatenate(list(recent)[-k:])
            self._stats[k] += pq_stats(window, self.meta)
            self._count[k] += 1

    def result(self) -> VPQResult:
        per_window = {k: summarize(self._stats[k], self.meta) for k in self.windows}
        scored = [s for k, s in per_window.items() if self._count[k] > 0]  # k with at least one window
        n = max(len(scored), 1)
        return VPQResult(
            vpq=sum(s.pq for s in scored) / n,
            vpq_things=sum(s.pq_things for s in scored) / n,
            vpq_stuff=sum(s.pq_stuff for s in scored) / n,
            pq=summarize(self._stats[1], self.meta),
            per_window=per_window,
            num_windows={k: self._count[k] for k in self.windows},
        )
