"""StreamState: geometry-change detection, reset, tracker ids surviving resets."""

from __future__ import annotations

import numpy as np

from vps.data.meta import KITTI_STEP
from vps.runtime.frames import FrameGeometry
from vps.runtime.state import StreamState
from vps.runtime.tracker import TrackTable


def test_geometry_change_resets_but_track_ids_continue() -> None:
    state = StreamState()
    table = TrackTable(KITTI_STEP, state=state.tracker)
    small = FrameGeometry.fit((100, 200), (32, 64), "letterbox")
    assert state.observe_geometry(small) is False
    pan = np.zeros((8, 8), np.int32)
    pan[1:5, 1:5] = 13_001
    assert table.update(pan).tracks[0].id == 1
    state.geometry, state.carry, state.frame_index = small, "family state", 1
    assert state.observe_geometry(FrameGeometry.fit((100, 200), (32, 64), "letterbox")) is False
    assert state.observe_geometry(FrameGeometry.fit((120, 200), (32, 64), "letterbox")) is True
    state.reset("new carry")  # what the engine does on a geometry change
    assert state.carry == "new carry" and state.geometry is None and state.frame_index == 0
    assert state.tracker.tracks == {} and state.tracker.slots is None
    assert table.update(pan).tracks[0].id == 2  # same object after the reset: a new, never-used id
