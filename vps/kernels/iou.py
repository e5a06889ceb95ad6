"""Intersection-over-union of every (a, b) segment pair from their pair histogram (tiny, no kernel)."""

from __future__ import annotations

from typing import Any

import numpy as np

from vps.kernels._dispatch import check_array, check_int, is_torch


def mask_iou(hist: Any, *, ignore_a: int | None = None, ignore_b: int | None = None) -> Any:
    """IoU ``[num_a, num_b]`` from the counts of :func:`vps.kernels.pair_histogram` (rows a, columns b).

    Areas are the row / column sums, ``iou = inter / (area_a + area_b - inter)``, 0 where the union is 0.
    ``ignore_a`` / ``ignore_b``: an a-row / b-column whose pixels are excluded before the areas are taken
    (e.g. ground-truth void: the predictions' pixels on void do not count against them); its IoUs are 0.
    Same as histogramming with ``pair_histogram(..., ignore_a=..., ignore_b=...)``. Slicing the result
    (e.g. ``[1:, 1:]`` to drop a "no segment" id 0) keeps the IoUs of the other pairs unchanged.
    Returns float64 for NumPy, float32 on the tensor's device for torch.
    """
    check_array(hist, "hist")
    if hist.ndim != 2:
        raise ValueError(f"hist must be a 2-D [num_a, num_b] count matrix, got shape {tuple(hist.shape)}")
    check_int(hist, "hist")
    for value, size, name in ((ignore_a, hist.shape[0], "ignore_a"), (ignore_b, hist.shape[1], "ignore_b")):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | np.integer)
                                  or not 0 <= value < size):
            raise ValueError(f"{name} must be None or an index in [0, {size}), got {value!r}")
    inter = hist.float() if is_torch(hist) else hist.astype(np.float64)  # [num_a, num_b]
    if ignore_a is not None or ignore_b is not None:
        inter = inter.clone() if is_torch(inter) else inter.copy()
        if ignore_a is not None:
            inter[ignore_a, :] = 0
        if ignore_b is not None:
            inter[:, ignore_b] = 0
    union = inter.sum(1)[:, None] + inter.sum(0)[None, :] - inter
    if is_torch(inter):
        return (inter / union.clamp_min(1)).masked_fill_(union <= 0, 0)
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
