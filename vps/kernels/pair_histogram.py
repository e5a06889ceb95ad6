"""Pair histogram of two id maps (placeholder reference; the kernels issue adds the Triton path)."""

from __future__ import annotations

import numpy as np


def pair_histogram(a_ids: np.ndarray, b_ids: np.ndarray, num_a: int | None = None,
                   num_b: int | None = None) -> np.ndarray:
    """Counts ``[num_a, num_b]`` int64 of (a, b) id pairs over all pixels of two same-shape id maps."""
    a = np.asarray(a_ids).ravel().astype(np.int64)
    b = np.asarray(b_ids).ravel().astype(np.int64)
    num_a = int(a.max(initial=-1)) + 1 if num_a is None else num_a
    num_b = int(b.max(initial=-1)) + 1 if num_b is None else num_b
    return np.bincount(a * num_b + b, minlength=num_a * num_b).reshape(num_a, num_b)
