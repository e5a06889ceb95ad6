"""Video K-Net's panoptic fusion: one frame's kernel scores and masks -> a panoptic map (NumPy, torch-free).

K-Net's panoptic inference (Zhang et al., NeurIPS 2021), on the host, with the thresholds of the
:class:`~vps.program.KernelPlan`:

1. **things**: a thing kernel's class is its argmax over the thing classes of the class space and its score
   that class's (sigmoid) probability. Kernels scoring below ``score_threshold`` are dropped; the rest are
   painted in order of decreasing score (ties: lower kernel index first). A kernel's mask is its pixels
   with probability above ``mask_threshold``; it is kept only if at least ``overlap_threshold`` of its mask
   is still free (not painted by a higher-scoring thing), and then paints only those free pixels.
2. **stuff**: every pixel no thing claims gets the class of the stuff kernel with the highest mask
   probability there. Unlike K-Net's score-filtered stuff masks (which leave pixels void), this covers every
   pixel, like a semantic head's argmax; the choice is the runtime's, recorded here.

Stuff kernel scores are not used (a stuff kernel's class is fixed by its position: ``stuff_classes``).
The result carries the kept things' kernel indices in paint order; their pixels hold slot ``1 + i`` for
the ``i``-th kept thing, which association (:mod:`vps.runtime.knet_tracks`) turns into track ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from vps.program import KernelPlan


@dataclass(frozen=True)
class Fusion:
    """One frame's fused panoptic layout (mask resolution ``h x w``)."""

    semantic: np.ndarray  # int32 [h, w]: class of every pixel
    slots: np.ndarray  # int32 [h, w]: 1 + index into ``kept`` on thing pixels, 0 elsewhere
    kept: np.ndarray  # int64 [n]: thing kernel indices in paint order (decreasing score)
    classes: np.ndarray  # int64 [n]: their thing class
    scores: np.ndarray  # float32 [n]: their class score

    def panoptic(self, ids: np.ndarray, label_divisor: int = 1000) -> np.ndarray:
        """``int32 [h, w]`` ``class * label_divisor + id``, with ``ids[i]`` (int, [n]) the instance id of
        kept thing ``i`` (stuff pixels: instance 0)."""
        ids = np.asarray(ids, np.int64)
        if ids.shape != self.kept.shape:
            raise ValueError(f"need one id per kept thing ({self.kept.shape[0]}), got shape {ids.shape}")
        inst = np.concatenate([[0], ids])[self.slots]
        return (self.semantic.astype(np.int64) * label_divisor + inst).astype(np.int32)


def thing_candidates(scores: np.ndarray, plan: KernelPlan,
                     thing_classes: Sequence[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Thing kernels above ``score_threshold`` by decreasing score: ``(kernel index, class, score)``, each
    ``[n]`` (int64, int64, float32), from ``scores float [K, C]``."""
    things = np.asarray(thing_classes, np.int64)
    per_class = np.asarray(scores, np.float32)[:plan.num_things][:, things]  # [N, T]
    best = per_class.argmax(1)  # [N]
    score = per_class[np.arange(plan.num_things), best]
    order = np.argsort(-score, kind="stable")
    order = order[score[order] >= plan.score_threshold]
    return order.astype(np.int64), things[best[order]], score[order]


def fuse(scores: np.ndarray, masks: np.ndarray, plan: KernelPlan, thing_classes: Sequence[int]) -> Fusion:
    """The panoptic fusion (module docstring) of one frame: ``scores float [K, C]``, ``masks float [K, h, w]``
    (sigmoid probabilities, things first, then one stuff kernel per ``plan.stuff_classes``)."""
    masks = np.asarray(masks, np.float32)
    K = plan.num_kernels
    if masks.ndim != 3 or masks.shape[0] != K or np.shape(scores)[0] != K:
        raise ValueError(f"need scores [K, C] and masks [K, h, w] with K = {K}, got {np.shape(scores)} and "
                         f"{masks.shape}")
    order, classes, kscores = thing_candidates(scores, plan, thing_classes)
    slots = np.zeros(masks.shape[1:], np.int32)  # [h, w]
    kept: list[int] = []
    for k in order:
        mask = masks[k] > plan.mask_threshold
        area = int(mask.sum())
        if area == 0:
            continue
        free = mask & (slots == 0)
        if int(free.sum()) < plan.overlap_threshold * area:
            continue
        kept.append(int(k))
        slots[free] = len(kept)
    keep = np.isin(order, np.asarray(kept, np.int64))
    stuff = np.asarray(plan.stuff_classes, np.int32)[masks[plan.num_things:].argmax(0)]  # [h, w]
    kept_classes = classes[keep]
    semantic = np.where(slots > 0, np.concatenate([[0], kept_classes]).astype(np.int32)[slots], stuff)
    return Fusion(semantic=semantic.astype(np.int32), slots=slots, kept=np.asarray(kept, np.int64),
                  classes=kept_classes, scores=kscores[keep])
