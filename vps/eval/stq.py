"""Segmentation and Tracking Quality (STQ), streaming, with deeplab2's KITTI-STEP conventions.

Weber et al., "STEP: Segmenting and Tracking Every Pixel", 2021. ``STQ = sqrt(AQ * SQ)``:

* **AQ** (association quality): for every ground-truth track ``g`` (a thing id with instance != 0; ids
  are class-dependent, ``semantic * divisor + instance``) and every predicted thing id ``p`` overlapping
  it, ``TPA(g,p) * IoU(g,p)``, summed, divided by ``|g|``, then averaged over ground-truth tracks of
  all sequences pooled (per sequence: over that sequence's tracks). Crowd pixels (thing class, instance
  0 in the ground truth) are removed from both sides. Predicted areas count every predicted thing pixel
  outside crowd, also on void or stuff ground truth.
* **SQ** (= deeplab2's ``IoU``): class IoU from the confusion matrix accumulated over all frames. The
  ignore label is mapped to an extra column/row ``num_classes``; the ground-truth void *row* is dropped
  (predictions on void pixels are free), but a void *prediction* on a labelled pixel is a miss, and the
  void column then has a non-zero union and IoU 0, so it counts as one more class in the mean. The mean
  runs over the classes with a non-zero union.

State is per sequence: a ``[C+1, C+1]`` confusion matrix and dicts of track / prediction / pair areas,
so memory does not grow with the number of frames.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vps.data.meta import DatasetMeta
from vps.eval.ids import FramePairs, semantic_of


@dataclass
class _SequenceState:
    """Running sums of one sequence."""

    confusion: np.ndarray  # [C+1, C+1] int64, rows = ground truth, cols = prediction
    gt_area: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    pred_area: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    pair_area: dict[tuple[int, int], int] = field(default_factory=lambda: defaultdict(int))
    num_frames: int = 0


@dataclass(frozen=True)
class SequenceSTQ:
    """STQ terms of one sequence."""

    stq: float
    aq: float
    sq: float
    num_frames: int
    num_tracks: int


@dataclass(frozen=True)
class STQResult:
    """Overall STQ / AQ / SQ, per-sequence values and per-class IoU (``None`` where the union is 0)."""

    stq: float
    aq: float
    sq: float
    per_sequence: dict[str, SequenceSTQ]
    class_iou: dict[str, float | None]
    void_prediction_pixels: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "STQ": self.stq, "AQ": self.aq, "SQ": self.sq,
            "per_sequence": {k: {"STQ": v.stq, "AQ": v.aq, "SQ": v.sq, "frames": v.num_frames,
                                 "tracks": v.num_tracks} for k, v in self.per_sequence.items()},
            "class_IoU": dict(self.class_iou),
            "void_prediction_pixels": self.void_prediction_pixels,
        }


def _mean_iou(confusion: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """deeplab2's mean IoU of a void-row-free confusion matrix: ``(mean, ious [C+1], unions [C+1])``."""
    inter = np.diagonal(confusion).astype(np.float64)  # [C+1]
    unions = confusion.sum(axis=0) + confusion.sum(axis=1) - np.diagonal(confusion)  # [C+1]
    valid = unions > 0
    ious = np.divide(inter, unions, out=np.zeros_like(inter), where=valid)
    mean = float(ious.sum() / valid.sum()) if valid.any() else 0.0
    return mean, ious, unions


def _association_sum(state: _SequenceState) -> float:
    """Sum over this sequence's gt tracks of ``1/|g| * sum_p TPA * IoU`` (AQ before averaging)."""
    if not state.pair_area:
        return 0.0
    keys = np.array(list(state.pair_area.keys()), np.int64)  # [m, 2]
    tpa = np.fromiter(state.pair_area.values(), np.float64, len(state.pair_area))  # [m]
    gsize = np.array([state.gt_area[g] for g in keys[:, 0].tolist()], np.float64)  # [m]
    psize = np.array([state.pred_area[p] for p in keys[:, 1].tolist()], np.float64)  # [m]
    return float(np.sum(tpa * tpa / (gsize + psize - tpa) / gsize))


class STQAccumulator:
    """Streaming STQ: call :meth:`update` per frame (frames of different sequences may interleave)."""

    def __init__(self, meta: DatasetMeta) -> None:
        self.meta = meta
        self._thing_ids = np.array(meta.thing_ids, np.int64)
        self._sequences: dict[str, _SequenceState] = {}

    def update(self, gt_panoptic: np.ndarray, pred_panoptic: np.ndarray, sequence_id: object = 0) -> None:
        """Add one frame (``int [H, W]`` panoptic maps, ``semantic * divisor + instance``)."""
        self.update_pairs(FramePairs.from_maps(gt_panoptic, pred_panoptic), sequence_id)

    def _semantic(self, ids: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
        """``(confusion index, is_thing)`` per id: the class id, or ``C`` for the ignore label."""
        sem = semantic_of(ids, self.meta, what)
        index = np.where(sem == self.meta.ignore_label, self.meta.num_classes, sem)
        return index, np.isin(sem, self._thing_ids)

    def update_pairs(self, pairs: FramePairs, sequence_id: object = 0) -> None:
        """Add one frame given as its pair table (lets :class:`vps.eval.Evaluator` share the work)."""
        key = str(sequence_id)
        c = self.meta.num_classes
        state = self._sequences.get(key)
        if state is None:
            state = self._sequences[key] = _SequenceState(np.zeros((c + 1, c + 1), np.int64))
        state.num_frames += 1
        g_index, g_thing = self._semantic(pairs.gt_ids, "ground truth")
        p_index, p_thing = self._semantic(pairs.pred_ids, "prediction")
        h = pairs.counts  # [n_gt, n_pred]
        # Confusion matrix: one-hot of each id's confusion index, [n, C+1]; conf = G^T H P.
        g_onehot = np.eye(c + 1, dtype=np.int64)[g_index]  # [n_gt, C+1]
        p_onehot = np.eye(c + 1, dtype=np.int64)[p_index]  # [n_pred, C+1]
        state.confusion += g_onehot.T @ h @ p_onehot
        # Association: tracks (thing, instance != 0) vs predicted thing ids, crowd removed.
        g_crowd = g_thing & (pairs.gt_ids % self.meta.label_divisor == 0)  # [n_gt]
        g_track = g_thing & ~g_crowd
        for gid, area in zip(pairs.gt_ids[g_track].tolist(), h[g_track].sum(axis=1).tolist(), strict=True):
            state.gt_area[gid] += area
        pred_area = h[~g_crowd][:, p_thing].sum(axis=0)  # [n_pred_thing]
        for pid, area in zip(pairs.pred_ids[p_thing].tolist(), pred_area.tolist(), strict=True):
            if area:
                state.pred_area[pid] += area
        inter = h[np.ix_(g_track, p_thing)]  # [n_track, n_pred_thing]
        gi, pj = np.nonzero(inter)
        tracks, preds = pairs.gt_ids[g_track], pairs.pred_ids[p_thing]
        triples = zip(tracks[gi].tolist(), preds[pj].tolist(), inter[gi, pj].tolist(), strict=True)
        for gid, pid, area in triples:
            state.pair_area[(gid, pid)] += area

    def result(self) -> STQResult:
        """STQ / AQ / SQ overall (AQ pooled over all tracks, SQ from the summed confusion) and per seq."""
        c = self.meta.num_classes
        total = np.zeros((c + 1, c + 1), np.int64)
        per_seq: dict[str, SequenceSTQ] = {}
        aq_sum, num_tracks = 0.0, 0
        for key, state in self._sequences.items():
            confusion = state.confusion.copy()
            confusion[c, :] = 0  # drop the ground-truth void row: predictions on void are not scored
            total += confusion
            seq_aq_sum = _association_sum(state)
            aq_sum += seq_aq_sum
            num_tracks += len(state.gt_area)
            aq = seq_aq_sum / len(state.gt_area) if state.gt_area else 0.0
            sq = _mean_iou(confusion)[0]
            per_seq[key] = SequenceSTQ(math.sqrt(aq * sq), aq, sq, state.num_frames, len(state.gt_area))
        aq = aq_sum / num_tracks if num_tracks else 0.0
        sq, ious, unions = _mean_iou(total)
        class_iou = {name: (float(ious[i]) if unions[i] > 0 else None)
                     for i, name in enumerate(self.meta.class_names)}
        return STQResult(math.sqrt(aq * sq), aq, sq, per_seq, class_iou, int(total[:c, c].sum()))
