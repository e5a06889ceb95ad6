"""The native assignment solver gives scipy's pairs, ties included (the tracker's ids depend on them)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment


def _cases() -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    cases = []
    for _ in range(300):
        nr, nc = (int(v) for v in rng.integers(1, 9, 2))
        kind = rng.integers(0, 4)
        if kind == 0:
            c = rng.random((nr, nc))
        elif kind == 1:
            c = rng.integers(0, 3, (nr, nc)).astype(float)  # many ties
        elif kind == 2:
            c = np.where(rng.random((nr, nc)) < 0.7, 0.0, rng.random((nr, nc)))  # tracker-like: mostly 0
            c += 1e-6 * (rng.random((nr, nc)) < 0.2)
        else:
            c = np.full((nr, nc), float(rng.integers(0, 2)))  # everything tied
        cases.append(c)
    cases += [np.zeros((1, 1)), np.zeros((0, 3)), np.zeros((4, 0)), np.eye(30), np.ones((25, 40)),
              np.random.default_rng(1).random((60, 45))]
    return cases


CASES = _cases()


@pytest.mark.parametrize("maximize", [False, True])
def test_same_pairs_as_scipy(vn, maximize):
    for k, cost in enumerate(CASES):
        r_ref, c_ref = linear_sum_assignment(cost, maximize=maximize)
        r, c = vn.linear_sum_assignment(np.ascontiguousarray(cost), maximize)
        assert np.array_equal(r, r_ref) and np.array_equal(c, c_ref), (k, cost.shape)


def test_refuses_non_finite(vn):
    with pytest.raises(ValueError, match="finite"):
        vn.linear_sum_assignment(np.array([[0.0, np.nan]]), False)
