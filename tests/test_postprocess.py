"""Post-processing: stuff loses instance ids, instances take their majority class, tiny ones lose identity."""

from __future__ import annotations

import torch

from vps.postprocess import postprocess_panoptic

THINGS = (11, 13)


def test_majority_vote_and_stuff_cleared() -> None:
    pan = torch.zeros(6, 6, dtype=torch.int32)  # road (class 0)
    pan[:3, :3] = 13_001  # car, instance 1 ...
    pan[0, 0] = 11_001  # ... one pixel says person: majority vote makes it car
    pan[4:, 4:] = 10_002  # sky with an instance id: stuff, id cleared
    out = postprocess_panoptic(pan, THINGS, min_area=0)
    assert out.dtype == torch.int32 and out.shape == pan.shape
    assert bool((out[:3, :3] == 13_001).all())
    assert bool((out[4:, 4:] == 10_000).all())
    assert int(out[3, 3]) == 0


def test_min_area_keeps_class_drops_identity_batched() -> None:
    pan = torch.zeros(2, 8, 8, dtype=torch.int32)
    pan[0, :4, :4] = 13_003  # 16 px: kept
    pan[0, 6:, 6:] = 11_004  # 4 px: too small
    pan[1, 6:, 6:] = 11_004  # same id in another image: per-image areas
    pan[1, :3, :3] = 11_004
    out = postprocess_panoptic(pan, THINGS, min_area=10)
    assert bool((out[0, :4, :4] == 13_003).all())
    assert bool((out[0, 6:, 6:] == 11_000).all())  # class kept, instance cleared
    assert bool((out[1][pan[1] == 11_004] == 11_004).all())  # 13 px in image 1: kept
    assert bool((out[pan == 0] == 0).all())


def test_instance_vote_ignores_stuff_pixels_and_ties() -> None:
    pan = torch.zeros(4, 4, dtype=torch.int64)
    pan[0, :2] = 13_005
    pan[0, 2:] = 11_005  # tie between person and car: smallest class id (person) wins
    pan[1, :] = 2_005  # building pixels with id 5: stuff, cleared, not voting
    out = postprocess_panoptic(pan, THINGS)
    assert out[0].tolist() == [11_005] * 4
    assert out[1].tolist() == [2_000] * 4
