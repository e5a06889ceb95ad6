"""Panoptic quality (PQ) of one pair table, with deeplab2's conventions (``evaluation/panoptic_quality.py``).

A ground-truth segment and a predicted segment of the same class match when their IoU is > 0.5 (so a
match is unique). The union leaves out the part of the prediction lying on ground-truth *void*
(``ignore_label * divisor``, instance 0). Unmatched ground-truth segments are false negatives, unmatched
predictions false positives unless more than half of them lies on void. Segments of the ignore class are
never TP/FN/FP. A thing segment with instance 0 (crowd) is an ordinary segment of its class, as in
deeplab2. PQ/SQ/RQ are averaged over the classes with ``TP + FN + FP > 0``.

The same code gives video PQ: the table of a window of k frames is the sum of the frames' tables, which
is exactly PQ over the k frames concatenated side by side (the "tube" of Kim et al. 2020).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from vps.data.meta import DatasetMeta
from vps.eval.ids import SparsePairs, semantic_of


@dataclass
class PQStats:
    """Per-class sums ``[C]`` float64: IoU of matches, TP, FN, FP."""

    iou: np.ndarray
    tp: np.ndarray
    fn: np.ndarray
    fp: np.ndarray

    @classmethod
    def zeros(cls, num_classes: int) -> PQStats:
        return cls(*(np.zeros(num_classes, np.float64) for _ in range(4)))

    def __iadd__(self, other: PQStats) -> PQStats:
        self.iou += other.iou
        self.tp += other.tp
        self.fn += other.fn
        self.fp += other.fp
        return self


def _group_sum(ids: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(unique ids, summed weights)`` of a small array (pairs, not pixels)."""
    keys, inverse = np.unique(ids, return_inverse=True)
    return keys, np.bincount(inverse, weights=weights, minlength=keys.size)


def pq_stats(pairs: SparsePairs, meta: DatasetMeta) -> PQStats:
    """Match segments of one pair table (one frame or one window) and count TP/FN/FP per class."""
    c, div = meta.num_classes, meta.label_divisor
    out = PQStats.zeros(c)
    if pairs.count.size == 0:
        return out
    gt_keys, gt_area = _group_sum(pairs.gt, pairs.count)  # [n_gt]
    pr_keys, pr_area = _group_sum(pairs.pred, pairs.count)  # [n_pred]
    pr_index = np.searchsorted(pr_keys, pairs.pred)  # [m] row of each pair's prediction
    gt_index = np.searchsorted(gt_keys, pairs.gt)  # [m]
    on_void = pairs.gt == meta.ignore_label * div
    void_overlap = np.bincount(pr_index[on_void], weights=pairs.count[on_void], minlength=pr_keys.size)
    g_sem = semantic_of(pairs.gt, meta, "ground truth")  # [m]
    p_sem = semantic_of(pairs.pred, meta, "prediction")  # [m]
    same = (g_sem == p_sem) & (g_sem != meta.ignore_label)
    union = gt_area[gt_index] + pr_area[pr_index] - pairs.count - void_overlap[pr_index]  # [m]
    iou = np.divide(pairs.count, union, out=np.zeros(union.shape), where=union > 0)
    match = same & (iou > 0.5)
    out.tp += np.bincount(g_sem[match], minlength=c)[:c]
    out.iou += np.bincount(g_sem[match], weights=iou[match], minlength=c)[:c]
    gt_matched = np.zeros(gt_keys.size, bool)
    gt_matched[gt_index[match]] = True
    pr_matched = np.zeros(pr_keys.size, bool)
    pr_matched[pr_index[match]] = True
    gt_sem_k = gt_keys // div
    fn = ~gt_matched & (gt_sem_k != meta.ignore_label)
    out.fn += np.bincount(gt_sem_k[fn], minlength=c)[:c]
    pr_sem_k = pr_keys // div
    fp = ~pr_matched & (pr_sem_k != meta.ignore_label) & (void_overlap / pr_area <= 0.5)
    out.fp += np.bincount(pr_sem_k[fp], minlength=c)[:c]
    return out


@dataclass(frozen=True)
class PQSummary:
    """PQ/SQ/RQ means (all, things, stuff) and the per-class rows of accumulated :class:`PQStats`."""

    pq: float
    sq: float
    rq: float
    pq_things: float
    pq_stuff: float
    num_valid_classes: int
    per_class: dict[str, dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {"PQ": self.pq, "SQ": self.sq, "RQ": self.rq, "PQ_things": self.pq_things,
                "PQ_stuff": self.pq_stuff, "num_valid_classes": self.num_valid_classes,
                "per_class": self.per_class}


def summarize(stats: PQStats, meta: DatasetMeta) -> PQSummary:
    """deeplab2's ``result()``: per class SQ = IoU/TP, RQ = TP/(TP + FN/2 + FP/2); class means."""
    sq = np.divide(stats.iou, stats.tp, out=np.zeros_like(stats.iou), where=stats.tp > 0)
    denom = stats.tp + 0.5 * stats.fn + 0.5 * stats.fp
    rq = np.divide(stats.tp, denom, out=np.zeros_like(denom), where=denom > 0)
    pq = sq * rq
    valid = (stats.tp + stats.fn + stats.fp) > 0
    thing = np.zeros(meta.num_classes, bool)
    thing[list(meta.thing_ids)] = True

    def mean(values: np.ndarray, mask: np.ndarray) -> float:
        return float(values[mask].mean()) if mask.any() else 0.0

    per_class = {
        cls.name: {"PQ": float(pq[i]), "SQ": float(sq[i]), "RQ": float(rq[i]), "TP": int(stats.tp[i]),
                   "FN": int(stats.fn[i]), "FP": int(stats.fp[i]), "is_thing": cls.is_thing}
        for i, cls in enumerate(meta.classes) if valid[i]
    }
    return PQSummary(mean(pq, valid), mean(sq, valid), mean(rq, valid), mean(pq, valid & thing),
                     mean(pq, valid & ~thing), int(valid.sum()), per_class)
