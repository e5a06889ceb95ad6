"""STQ known answers: deeplab2's published test cases (numbers are facts) plus hand-derived void cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vps.data.meta import ClassInfo, DatasetMeta
from vps.eval import STQAccumulator

D = 1000  # label divisor

# deeplab2 test_basic_examples: classes (car = thing, sky = stuff).
CAR_SKY = DatasetMeta("car_sky", (ClassInfo(0, "car", True, (0, 0, 142)),
                                  ClassInfo(1, "sky", False, (70, 130, 180))))
# deeplab2 test_complex_example: classes (sky, vegetation, car = thing).
SKY_VEG_CAR = DatasetMeta("sky_veg_car", (ClassInfo(0, "sky", False, (0, 0, 0)),
                                          ClassInfo(1, "vegetation", False, (0, 0, 0)),
                                          ClassInfo(2, "car", True, (0, 0, 0))))

BASIC = [  # (ground truth row, predicted row, (STQ, AQ, IoU)); `D + x` = sky, otherwise car track x
    ("ex0", [1, 1, 1, 1, 1], [1, 1, 1, 1, 1], (1.0, 1.0, 1.0)),
    ("ex1", [1, 1, 1, 1, 1], [1, 1, 2, 2, 2], (0.72111026, 0.52, 1.0)),
    ("ex2", [1, 1, 1, 1, 1], [1, 2, 2, 2, 2], (0.82462113, 0.68, 1.0)),
    ("ex3", [1, 1, 1, 1, 1], [1, 2, 3, 4, 5], (0.447213596, 0.2, 1.0)),
    ("ex4", [1, 1, 1, 1, 1], [1, 2, 1, 2, 2], (0.72111026, 0.52, 1.0)),
    ("ex5", [1, 1, 1, 1, 1], [D, 1, 1, 1, 1], (0.50596443, 0.64, 0.4)),
    ("ex6-crowd", [0, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1], (1.0, 1.0, 1.0)),
    ("ex7-crowd", [0, 1, 1, 1, 1, 1], [2, 2, 2, 2, 1, 1], (0.72111026, 0.52, 1.0)),
    ("ex8-crowd", [0, 1, 1, 1, 1, 1], [2, 2, D, 1, 1, 1], (0.40824829, 0.4, 5.0 / 12.0)),
    ("ex9", [D, 1, 1, 1, 1], [1, 1, 1, 1, 1], (0.56568542, 0.8, 0.4)),
    ("ex10", [D, 1, 1, 1, 1], [2, 2, 2, 1, 1], (0.42426407, 0.45, 0.4)),
    ("ex11", [D, 1, 1, 1, 1], [2, 2, D, 1, 1], (0.3, 0.3, 0.3)),
]


def _check(acc: STQAccumulator, expected: tuple[float, float, float], seq: str = "1") -> None:
    r = acc.result()
    np.testing.assert_allclose([r.stq, r.aq, r.sq], expected, atol=1e-7)
    s = r.per_sequence[seq]
    np.testing.assert_allclose([s.stq, s.aq, s.sq], expected, atol=1e-7)


@pytest.mark.parametrize(("gt", "pred", "expected"), [c[1:] for c in BASIC], ids=[c[0] for c in BASIC])
def test_deeplab2_basic_examples(gt: list[int], pred: list[int], expected: tuple[float, ...]) -> None:
    acc = STQAccumulator(CAR_SKY)
    acc.update(np.array([gt]), np.array([pred]), 1)
    _check(acc, expected)
    assert acc.result().per_sequence["1"].num_frames == 1


def _grid(*rows: str) -> np.ndarray:
    return np.array([[int(ch) for ch in row] for row in rows], np.int64)


GT_SEM = [
    _grid("00000000", "00000000", "00020111", "02222111", "22222211", "22222221", "22222221", "22222211"),
    _grid("00000000", "00000000", "02001100", "22211110", "22221111", "22222111", "22222111", "22221111"),
    _grid("00000000", "00000000", "00000000", "20111000", "22111100", "22211110", "22211111", "22211111"),
]
GT_INST = [
    _grid("00000000", "00000000", "00020000", "02222000", "22222200", "22222220", "22222220", "22222200"),
    _grid("00000000", "00000000", "02000000", "22200000", "22220000", "22222000", "22222000", "22220000"),
    _grid("00000000", "00000000", "00000000", "20000000", "22000000", "22200000", "22200000", "22200000"),
]
PRED_SEM = [
    _grid("00000000", "00000000", "00000100", "00022111", "02222211", "22222221", "22222221", "22222221"),
    _grid("00000000", "00000000", "00001100", "02221111", "22221111", "22222111", "22222211", "22222111"),
    _grid("00000000", "00000000", "00001000", "00111100", "22211100", "22211111", "22221111", "22221111"),
]
PRED_INST = [
    _grid("00000000", "00000000", "00000000", "00022000", "02222100", "22222110", "22221110", "22221110"),
    _grid("00000000", "00000000", "00000000", "02220000", "22220000", "22222000", "22221100", "22221000"),
    _grid("00000000", "00000000", "00000000", "00000000", "22200000", "22200000", "22220000", "22220000"),
]


def test_deeplab2_complex_example_three_frames() -> None:
    acc = STQAccumulator(SKY_VEG_CAR)
    for gs, gi, ps, pi in zip(GT_SEM, GT_INST, PRED_SEM, PRED_INST, strict=True):
        acc.update(gs * D + gi, ps * D + pi, 1)
    _check(acc, (0.66841773352, 0.55366581415, 0.8069529580309542))
    assert acc.result().per_sequence["1"].num_frames == 3


def test_void_prediction_on_labelled_pixel_counts_void_column_as_a_class() -> None:
    # gt:   car1 car1 sky sky void      pred: car1 void sky sky sky
    # Confusion without the gt-void row: car I=1 U=2, sky I=2 U=2, void column I=0 U=1 -> SQ = 1.5 / 3.
    # AQ: track |g| = 2, pred car1 area 1, TPA 1, IoU 1/2 -> AQ = 1/2 * (1 * 1/2) = 0.25.
    acc = STQAccumulator(CAR_SKY)
    void = 255 * D
    acc.update(np.array([[1, 1, D, D, void]]), np.array([[1, void, D, D, D]]), "s")
    r = acc.result()
    assert r.sq == pytest.approx(0.5)
    assert r.aq == pytest.approx(0.25)
    assert r.stq == pytest.approx(math.sqrt(0.125))
    assert r.void_prediction_pixels == 1
    assert r.class_iou == {"car": pytest.approx(0.5), "sky": pytest.approx(1.0)}


def test_predictions_on_void_are_free_for_sq_but_count_in_predicted_track_area() -> None:
    # gt: car1 car1 void; pred: car1 car1 car1. SQ = 1 (void row dropped, void column empty).
    # AQ: pred area 3 (deeplab2 counts thing predictions on void), TPA 2 -> IoU 2/3, AQ = 2/3.
    acc = STQAccumulator(CAR_SKY)
    acc.update(np.array([[1, 1, 255 * D]]), np.array([[1, 1, 1]]), 0)
    r = acc.result()
    assert r.sq == pytest.approx(1.0)
    assert r.aq == pytest.approx(2.0 / 3.0)


def test_track_identity_is_class_dependent() -> None:
    # Same instance id 1 under two thing classes = two different tracks.
    meta = DatasetMeta("two_things", (ClassInfo(0, "car", True, (0, 0, 0)),
                                      ClassInfo(1, "person", True, (0, 0, 0))))
    gt = np.array([[1, 1, D + 1, D + 1]])  # car 1 and person 1
    exact = STQAccumulator(meta)
    exact.update(gt, gt, 0)
    assert exact.result().aq == pytest.approx(1.0)
    merged = STQAccumulator(meta)
    merged.update(gt, np.array([[1, 1, 1, 1]]), 0)  # one predicted car 1 over both
    r = merged.result()
    # Each track: TPA 2 with the 4-pixel prediction, IoU 1/2 -> 1/2 * 2 * 1/2 = 1/2 (association itself is
    # class-agnostic among things). With class-free ids it would be one 4-pixel track and AQ 1.
    assert r.per_sequence["0"].num_tracks == 2
    assert r.aq == pytest.approx(0.5)


def test_aq_pools_tracks_over_sequences_and_sq_uses_summed_confusion() -> None:
    acc = STQAccumulator(CAR_SKY)
    acc.update(np.array([[1, 1, 1, 1, 1]]), np.array([[1, 1, 2, 2, 2]]), "a")  # AQ 0.52, one track
    acc.update(np.array([[1, 1, 2, 2, D]]), np.array([[1, 1, 2, 2, D]]), "b")  # AQ 1.0, two tracks
    r = acc.result()
    assert r.per_sequence["a"].aq == pytest.approx(0.52)
    assert r.per_sequence["b"].aq == pytest.approx(1.0)
    assert r.aq == pytest.approx((0.52 + 2.0) / 3.0)  # pooled over the 3 tracks, not a mean of sequences
    assert r.sq == pytest.approx(1.0)
    assert list(r.per_sequence) == ["a", "b"]


def test_sequence_without_tracks_has_zero_aq() -> None:
    acc = STQAccumulator(CAR_SKY)
    acc.update(np.array([[D, D]]), np.array([[D, D]]), 0)
    r = acc.result()
    assert (r.aq, r.sq, r.stq) == (0.0, 1.0, 0.0)
    assert r.to_dict()["per_sequence"]["0"]["tracks"] == 0


def test_unknown_semantic_id_is_rejected() -> None:
    acc = STQAccumulator(CAR_SKY)
    with pytest.raises(ValueError, match="prediction: semantic ids \\[7\\]"):
        acc.update(np.array([[1]]), np.array([[7 * D]]), 0)
