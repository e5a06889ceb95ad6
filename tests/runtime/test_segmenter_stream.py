"""A 10,000-frame stream: memory stays flat and no track id is ever reused.

Runs the real Segmenter (frame preparation, host sampling loop, decode, post-processing, bits fed back,
track table, frame-resolution maps) with the scripted NumPy backend of test_segmenter.py at a small input
size (16 x 32, mask 8 x 16); an exported network would take minutes per 10k frames on a CI CPU. Objects
appear, move, get occluded and leave, and the model's 8-bit ids are recycled (3 ids for ~1,400 objects)
and sometimes switched, which is exactly what the track table must turn into never-reused 32-bit ids.
"""

from __future__ import annotations

import os
import tracemalloc

import numpy as np
import pytest

from tests.runtime.test_segmenter import CAR, PERSON, Box, box_scene, frame, segmenter
from vps.runtime.tracker import TrackerConfig

FRAMES = 10_000
MEASURE_FROM = 1_000
LIFETIME, SPACING = 20, 7  # object k lives in frames [k * SPACING, k * SPACING + LIFETIME)


def objects(f: int) -> list[Box]:
    """The scripted objects of frame ``f`` (about three at a time)."""
    out = []
    for k in range(max(0, (f - LIFETIME) // SPACING + 1), f // SPACING + 1):
        age = f - k * SPACING
        if not 0 <= age < LIFETIME or (k % 5 == 0 and 8 <= age < 10):  # every 5th is occluded for 2 frames
            continue
        cls = CAR if k % 2 else PERSON
        model_id = (k + (age >= 12 and k % 4 == 0)) % 3 + 1  # recycled ids, a switch mid-life for some
        y0, x0 = 1 + k % 3 * 2, (k * 5 + age // 3) % 12
        out.append((cls * 1000 + model_id, y0, x0, y0 + 3, x0 + 4))
    return out


def rss_bytes() -> int:
    """Resident set size of this process (Linux ``/proc``; 0 elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


@pytest.mark.slow
def test_ten_thousand_frames_flat_memory_and_no_id_reuse() -> None:
    config = TrackerConfig(max_lost=3)
    seg, _ = segmenter(box_scene(objects), tracker=config, record=False)
    image = frame()
    recent: dict[int, int] = {}  # track id -> last frame seen, for ids seen in the last max_lost + 1 frames
    newest = retained = 0
    for f in range(FRAMES):
        if f == MEASURE_FROM:
            tracemalloc.start()
            base, rss = tracemalloc.take_snapshot(), rss_bytes()
        result = seg.step(image)
        for t in result.tracks:
            if t.id not in recent:  # a new track, or one absent for longer than max_lost: must be new
                assert t.id > newest, f"track {t.id} reused or out of order (newest {newest}, frame {f})"
                newest = t.id
            recent[t.id] = f
        recent = {k: v for k, v in recent.items() if f - v <= config.max_lost}
        retained = max(retained, seg.table.num_retained)
    diff = tracemalloc.take_snapshot().compare_to(base, "lineno")
    tracemalloc.stop()
    grown, rss_grown = sum(d.size_diff for d in diff), rss_bytes() - rss
    top = "\n".join(str(d) for d in diff[:5])
    # numpy / dataclass caches fill once (~80 KiB, the same after 3,000 or 9,000 frames)
    assert grown < 256 * 1024, f"{grown} more bytes held after {FRAMES - MEASURE_FROM} more frames:\n{top}"
    assert rss_grown < 16 << 20, f"RSS grew by {rss_grown / 2**20:.1f} MiB"
    assert retained <= 12  # visible + lost tracks held by the table stay bounded
    assert result.frame_index == FRAMES - 1 and seg.state.frame_index == FRAMES
    assert newest > 1000  # many tracks were created (8-bit ids were recycled ~470 times each)
    assert len(set(np.unique(result.track_ids)) - {0}) == len(result.tracks)
