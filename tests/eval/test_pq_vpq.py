"""PQ / VPQ known answers: deeplab2's published PQ case, its frame-concatenation form, hand-derived cases."""

from __future__ import annotations

import numpy as np
import pytest

from vps.data.meta import ClassInfo, DatasetMeta
from vps.eval import Evaluator, VPQAccumulator
from vps.eval.ids import FramePairs
from vps.eval.pq import pq_stats, summarize

D = 1000
CAR_SKY = DatasetMeta("car_sky", (ClassInfo(0, "car", True, (0, 0, 0)),
                                  ClassInfo(1, "sky", False, (0, 0, 0))))
# deeplab2 panoptic_quality_test.test_predicted_non_contiguous_ignore_label: 3 classes, ignore 9, divisor 256.
NON_CONTIGUOUS = DatasetMeta("nc", tuple(ClassInfo(i, f"c{i}", i == 1, (0, 0, 0)) for i in range(3)),
                             ignore_label=9, label_divisor=256)
NC_GT = np.array([[0, 9, 9], [1, 2, 2], [1, 9, 9]]) * 256 + np.array([[0, 2, 2], [1, 0, 0], [1, 0, 0]])
NC_PRED = np.array([[0, 0, 9], [1, 1, 1], [1, 9, 9]]) * 256 + np.array([[0, 0, 0], [0, 1, 1], [0, 1, 1]])


def test_deeplab2_pq_non_contiguous_ignore_label() -> None:
    s = summarize(pq_stats(FramePairs.from_maps(NC_GT, NC_PRED).sparse(), NON_CONTIGUOUS), NON_CONTIGUOUS)
    assert (s.pq, s.sq, s.rq) == pytest.approx((2.0 / 9, 1.0 / 3, 2.0 / 9), abs=1e-6)
    tp = [r["TP"] for r in s.per_class.values()]
    fn = [r["FN"] for r in s.per_class.values()]
    fp = [r["FP"] for r in s.per_class.values()]
    # deeplab2 reports the class means of TP, FN, FP: 1/3, 2/3, 2/3.
    assert (np.mean(tp), np.mean(fn), np.mean(fp)) == pytest.approx((1 / 3, 2 / 3, 2 / 3))


def test_vpq_window_equals_pq_of_the_frames_concatenated_side_by_side() -> None:
    # deeplab2's VPQ concatenates the k frames along the width: split the published case into two frames.
    acc = VPQAccumulator(NON_CONTIGUOUS, windows=(2,))
    acc.update(NC_GT[:, :1], NC_PRED[:, :1], "s")
    acc.update(NC_GT[:, 1:], NC_PRED[:, 1:], "s")
    r = acc.result()
    assert r.num_windows == {2: 1}
    assert r.vpq == pytest.approx(2.0 / 9, abs=1e-6)
    assert r.per_window[2].sq == pytest.approx(1.0 / 3, abs=1e-6)


def test_id_switch_breaks_the_tube_but_not_image_pq() -> None:
    gt = np.array([[1, 1, D, D]])
    acc = VPQAccumulator(CAR_SKY, windows=(1, 2, 3))
    acc.update(gt, np.array([[1, 1, D, D]]), 0)
    acc.update(gt, np.array([[2, 2, D, D]]), 0)  # the car's predicted id switches
    r = acc.result()
    assert r.pq.pq == pytest.approx(1.0)
    assert r.per_window[1].pq == pytest.approx(1.0)
    # k = 2: gt tube car1 (4 px) vs car1 (2 px), car2 (2 px): IoU 0.5 is not > 0.5 -> car FN 1, FP 2, PQ 0.
    w2 = r.per_window[2]
    assert w2.per_class["car"] == {"PQ": 0.0, "SQ": 0.0, "RQ": 0.0, "TP": 0, "FN": 1, "FP": 2,
                                   "is_thing": True}
    assert (w2.pq, w2.pq_things, w2.pq_stuff) == pytest.approx((0.5, 0.0, 1.0))
    assert r.num_windows == {1: 2, 2: 1, 3: 0}  # a 2-frame sequence has no 3-frame window
    assert r.per_window[3].pq == 0.0 and r.per_window[3].num_valid_classes == 0
    assert r.vpq == pytest.approx((1.0 + 0.5) / 2)  # k = 3 has no window and is left out of the mean


def test_void_is_left_out_of_the_union_and_mostly_void_predictions_are_not_false_positives() -> None:
    void = 255 * D
    gt = np.array([[D, D, D, void, void]])
    pred = np.array([[D, D, D, D, 7]])  # sky spills onto void; a car segment lies wholly on void
    s = summarize(pq_stats(FramePairs.from_maps(gt, pred).sparse(), CAR_SKY), CAR_SKY)
    assert s.per_class == {"sky": {"PQ": 1.0, "SQ": 1.0, "RQ": 1.0, "TP": 1, "FN": 0, "FP": 0,
                                   "is_thing": False}}
    assert s.pq == 1.0


def test_crowd_is_an_ordinary_segment_for_pq() -> None:
    # deeplab2's PQ has no crowd rule: gt car instance 0 matched by predicted car instance 0 is a TP.
    gt = np.array([[0, 0, 0, D]])
    s = summarize(pq_stats(FramePairs.from_maps(gt, gt).sparse(), CAR_SKY), CAR_SKY)
    assert s.per_class["car"]["TP"] == 1 and s.pq == 1.0


def test_window_history_is_bounded_and_sequences_are_independent() -> None:
    acc = VPQAccumulator(CAR_SKY, windows=(1, 3))
    gt = np.array([[1, D]])
    for _ in range(20):
        acc.update(gt, gt, "a")
    acc.update(gt, gt, "b")
    assert len(acc._recent["a"]) == 3  # only the last max(k) frames are kept
    r = acc.result()
    assert r.num_windows == {1: 21, 3: 18}
    assert r.vpq == pytest.approx(1.0)


def test_evaluator_combines_both_and_serialises() -> None:
    ev = Evaluator(CAR_SKY, vpq_windows=(2, 1))
    gt = np.array([[1, 1, D, D]])
    for _ in range(3):
        ev.update(gt, gt, 4)
    d = ev.result().to_dict()
    assert d["STQ"] == d["AQ"] == d["SQ"] == d["VPQ"] == d["PQ"] == pytest.approx(1.0)
    assert set(d["VPQ_k"]) == {"1", "2"} and d["VPQ_k"]["2"]["windows"] == 2
    assert d["per_sequence"]["4"]["frames"] == 3


@pytest.mark.parametrize("windows", [(), (0, 1), (-2,)])
def test_bad_windows_are_rejected(windows: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match="window"):
        VPQAccumulator(CAR_SKY, windows)
