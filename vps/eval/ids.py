"""Id compaction and the per-frame (ground-truth id, predicted id) pair table.

Every metric in :mod:`vps.eval` is a function of one table per frame: how many pixels carry each
(ground-truth panoptic id, predicted panoptic id) pair. Panoptic ids are large and sparse
(``semantic * 1000 + instance``), so both maps are first *compacted* to ``0..n-1`` with a lookup table
built from ``np.bincount`` over the bounded id range (O(pixels), no sort), and the pair counts then come
from :func:`vps.kernels.pair_histogram` (NumPy reference or the GPU path, same result).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vps.data.meta import DatasetMeta
from vps.kernels import pair_histogram

_LUT_LIMIT = 1 << 24  # largest id handled with a lookup table (64 MiB of int32 at most)


def compact_ids(
    panoptic: np.ndarray, name: str = "panoptic map"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Map the ids of ``panoptic`` to ``0..n-1`` in ascending id order, without sorting pixels.

    Returns ``(compact [H, W] int32, ids [n] int64 ascending, areas [n] int64)`` with
    ``ids[compact] == panoptic`` and ``areas[i]`` the pixel count of ``ids[i]``.
    """
    flat = np.asarray(panoptic).ravel()
    if flat.size == 0:
        return np.zeros(np.shape(panoptic), np.int32), np.zeros(0, np.int64), np.zeros(0, np.int64)
    if not np.issubdtype(flat.dtype, np.integer):
        raise ValueError(f"{name}: panoptic ids must be integers, got {flat.dtype}")
    lo, hi = int(flat.min()), int(flat.max())
    if lo < 0:
        raise ValueError(f"{name}: panoptic ids must be non-negative, got {lo}")
    if hi >= _LUT_LIMIT:  # ids far beyond 256 * divisor: a lookup table would be too big, sort instead
        ids, inverse, areas = np.unique(flat, return_inverse=True, return_counts=True)
        return inverse.astype(np.int32).reshape(np.shape(panoptic)), ids.astype(np.int64), areas
    counts = np.bincount(flat)  # [max_id + 1]; KITTI-STEP ids stay below 256 * 1000
    ids = np.flatnonzero(counts)  # [n] ascending
    lut = np.zeros(counts.size, np.int32)
    lut[ids] = np.arange(ids.size, dtype=np.int32)
    compact = lut[flat].reshape(np.shape(panoptic))  # [H, W]
    return compact, ids.astype(np.int64), counts[ids].astype(np.int64)


@dataclass(frozen=True)
class FramePairs:
    """Dense pair table of one frame: ``counts[i, j]`` pixels have gt ``gt_ids[i]`` and pred ``pred_ids[j]``.

    ``gt_ids`` / ``pred_ids`` are ascending panoptic ids (int64); ``counts`` is int64 ``[n_gt, n_pred]``.
    """

    gt_ids: np.ndarray
    pred_ids: np.ndarray
    counts: np.ndarray

    @classmethod
    def from_maps(cls, gt_panoptic: np.ndarray, pred_panoptic: np.ndarray) -> FramePairs:
        """Build the table from two same-shape panoptic maps (``int [H, W]``)."""
        gt = np.asarray(gt_panoptic)
        pred = np.asarray(pred_panoptic)
        if gt.shape != pred.shape:
            raise ValueError(f"ground truth {gt.shape} and prediction {pred.shape} differ in shape")
        g, gt_ids, _ = compact_ids(gt, "ground truth")
        p, pred_ids, _ = compact_ids(pred, "prediction")
        counts = pair_histogram(g, p, gt_ids.size, pred_ids.size)  # [n_gt, n_pred]
        return cls(gt_ids, pred_ids, np.asarray(counts, dtype=np.int64))

    def sparse(self) -> SparsePairs:
        """The non-zero entries as a :class:`SparsePairs` (what windows of frames are summed from)."""
        gi, pj = np.nonzero(self.counts)
        return SparsePairs(self.gt_ids[gi], self.pred_ids[pj], self.counts[gi, pj])


@dataclass(frozen=True)
class SparsePairs:
    """Unique (gt id, pred id, pixel count) triples, each ``[m]`` int64; the sum of a window of frames."""

    gt: np.ndarray
    pred: np.ndarray
    count: np.ndarray

    @staticmethod
    def concatenate(parts: list[SparsePairs]) -> SparsePairs:
        """Sum several tables (e.g. the k frames of a VPQ window): equal pairs are merged."""
        if len(parts) == 1:
            return parts[0]
        gt = np.concatenate([s.gt for s in parts])
        pred = np.concatenate([s.pred for s in parts])
        count = np.concatenate([s.count for s in parts])
        span = int(pred.max(initial=0)) + 1
        if span * (int(gt.max(initial=0)) + 1) >= 1 << 62:  # huge ids: a flat key would overflow int64
            rows, inverse = np.unique(np.stack([gt, pred], 1), axis=0, return_inverse=True)
            summed = np.bincount(inverse.ravel(), weights=count, minlength=len(rows)).astype(np.int64)
            return SparsePairs(rows[:, 0], rows[:, 1], summed)
        keys, inverse = np.unique(gt * span + pred, return_inverse=True)  # small: pairs, not pixels
        summed = np.bincount(inverse, weights=count, minlength=keys.size).astype(np.int64)
        return SparsePairs(keys // span, keys % span, summed)


def semantic_of(ids: np.ndarray, meta: DatasetMeta, what: str = "panoptic map") -> np.ndarray:
    """Semantic ids of panoptic ``ids``; ``ValueError`` unless each is a class of ``meta`` or ignore."""
    sem = np.asarray(ids, np.int64) // meta.label_divisor
    bad = (sem < 0) | ((sem >= meta.num_classes) & (sem != meta.ignore_label))
    if bad.any():
        values = sorted(set(sem[bad].tolist()))[:8]
        raise ValueError(f"{what}: semantic ids {values} are neither classes of {meta.name} "
                         f"(0..{meta.num_classes - 1}) nor its ignore label {meta.ignore_label}")
    return sem
