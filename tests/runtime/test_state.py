"""StreamState: previous-mask bookkeeping, geometry-change reset, tracker ids surviving resets."""

from __future__ import annotations

import numpy as np
import pytest

from vps.bits import panoptic_to_bits
from vps.data.meta import KITTI_STEP
from vps.runtime.frames import FrameGeometry
from vps.runtime.state import StreamState
from vps.runtime.tracker import TrackTable


def test_push_bits_keeps_two_previous_masks_newest_first() -> None:
    state = StreamState()
    first, second, third = (panoptic_to_bits(np.full((4, 6), 13_000 + k, np.int32)) for k in (1, 2, 3))
    state.push_bits(first)
    assert state.prev_bits is not None and state.prev_bits.shape == (2, 16, 4, 6)
    np.testing.assert_array_equal(state.prev_bits[0], first)
    assert not state.prev_bits[1].any()  # missing t-2 is all zeros, like a dropped conditioning
    state.push_bits(second)
    state.push_bits(third)
    np.testing.assert_array_equal(state.prev_bits[0], third)
    np.testing.assert_array_equal(state.prev_bits[1], second)
    with pytest.raises(ValueError, match="reset"):
        state.push_bits(np.zeros((16, 5, 6), np.float32))
    with pytest.raises(ValueError, match=r"\[num_bits, h, w\]"):
        state.push_bits(np.zeros((4, 6), np.float32))


def test_geometry_change_resets_but_track_ids_continue() -> None:
    state = StreamState()
    table = TrackTable(KITTI_STEP, state=state.tracker)
    small = FrameGeometry.fit((100, 200), (32, 64), "letterbox")
    assert state.observe_geometry(small) is False
    pan = np.zeros((8, 8), np.int32)
    pan[1:5, 1:5] = 13_001
    assert table.update(pan).tracks[0].id == 1
    state.push_bits(panoptic_to_bits(pan))
    state.warm_latent, state.frame_index = np.zeros((1, 16, 8, 8), np.float32), 1
    assert state.observe_geometry(FrameGeometry.fit((100, 200), (32, 64), "letterbox")) is False
    assert state.prev_bits is not None  # same geometry: nothing forgotten
    assert state.observe_geometry(FrameGeometry.fit((120, 200), (32, 64), "letterbox")) is True
    assert state.prev_bits is None and state.warm_latent is None and state.frame_index == 0
    assert state.tracker.tracks == {} and state.tracker.slots is None
    assert table.update(pan).tracks[0].id == 2  # same object after the reset: a new, never-used id
