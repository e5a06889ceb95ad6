"""Id compaction and pair tables against straightforward np.unique counting."""

from __future__ import annotations

import numpy as np
import pytest

from vps.eval.ids import FramePairs, SparsePairs, compact_ids


def test_compact_ids_round_trips_in_ascending_order() -> None:
    rng = np.random.default_rng(0)
    pan = rng.choice(np.array([13_002, 0, 255_000, 11_001, 10_000], np.int32), size=(7, 9))
    compact, ids, areas = compact_ids(pan)
    uniq, counts = np.unique(pan, return_counts=True)
    np.testing.assert_array_equal(ids, uniq)
    np.testing.assert_array_equal(areas, counts)
    np.testing.assert_array_equal(ids[compact], pan)
    assert compact.dtype == np.int32 and compact.max() == ids.size - 1


def test_compact_ids_handles_huge_ids_without_a_huge_table() -> None:
    pan = np.array([[5, 1 << 40], [5, 3]], np.int64)
    compact, ids, areas = compact_ids(pan)
    np.testing.assert_array_equal(ids, [3, 5, 1 << 40])
    np.testing.assert_array_equal(areas, [1, 2, 1])
    np.testing.assert_array_equal(ids[compact], pan)


def test_compact_ids_rejects_negative_and_float_ids() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        compact_ids(np.array([[1, -1]]))
    with pytest.raises(ValueError, match="integers"):
        compact_ids(np.array([[1.0]]))


def test_frame_pairs_count_every_id_pair() -> None:
    rng = np.random.default_rng(1)
    gt = rng.choice([0, 13_001, 13_002, 255_000], size=(6, 5))
    pred = rng.choice([10_000, 13_001, 13_007], size=(6, 5))
    fp = FramePairs.from_maps(gt, pred)
    for i, g in enumerate(fp.gt_ids):
        for j, p in enumerate(fp.pred_ids):
            assert fp.counts[i, j] == np.sum((gt == g) & (pred == p))
    sparse = fp.sparse()
    assert sparse.count.sum() == gt.size and (sparse.count > 0).all()


def test_shape_mismatch_is_an_error() -> None:
    with pytest.raises(ValueError, match="differ in shape"):
        FramePairs.from_maps(np.zeros((2, 3), int), np.zeros((3, 2), int))


def test_sparse_pairs_concatenate_merges_equal_pairs() -> None:
    a = SparsePairs(np.array([1, 2]), np.array([5, 5]), np.array([3, 4]))
    b = SparsePairs(np.array([2, 7]), np.array([5, 0]), np.array([1, 9]))
    s = SparsePairs.concatenate([a, b])
    got = {(int(g), int(p)): int(c) for g, p, c in zip(s.gt, s.pred, s.count, strict=True)}
    assert got == {(1, 5): 3, (2, 5): 5, (7, 0): 9}


def test_sparse_pairs_concatenate_with_huge_ids() -> None:
    big = 1 << 40
    a = SparsePairs(np.array([big, 2]), np.array([big, 5]), np.array([3, 4]))
    s = SparsePairs.concatenate([a, a])
    got = {(int(g), int(p)): int(c) for g, p, c in zip(s.gt, s.pred, s.count, strict=True)}
    assert got == {(big, big): 6, (2, 5): 8}
