"""Sequence folders of vps-run never reuse a panoptic number (issue 17, findings 2 and 9).

Finding 9: ``class * 1000 + n`` wrapped after 999 tracks, so one number named two objects in one folder.
Finding 2: a size change restarted the stream inside one folder (13001 was track 1, then 27, then 47).
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.runtime.test_segmenter import CAR, box_scene, frame, segmenter
from vps.errors import DataError
from vps.runtime.frames import FrameGeometry
from vps.runtime.result import FrameResult, FrameTrack
from vps.runtime.run_output import FolderPlan


def fake_result(track_id: int, new_sequence: bool = False) -> FrameResult:
    """A 4 x 4 frame with one car track ``track_id`` in the top-left 2 x 2 block."""
    ids = np.zeros((4, 4), np.int32)
    ids[:2, :2] = track_id
    sem = np.where(ids > 0, CAR, 0).astype(np.int32)
    track = FrameTrack(id=track_id, class_id=CAR, panoptic_id=CAR * 1000 + 1, area=4, box=(0, 0, 2, 2), age=1)
    return FrameResult(panoptic=sem * 1000, semantic=sem, track_ids=ids, tracks=(track,), timings={},
                       frame_index=0 if new_sequence else 1, sequence_index=0, label_divisor=1000,
                       geometry=FrameGeometry.fit((4, 4), (4, 4), "stretch"), warm_start=False)


def owners(plan: FolderPlan, results: list[FrameResult]) -> dict[tuple[str, int], set[int]]:
    """(folder, panoptic number) -> the persistent track ids written under it."""
    seen: dict[tuple[str, int], set[int]] = {}
    for k, r in enumerate(results):
        folder, pan = plan.place("0000", k, f"frame {k}", r)
        number = int(pan[0, 0])
        seen.setdefault((folder, number), set()).add(int(r.tracks[0].id))
    return seen


def test_more_than_999_tracks_continue_in_a_new_folder_without_reusing_numbers() -> None:
    plan = FolderPlan(1000)
    results = [fake_result(1 + k, new_sequence=k == 0) for k in range(2100)]
    seen = owners(plan, results)
    assert all(len(ids) == 1 for ids in seen.values())  # one object per number per folder
    assert [f.name for f in plan.folders] == ["0000", "0000_part01", "0000_part02"]
    assert [f.frames for f in plan.folders] == [999, 999, 102]
    assert max(n for (_, n) in seen) == CAR * 1000 + 999


def test_track_overflow_can_be_refused() -> None:
    plan = FolderPlan(1000, on_track_overflow="error")
    for k in range(999):
        plan.place("0000", k, f"f{k}", fake_result(k + 1, new_sequence=k == 0))
    with pytest.raises(DataError, match="f999.*999 track numbers"):
        plan.place("0000", 999, "f999", fake_result(1000))


def test_a_size_change_through_the_segmenter_never_shares_a_number_in_one_folder() -> None:
    # the car keeps the model's id 7 throughout; each size change restarts the stream (new track id, n = 1)
    seg, _ = segmenter(box_scene(lambda f: [(CAR * 1000 + 7, 2, 2, 6, 8)]), record=False)
    plan = FolderPlan(1000)
    sizes = [(16, 32)] * 3 + [(24, 40)] * 3 + [(16, 32)] * 3
    seen: dict[tuple[str, int], set[int]] = {}
    for k, (h, w) in enumerate(sizes):
        r = seg.step(frame(h, w, seed=k))
        folder, pan = plan.place("0000", k, f"frame {k}", r)
        for t in r.tracks:
            number = int(np.unique(pan[r.track_ids == t.id])[0])
            seen.setdefault((folder, number), set()).add(t.id)
    assert [f.name for f in plan.folders] == ["0000", "0000_part01", "0000_part02"]
    assert len({i for ids in seen.values() for i in ids}) == 3  # three tracks, one per stream
    assert all(len(ids) == 1 for ids in seen.values())


def test_stuff_and_void_are_written_unchanged() -> None:
    seg, _ = segmenter(box_scene(lambda f: [(CAR * 1000 + 7, 2, 2, 6, 8)]), record=False)
    r = seg.step(frame())
    _, pan = FolderPlan(1000).place("s", 0, "f", r)
    stuff = r.track_ids == 0
    np.testing.assert_array_equal(pan[stuff], r.panoptic[stuff])
    assert set(np.unique(pan[~stuff]).tolist()) == {CAR * 1000 + 1}
