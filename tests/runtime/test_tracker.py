"""Track table: stable ids, id-switch repair, jumps, lost-track revival, representation of the output."""

from __future__ import annotations

import numpy as np
import pytest

from vps.data.codecs import encode_kitti_panoptic
from vps.data.meta import KITTI_STEP
from vps.runtime.tracker import TRACK_LABEL_DIVISOR, TrackedFrame, TrackerConfig, TrackTable

CAR, PERSON, ROAD = 13, 11, 0
Box = tuple[int, int, int, int]  # y0, x0, h, w


def _pan(objects: list[tuple[int, int, Box]], shape: tuple[int, int] = (24, 32)) -> np.ndarray:
    """Road everywhere, then (class, model id, (y0, x0, h, w)) rectangles painted in order."""
    pan = np.full(shape, ROAD * 1000, np.int32)
    for cls, mid, (y0, x0, h, w) in objects:
        pan[y0:y0 + h, x0:x0 + w] = cls * 1000 + mid
    return pan


def _id_at(out: TrackedFrame, y: int, x: int) -> int:
    return int(out.track_ids[y, x])


def test_ids_stable_when_masks_move_a_little() -> None:
    table = TrackTable(KITTI_STEP)
    first = table.update(_pan([(CAR, 5, (2, 2, 6, 6)), (PERSON, 9, (12, 20, 8, 4))]))
    car, person = _id_at(first, 4, 4), _id_at(first, 15, 21)
    assert {car, person} == {1, 2}
    for step in range(1, 12):
        out = table.update(_pan([(CAR, 5, (2, 2 + step, 6, 6)), (PERSON, 9, (12 - step // 3, 20, 8, 4))]))
        assert _id_at(out, 4, 4 + step) == car and _id_at(out, 14 - step // 3, 21) == person
        assert [t.id for t in out.tracks] == sorted([car, person])
    assert table.state.next_id == 3


def test_model_id_switch_is_repaired() -> None:
    table = TrackTable(KITTI_STEP)
    a = table.update(_pan([(CAR, 1, (2, 2, 6, 6)), (CAR, 2, (2, 20, 6, 6))]))
    left, right = _id_at(a, 3, 3), _id_at(a, 3, 21)
    swapped = table.update(_pan([(CAR, 2, (2, 3, 6, 6)), (CAR, 1, (2, 21, 6, 6))]))  # model swapped ids
    assert (_id_at(swapped, 3, 4), _id_at(swapped, 3, 22)) == (left, right)
    renamed = table.update(_pan([(CAR, 77, (2, 4, 6, 6)), (CAR, 200, (2, 22, 6, 6))]))  # fresh model ids
    assert (_id_at(renamed, 3, 5), _id_at(renamed, 3, 23)) == (left, right)


def test_model_id_that_jumps_elsewhere_is_a_new_track() -> None:
    table = TrackTable(KITTI_STEP)
    a = table.update(_pan([(CAR, 3, (2, 2, 6, 6))]))
    b = table.update(_pan([(CAR, 3, (14, 22, 6, 6))]))  # same 8-bit id, no overlap
    assert _id_at(b, 15, 23) not in (0, _id_at(a, 3, 3))
    assert [t.id for t in b.lost] == [_id_at(a, 3, 3)]


def test_class_change_is_a_new_track() -> None:
    table = TrackTable(KITTI_STEP)
    a = table.update(_pan([(CAR, 3, (2, 2, 6, 6))]))
    b = table.update(_pan([(PERSON, 3, (2, 2, 6, 6))]))
    assert _id_at(b, 3, 3) != _id_at(a, 3, 3)


@pytest.mark.parametrize("gap, revived", [(1, True), (3, True), (4, False)])
def test_lost_track_revived_within_max_lost_only(gap: int, revived: bool) -> None:
    table = TrackTable(KITTI_STEP, TrackerConfig(max_lost=3))
    car = _id_at(table.update(_pan([(CAR, 4, (2, 2, 8, 8))])), 5, 5)
    for k in range(gap):  # absent for `gap` frames
        out = table.update(_pan([]))
        assert [(t.id, t.frames_since_seen) for t in out.lost] == ([(car, k + 1)] if k < 3 else [])
    back = table.update(_pan([(CAR, 250, (3, 3, 8, 8))]))  # reappears nearby with another model id
    assert (_id_at(back, 5, 5) == car) is revived
    if revived:
        track = back.tracks[0]
        assert track.frames_since_seen == 0 and track.age == gap + 2 and not back.lost


def test_ids_never_reused_across_reset_and_stuff_has_no_track() -> None:
    table = TrackTable(KITTI_STEP, TrackerConfig(min_area=4))
    objs = [(CAR, 1, (2, 2, 6, 6)), (PERSON, 0, (12, 2, 4, 4)), (CAR, 2, (20, 30, 1, 2)),
            (2, 5, (12, 20, 4, 4))]
    out = table.update(_pan(objs))
    assert np.unique(out.track_ids).tolist() == [0, 1]  # crowd (id 0), tiny fragment, stuff: no track
    np.testing.assert_array_equal(out.semantic, _pan(objs) // 1000)
    table.reset()
    again = table.update(_pan(objs))
    assert _id_at(again, 3, 3) == 2 and again.frame_index == 0 and again.sequence_first_id == 2


def test_track_records_and_panoptic_representations() -> None:
    table = TrackTable(KITTI_STEP)
    table.state.next_id = 5000  # as if many tracks came before
    table.reset()
    out = table.update(_pan([(CAR, 1, (2, 3, 4, 5)), (PERSON, 2, (10, 10, 3, 3))]))
    person, car = out.tracks  # new ids in (class, model id) order
    assert (car.id, car.class_id, car.area, car.box, car.age, car.frames_since_seen) == (
        5001, CAR, 20, (3, 2, 8, 6), 1, 0)
    assert (person.id, person.class_id, person.box) == (5000, PERSON, (10, 10, 13, 13))
    pan64 = out.panoptic()
    assert pan64.dtype == np.int64 and pan64[2, 3] == CAR * TRACK_LABEL_DIVISOR + 5001
    assert pan64[0, 0] == ROAD * TRACK_LABEL_DIVISOR
    np.testing.assert_array_equal(pan64 // TRACK_LABEL_DIVISOR, out.semantic)
    kitti = out.panoptic(1000)  # sequence-local ids 1, 2 in KITTI-STEP's in-memory form
    assert kitti.dtype == np.int32 and kitti[2, 3] == CAR * 1000 + 2 and kitti[10, 10] == PERSON * 1000 + 1
    assert encode_kitti_panoptic(out.panoptic(65536), 65536)[2, 3].tolist() == [CAR, 0, 2]
    table.state.next_id = 5000 + 999  # the 1000th track of the sequence wraps to file id 1
    wrapped = table.update(_pan([(CAR, 1, (2, 3, 4, 5)), (PERSON, 9, (16, 20, 3, 3))]))
    assert wrapped.panoptic(1000)[16, 20] == PERSON * 1000 + 1


def test_bad_input_rejected() -> None:
    table = TrackTable(KITTI_STEP)
    with pytest.raises(ValueError, match="integer"):
        table.update(np.zeros((4, 4), np.float32))
    with pytest.raises(ValueError, match="integer"):
        table.update(np.zeros((2, 4, 4), np.int32))
    with pytest.raises(ValueError, match=">= 0"):
        table.update(np.full((4, 4), -1, np.int32))
    table.update(np.zeros((4, 4), np.int32))
    with pytest.raises(ValueError, match="reset"):
        table.update(np.zeros((5, 4), np.int32))
    with pytest.raises(ValueError, match="iou_threshold"):
        TrackerConfig(iou_threshold=0.0)


def test_one_to_one_assignment_with_low_threshold() -> None:
    # one wide previous car split in two by the model: both halves pass IoU 0.3, only one may inherit
    table = TrackTable(KITTI_STEP, TrackerConfig(iou_threshold=0.3))
    car = _id_at(table.update(_pan([(CAR, 1, (2, 2, 6, 12))])), 3, 3)
    out = table.update(_pan([(CAR, 1, (2, 2, 6, 5)), (CAR, 2, (2, 7, 6, 7))]))
    assert _id_at(out, 3, 8) == car and _id_at(out, 3, 3) not in (0, car)  # larger half has the higher IoU


@pytest.mark.parametrize("continue_iou, kept", [(None, False), (0.0, True), (0.05, True), (0.2, False)])
def test_id_continuation_keeps_a_low_iou_track_whose_model_id_continues(continue_iou: float | None,
                                                                       kept: bool) -> None:
    config = TrackerConfig(iou_threshold=0.5, continue_iou=continue_iou)
    table = TrackTable(KITTI_STEP, config)
    a = table.update(_pan([(CAR, 3, (2, 2, 6, 6))]))
    b = table.update(_pan([(CAR, 3, (2, 7, 6, 6))]))  # moved 5 px: IoU 6/66 ~ 0.09, same model id
    assert (_id_at(b, 3, 10) == _id_at(a, 3, 3)) is kept


def test_id_continuation_never_takes_a_track_another_instance_matched() -> None:
    table = TrackTable(KITTI_STEP, TrackerConfig(iou_threshold=0.5, continue_iou=0.0))
    a = table.update(_pan([(CAR, 3, (2, 2, 6, 6))]))
    b = table.update(_pan([(CAR, 8, (2, 2, 6, 6)), (CAR, 3, (14, 22, 6, 6))]))  # id 8 took the mask
    assert _id_at(b, 3, 3) == _id_at(a, 3, 3)
    assert _id_at(b, 15, 23) not in (0, _id_at(a, 3, 3))
    with pytest.raises(ValueError, match="continue_iou"):
        TrackerConfig(iou_threshold=0.1, continue_iou=0.3)
