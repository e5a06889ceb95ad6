"""1,000 frames through the native track table give exactly the Python table's ids, tracks and lost tracks."""

from __future__ import annotations

import numpy as np
import pytest

from tests.native.conftest import adversarial_panoptic
from vps.data.meta import KITTI_STEP
from vps.runtime import native
from vps.runtime.tracker import Track, TrackerConfig, TrackerState, TrackTable

H, W = 40, 96


class _Clip:
    """Boxes of classes 11/13 drifting over a road, with everything a model does to ids.

    Objects vanish and come back (lost-track revival), the model swaps, recycles and reuses 8-bit ids,
    twins of identical shape move together, objects split into halves of equal IoU (exact ties), fragments
    under ``min_area`` appear, and some frames are all void.
    """

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        r = self.rng
        self.objs = [self._spawn() for _ in range(int(r.integers(3, 9)))]

    def _spawn(self) -> dict:
        r = self.rng
        return {"cls": int(r.choice([11, 13])), "id": int(r.integers(1, 256)), "y": int(r.integers(0, H - 6)),
                "x": int(r.integers(0, W - 10)), "h": int(r.integers(2, 9)), "w": int(r.integers(2, 14)),
                "vx": int(r.integers(-3, 4)), "vy": int(r.integers(-1, 2)), "hidden": 0}

    def _move(self, o: dict) -> None:
        r = self.rng
        o["x"] = int(np.clip(o["x"] + o["vx"], 0, W - o["w"]))
        o["y"] = int(np.clip(o["y"] + o["vy"], 0, H - o["h"]))
        if r.random() < 0.05:
            o["hidden"] = int(r.integers(1, 14))  # sometimes longer than max_lost
        if r.random() < 0.04:
            o["id"] = int(r.integers(1, 256))  # the model switches / recycles an id
        if r.random() < 0.02:
            o["cls"] = 24 - o["cls"]  # re-classed 11 <-> 13

    def frame(self) -> np.ndarray:
        r = self.rng
        pan = np.zeros((H, W), np.int64)
        pan[: H // 4] = 10 * 1000  # sky (stuff)
        if r.random() < 0.02:
            return np.full((H, W), 255 * 1000, np.int32)  # void everywhere
        if r.random() < 0.1 and len(self.objs) < 12:
            self.objs.append(self._spawn())
        if r.random() < 0.05 and len(self.objs) > 1:
            self.objs.pop(int(r.integers(0, len(self.objs))))
        if r.random() < 0.03 and len(self.objs) > 1:
            a, b = r.choice(len(self.objs), 2, replace=False)
            self.objs[a]["id"], self.objs[b]["id"] = self.objs[b]["id"], self.objs[a]["id"]  # id swap
        for o in self.objs:
            self._move(o)
            if o["hidden"] > 0:
                o["hidden"] -= 1
                continue
            pan[o["y"]: o["y"] + o["h"], o["x"]: o["x"] + o["w"]] = o["cls"] * 1000 + o["id"]
            if r.random() < 0.05:  # split into two halves of equal IoU with the track: an exact tie
                half = o["w"] // 2
                o["id"] = o["id"] if r.random() < 0.5 else int(r.integers(1, 256))
                right = slice(o["x"] + half, o["x"] + o["w"])
                pan[o["y"]: o["y"] + o["h"], right] = o["cls"] * 1000 + o["id"] % 255 + 1
            if o["id"] % 7 == 0 and o["x"] + 2 * o["w"] + 1 <= W:  # a twin: same shape, same class -> ties
                pan[o["y"]: o["y"] + o["h"], o["x"] + o["w"] + 1: o["x"] + 2 * o["w"] + 1] = \
                    o["cls"] * 1000 + (o["id"] + 1) % 256
        for _ in range(int(r.integers(0, 4))):  # fragments, some under min_area
            y, x = int(r.integers(0, H - 1)), int(r.integers(0, W - 1))
            pan[y: y + int(r.integers(1, 3)), x: x + int(r.integers(1, 3))] = 13000 + int(r.integers(1, 256))
        return pan.astype(np.int32)


def _stream(seed: int, frames: int, config: TrackerConfig):
    native.set_mode("off")
    try:
        table = TrackTable(KITTI_STEP, config)
        clip = _Clip(seed)
        for f in range(frames):
            if f in (frames // 3, frames // 3 + 1):  # a reset: ids keep increasing
                table.reset()
            pan = clip.frame()
            yield f, pan, table.update(pan), table.num_retained
    finally:
        native.set_mode(None)


# the native table runs the rules without id continuation (issue 13's rule runs in the Python table)
NO_CONT = {"continue_iou": None}


@pytest.mark.parametrize(("seed", "config"), [(0, TrackerConfig(iou_threshold=0.1, **NO_CONT)),
                                              (1, TrackerConfig(**NO_CONT)),
                                              (2, TrackerConfig(iou_threshold=0.3, max_lost=0, min_area=1,
                                                                **NO_CONT))])
def test_thousand_frames_same_ids(vn, seed, config):
    things = np.asarray(KITTI_STEP.thing_ids, np.int32)
    nat = vn.Tracker(config.iou_threshold, config.max_lost, config.min_area, things, 1000)
    ids_seen = 0
    for f, pan, ref, retained in _stream(seed, 1000, config):
        if f in (1000 // 3, 1000 // 3 + 1):
            nat.reset()
        sem, ids = nat.update(pan)
        assert np.array_equal(ids, ref.track_ids), f"frame {f}"
        assert np.array_equal(sem, ref.semantic)
        assert tuple(Track(*t) for t in nat.tracks(False)) == ref.tracks, f"frame {f}"
        assert tuple(Track(*t) for t in nat.tracks(True)) == ref.lost, f"frame {f}"
        assert len(nat.tracks(False)) + len(nat.tracks(True)) == retained
        ids_seen = max(ids_seen, int(ids.max()))
    assert nat.counters()[0] == ids_seen + 1 or ids_seen < nat.counters()[0]
    assert ids_seen > 50  # the clip really makes tracks


def test_track_table_dispatch(vn):
    """TrackTable.update on the native side (VPS_NATIVE=on) equals the Python side, and mirrors the state."""
    clip_frames = [pan for _, pan, _, _ in _stream(3, 120, TrackerConfig(iou_threshold=0.1, **NO_CONT))]
    results = {}
    for mode in ("off", "on"):
        native.set_mode(mode)
        try:
            state = TrackerState()
            table = TrackTable(KITTI_STEP, TrackerConfig(iou_threshold=0.1, continue_iou=None), state=state)
            out = []
            for f, pan in enumerate(clip_frames):
                if f == 60:
                    state.reset()  # as StreamState.reset does
                out.append(table.update(pan))
            counters = (state.next_id, state.sequence_first_id, state.frame_index, table.num_retained)
            results[mode] = (out, *counters)
        finally:
            native.set_mode(None)
    (ref, *ref_counters), (got, *got_counters) = results["off"], results["on"]
    assert got_counters == ref_counters
    for a, b in zip(ref, got, strict=True):
        assert np.array_equal(a.track_ids, b.track_ids) and np.array_equal(a.semantic, b.semantic)
        assert (a.tracks, a.lost, a.frame_index, a.sequence_first_id) == \
               (b.tracks, b.lost, b.frame_index, b.sequence_first_id)


def test_tracker_refusals(vn):
    things = np.asarray(KITTI_STEP.thing_ids, np.int32)
    with pytest.raises(ValueError, match="iou_threshold"):
        vn.Tracker(0.0, 10, 4, things, 1000)
    t = vn.Tracker(0.5, 10, 4, things, 1000)
    t.update(np.zeros((4, 4), np.int32))
    with pytest.raises(ValueError, match="map size changed"):
        t.update(np.zeros((5, 4), np.int32))
    with pytest.raises(ValueError, match=">= 0"):
        t.update(np.full((4, 4), -1, np.int32))
    assert t.counters() == (1, 1, 1)  # refused frames leave the table as it was



def test_a_sequence_stays_on_its_side(vn):
    """Switching the mode mid-sequence takes effect at the next reset; the table is never split."""
    config = TrackerConfig(iou_threshold=0.1, continue_iou=None)
    frames = [pan for _, pan, _, _ in _stream(4, 40, config)]
    ref_table, table = TrackTable(KITTI_STEP, config), TrackTable(KITTI_STEP, config)
    native.set_mode("off")
    try:
        ref = [(ref_table.reset() if f == 20 else None, ref_table.update(p))[1] for f, p in enumerate(frames)]
    finally:
        native.set_mode(None)
    got = []
    for f, pan in enumerate(frames):
        first = "on" if f < 20 else "off"  # sequence 1 starts native, sequence 2 starts in Python
        native.set_mode(first if (f // 5) % 2 == 0 else {"on": "off", "off": "on"}[first])
        try:
            if f == 20:
                table.reset()
            got.append(table.update(pan))
        finally:
            native.set_mode(None)
    for f, (a, b) in enumerate(zip(ref, got, strict=True)):
        assert np.array_equal(a.track_ids, b.track_ids) and (a.tracks, a.lost) == (b.tracks, b.lost), f
    assert table.__dict__["_native_table"][1].counters()[2] == 20  # the native table stopped at the reset


def test_a_native_sequence_refuses_what_it_cannot_take(vn):
    table = TrackTable(KITTI_STEP, TrackerConfig(continue_iou=None))
    native.set_mode("on")
    try:
        table.update(np.zeros((4, 4), np.int32))
    finally:
        native.set_mode(None)
    native.set_mode("off")
    try:
        with pytest.raises(ValueError, match="int32 ids"):
            table.update(np.zeros((4, 4), np.float32))
    finally:
        native.set_mode(None)


def test_adversarial_maps_same_ids(vn):
    """Empty, one-pixel, void-everywhere, 255-instance and byte-edge maps: same ids as the Python table."""
    things = np.asarray(KITTI_STEP.thing_ids, np.int32)
    config = TrackerConfig(iou_threshold=0.1, min_area=1, continue_iou=None)
    nat = vn.Tracker(config.iou_threshold, config.max_lost, config.min_area, things, 1000)
    table = TrackTable(KITTI_STEP, config)
    native.set_mode("off")
    try:
        for pan in adversarial_panoptic():
            nat.reset()
            table.reset()
            for shift in range(3):  # the map, then shifted: matching against itself and a moved copy
                frame = np.roll(pan, shift, axis=1)
                ref = table.update(frame)
                sem, ids = nat.update(frame)
                assert np.array_equal(ids, ref.track_ids) and np.array_equal(sem, ref.semantic)
                assert tuple(Track(*t) for t in nat.tracks(False)) == ref.tracks
                assert tuple(Track(*t) for t in nat.tracks(True)) == ref.lost
    finally:
        native.set_mode(None)


def test_id_continuation_runs_in_the_python_table(vn: object) -> None:
    table = TrackTable(KITTI_STEP, TrackerConfig(iou_threshold=0.1))  # continue_iou on by default
    pan = np.zeros((8, 8), np.int32)
    pan[2:5, 2:5] = 13_007
    assert native.track_update(table, pan) is None and table.update(pan).tracks[0].id == 1
