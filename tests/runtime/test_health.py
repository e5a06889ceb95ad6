"""Camera health (vps.runtime.health): faults reported in FrameResult, voided frames create no tracks.

Finding 8 of issue 17: a black frame yielded 22 car tracks and 12 classes and nothing told the caller.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.runtime.test_segmenter import CAR, box_scene, segmenter
from vps.runtime.health import CameraHealth, HealthConfig
from vps.runtime.tracker import TrackerConfig

SCENE = box_scene(lambda f: [(CAR * 1000 + 7, 2, 2, 6, 8), (CAR * 1000 + 8, 4, 10, 8, 15)])


def natural(h: int = 48, w: int = 96, seed: int = 0) -> np.ndarray:
    """A smooth, textured, noise-free BGR frame (what a working camera sends)."""
    rng = np.random.default_rng(seed)
    base = cv2.resize(rng.integers(0, 256, (h // 4, w // 4, 3), dtype=np.uint8), (w, h),
                      interpolation=cv2.INTER_CUBIC)
    return np.ascontiguousarray(base)


def test_statistics_classify_each_fault() -> None:
    h = CameraHealth()
    img = natural(seed=1)
    assert h.check(img).faults == ()
    assert h.check(img).faults == ("frozen",)  # byte-identical repeat
    assert h.check(np.zeros((48, 96, 3), np.uint8)).faults == ("black",)
    assert h.check(np.full((48, 96, 3), 255, np.uint8)).faults == ("saturated",)
    assert h.check(cv2.GaussianBlur(natural(seed=2), (15, 15), 0)).faults == ("blur",)
    noisy = np.random.default_rng(3).integers(0, 256, (48, 96, 3), dtype=np.uint8)
    assert h.check(noisy).faults == ("noise",)
    assert h.check(np.zeros((48, 96), np.float32)).faults == ("black",)  # gray float frames too


def test_thresholds_and_void_policy_are_configurable() -> None:
    lenient = CameraHealth(HealthConfig(black_fraction=1.0, black_level=0.0))
    almost = np.zeros((48, 96, 3), np.uint8)
    almost[0, 0] = 200
    assert "black" not in lenient.check(almost).faults
    assert CameraHealth(HealthConfig(void=("frozen",))).check(almost).void is False
    assert CameraHealth(HealthConfig(enabled=False)).check(almost).faults == ()
    with pytest.raises(ValueError, match="void"):
        HealthConfig(void=("sleepy",))


def test_black_frame_is_voided_creates_no_track_and_tracks_revive_after_it() -> None:
    seg, be = segmenter(SCENE, record=False)
    good = natural(16, 32, seed=4)
    first = seg.step(good)
    assert len(first.tracks) == 2 and not first.health.faults
    black = seg.step(np.zeros((16, 32, 3), np.uint8))
    assert black.health.faults == ("black",) and black.health.void
    assert black.tracks == () and not black.track_ids.any()
    assert (black.semantic == seg.meta.ignore_label).all()  # not segmented: no invented classes
    assert be.frame == 0  # the model did not run on the black frame
    after = seg.step(natural(16, 32, seed=5))
    assert [t.id for t in after.tracks] == [t.id for t in first.tracks]  # revived, no new ids
    assert after.warm_start  # continues from the last good prediction


def test_saturated_frame_is_voided_and_reported_faults_are_segmented() -> None:
    seg, _ = segmenter(SCENE, record=False)
    assert seg.step(np.full((16, 32, 3), 255, np.uint8)).tracks == ()
    frozen = natural(16, 32, seed=6)
    seg.step(frozen)
    again = seg.step(frozen)
    assert again.health.faults == ("frozen",) and not again.health.void and len(again.tracks) == 2


def test_frozen_can_be_voided_by_config() -> None:
    cfg = TrackerConfig(iou_threshold=0.1, health=HealthConfig(void=("black", "frozen")))
    seg, _ = segmenter(SCENE, record=False, tracker=cfg)
    img = natural(16, 32, seed=7)
    assert len(seg.step(img).tracks) == 2
    assert seg.step(img).tracks == ()
