"""Video K-Net's panoptic fusion on hand-built scores and masks: thresholds, paint order, overlap, stuff."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from tests.runtime.programs import KERNELS
from vps.data.meta import KITTI_STEP
from vps.runtime.knet_fusion import fuse, thing_candidates

THINGS = KITTI_STEP.thing_ids  # (11, 13): person, car
C, H, W = KITTI_STEP.num_classes, 6, 8
ROAD, SKY = 0, 10  # stuff kernels 4 + 0 and 4 + 10 (KITTI_STEP.stuff_ids lists every class but 11 and 13)


def outputs(things: dict[int, tuple[int, float, tuple[slice, slice]]]) -> tuple[np.ndarray, np.ndarray]:
    """``scores [K, C]`` and ``masks [K, H, W]``: ``things[k] = (class, score, box)`` for thing kernels; sky
    stuff kernel 0.4 on the top half, road 0.3 everywhere (both below the mask threshold on purpose)."""
    scores = np.zeros((KERNELS.num_kernels, C), np.float32)
    masks = np.full((KERNELS.num_kernels, H, W), 0.05, np.float32)
    for k, (cls, score, box) in things.items():
        scores[k, cls] = score
        masks[k][box] = 0.9
    stuff = KERNELS.num_things + np.array(KERNELS.stuff_classes)
    masks[stuff[KERNELS.stuff_classes.index(ROAD)]] = 0.3
    masks[stuff[KERNELS.stuff_classes.index(SKY)], : H // 2] = 0.4
    return scores, masks


def test_things_painted_by_score_with_their_thing_class() -> None:
    scores, masks = outputs({0: (11, 0.5, np.s_[0:2, 0:2]), 2: (13, 0.9, np.s_[3:5, 4:8])})
    scores[0, ROAD] = 0.99  # a higher stuff-class score does not make a thing kernel stuff
    fusion = fuse(scores, masks, KERNELS, THINGS)
    assert fusion.kept.tolist() == [2, 0] and fusion.classes.tolist() == [13, 11]
    np.testing.assert_allclose(fusion.scores, [0.9, 0.5])
    assert (fusion.slots[3:5, 4:8] == 1).all() and (fusion.slots[0:2, 0:2] == 2).all()
    assert int((fusion.slots > 0).sum()) == 8 + 4
    pan = fusion.panoptic(np.array([7, 3]))
    assert pan.dtype == np.int32 and pan[3, 4] == 13007 and pan[0, 0] == 11003


def test_stuff_covers_every_free_pixel_by_the_highest_stuff_mask() -> None:
    scores, masks = outputs({1: (13, 0.8, np.s_[0:2, 0:2])})
    fusion = fuse(scores, masks, KERNELS, THINGS)
    free = fusion.slots == 0
    want = np.where(np.arange(H)[:, None] < H // 2, SKY, ROAD) * np.ones((1, W), int)
    np.testing.assert_array_equal(fusion.semantic[free], want[free])  # no void although all stuff < 0.5
    assert (fusion.semantic[~free] == 13).all()
    assert (fusion.panoptic(np.array([5]))[free] % 1000 == 0).all()  # stuff has no instance id


def test_score_threshold_and_empty_masks_drop_things() -> None:
    scores, masks = outputs({0: (13, 0.29, np.s_[0:2, 0:2]), 1: (13, 0.3, np.s_[2:4, 0:2]),
                             3: (11, 0.7, np.s_[0:0, 0:0])})  # kernel 3 has no pixel above 0.5
    order, classes, _ = thing_candidates(scores, KERNELS, THINGS)
    assert order.tolist() == [3, 1] and classes.tolist() == [11, 13]  # 0.29 < score_threshold 0.3
    assert fuse(scores, masks, KERNELS, THINGS).kept.tolist() == [1]


@pytest.mark.parametrize(("overlap_threshold", "kept"), [(0.6, [0]), (0.5, [0, 1])])
def test_overlap_rule_keeps_only_free_pixels(overlap_threshold: float, kept: list[int]) -> None:
    # kernel 1 (4x2 = 8 pixels) lies half under kernel 0 (higher score): 50 % of it is still free
    scores, masks = outputs({0: (13, 0.9, np.s_[0:4, 0:4]), 1: (13, 0.6, np.s_[2:6, 2:4])})
    fusion = fuse(scores, masks, replace(KERNELS, overlap_threshold=overlap_threshold), THINGS)
    assert fusion.kept.tolist() == kept
    assert (fusion.slots[0:4, 0:4] == 1).all()  # the first thing keeps its overlap
    if len(kept) == 2:
        assert (fusion.slots[4:6, 2:4] == 2).all() and int((fusion.slots == 2).sum()) == 4
    else:
        assert not (fusion.slots == 2).any() and (fusion.semantic[4:6, 2:4] == ROAD).all()


def test_shapes_are_checked() -> None:
    scores, masks = outputs({})
    with pytest.raises(ValueError, match="K = 21"):
        fuse(scores[:-1], masks[:-1], KERNELS, THINGS)
    fusion = fuse(scores, masks, KERNELS, THINGS)
    assert fusion.kept.size == 0 and (fusion.slots == 0).all()
    with pytest.raises(ValueError, match="one id per kept thing"):
        fusion.panoptic(np.array([1]))
