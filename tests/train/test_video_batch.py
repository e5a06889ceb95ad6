"""Clip -> training sample: consistent id shuffling, conditioning layout and drop, nearest resize."""

from __future__ import annotations

import numpy as np
import pytest

from vps.bits import BitLayout, bits_to_panoptic
from vps.data.clip import Clip
from vps.train.video_batch import collate_samples, make_video_sample, order_track_ids, shuffle_track_ids

LAYOUT = BitLayout()


def _clip(T: int = 3, hw: tuple[int, int] = (24, 40)) -> Clip:
    H, W = hw
    pan = np.zeros((T, H, W), np.int32)  # road
    pan[:, :4] = 10_000  # sky (stuff)
    for t in range(T):
        pan[t, 5:12, 2 + t:10 + t] = 13_001  # car 1
        pan[t, 14:20, 20 + t:28 + t] = 13_002  # car 2
        pan[t, 5:15, 30:34] = 11_001  # person 1 (same instance number as car 1, other class)
    pan[:, -1, -1] = 255_000  # void
    images = np.random.default_rng(0).integers(0, 255, (T, H, W, 3), dtype=np.uint8)
    return Clip(images=images, panoptic=pan, sequence="0000", frames=list(range(T)))


def test_shuffle_is_one_injective_map_for_the_whole_clip() -> None:
    pan = _clip().panoptic.astype(np.int64)
    out = shuffle_track_ids(pan, np.random.default_rng(3), LAYOUT)
    assert out.shape == pan.shape
    mapping: dict[int, set[int]] = {}
    for a, b in zip(pan.ravel(), out.ravel(), strict=True):
        mapping.setdefault(int(a), set()).add(int(b))
    assert all(len(v) == 1 for v in mapping.values())  # consistent across frames
    new = {k: next(iter(v)) for k, v in mapping.items()}
    for k in (0, 10_000, 255_000):  # stuff and void untouched
        assert new[k] == k
    tracks = [13_001, 13_002, 11_001]
    assert len({new[k] % 1000 for k in tracks}) == 3  # injective, also across classes
    assert all(new[k] // 1000 == k // 1000 and 1 <= new[k] % 1000 <= 255 for k in tracks)


def test_shuffle_differs_between_seeds_and_overflow_goes_to_crowd() -> None:
    pan = _clip().panoptic.astype(np.int64)
    a = shuffle_track_ids(pan, np.random.default_rng(1), LAYOUT)
    b = shuffle_track_ids(pan, np.random.default_rng(2), LAYOUT)
    assert not np.array_equal(a, b)
    small = BitLayout(instance_bits=1)  # only id 1 available: 2 of 3 tracks become crowd (instance 0)
    c = shuffle_track_ids(pan, np.random.default_rng(0), small)
    tracks = {int(v) for v in np.unique(c) if v % 1000 > 0}
    assert len(tracks) == 1 and all(v % 1000 == 1 for v in tracks)


def test_sample_conditioning_holds_previous_frames_with_the_same_ids() -> None:
    clip = _clip()
    s = make_video_sample(clip, np.random.default_rng(0), LAYOUT, (24, 40), (24, 40), cond_drop_prob=0.0)
    assert s.image.shape == (24, 40, 3) and s.target.shape == (24, 40) and s.cond.shape == (32, 24, 40)
    assert not s.dropped.any()
    prev1 = bits_to_panoptic(s.cond[:16], LAYOUT)  # frame t-1
    prev2 = bits_to_panoptic(s.cond[16:], LAYOUT)  # frame t-2
    valid = clip.panoptic[0] != 255_000
    np.testing.assert_array_equal((prev1 // 1000)[valid], (clip.panoptic[1] // 1000)[valid])
    np.testing.assert_array_equal((prev2 // 1000)[valid], (clip.panoptic[0] // 1000)[valid])
    car_ids = {int(v) for v in np.unique(s.target) if v // 1000 == 13}
    assert len(car_ids) == 2
    assert car_ids <= set(np.unique(prev1).tolist()) <= set(np.unique(s.target).tolist())
    assert car_ids <= set(np.unique(prev2).tolist())
    np.testing.assert_array_equal(s.image, clip.images[-1])


def test_void_pixels_of_the_conditioning_are_zero() -> None:
    s = make_video_sample(_clip(), np.random.default_rng(0), LAYOUT, (24, 40), (24, 40), cond_drop_prob=0.0)
    assert (s.cond[:, -1, -1] == 0).all() and (s.cond[:, 0, 0] != 0).all()


@pytest.mark.parametrize("p", [0.0, 0.2, 1.0])
def test_drop_probability(p: float) -> None:
    rng, clip, n, drops = np.random.default_rng(7), _clip(hw=(8, 8)), 1500, []
    for _ in range(n):
        s = make_video_sample(clip, rng, LAYOUT, (8, 8), (4, 4), cond_drop_prob=p)
        for k in range(2):
            block = s.cond[16 * k:16 * (k + 1)]
            assert (block == 0).all() == bool(s.dropped[k])  # dropped <=> zeroed
        drops.append(s.dropped)
    rate = np.mean(drops, axis=0)  # per conditioning frame
    assert np.all(np.abs(rate - p) < 0.035)
    if 0 < p < 1:  # independent draws: both dropped about p**2 of the time
        both = np.mean([d.all() for d in drops])
        assert abs(both - p * p) < 0.02


def test_same_seed_same_sample() -> None:
    a = make_video_sample(_clip(), np.random.default_rng(5), LAYOUT, (24, 40), (12, 20), 0.5)
    b = make_video_sample(_clip(), np.random.default_rng(5), LAYOUT, (24, 40), (12, 20), 0.5)
    np.testing.assert_array_equal(a.target, b.target)
    np.testing.assert_array_equal(a.cond, b.cond)


def test_nearest_resize_introduces_no_new_ids() -> None:
    clip = _clip(hw=(24, 40))
    for size in [(7, 13), (12, 20), (31, 53)]:
        s = make_video_sample(clip, np.random.default_rng(0), LAYOUT, (24, 40), size, 0.0, shuffle_ids=False)
        assert s.target.shape == size
        assert set(np.unique(s.target).tolist()) <= set(np.unique(clip.panoptic[-1]).tolist())


def test_single_image_has_zero_conditioning_and_collate_shapes() -> None:
    clip = _clip(T=1)
    samples = [make_video_sample(clip, np.random.default_rng(i), LAYOUT, (24, 40), (12, 20), 0.0)
               for i in range(3)]
    assert all(s.dropped.all() and not s.cond.any() for s in samples)
    batch = collate_samples(samples)
    assert tuple(batch["images"].shape) == (3, 24, 40, 3) and str(batch["images"].dtype) == "torch.uint8"
    assert tuple(batch["target"].shape) == (3, 12, 20) and str(batch["target"].dtype) == "torch.int64"
    assert tuple(batch["cond"].shape) == (3, 32, 12, 20)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="cond_drop_prob"):
        make_video_sample(_clip(), np.random.default_rng(0), LAYOUT, (24, 40), (12, 20), 1.5)
    labels_only = Clip(images=None, panoptic=_clip().panoptic, sequence="0000", frames=[0, 1, 2])
    with pytest.raises(ValueError, match="images and panoptic"):
        make_video_sample(labels_only, np.random.default_rng(0), LAYOUT, (24, 40), (12, 20), 0.0)


def test_spatial_order_numbers_tracks_by_first_visible_appearance() -> None:
    m = np.zeros((3, 4, 12), np.int64)
    m[:, :, 0:2] = 13_005  # left car, all frames
    m[:, :, 5:7] = 11_009  # person in the middle, all frames
    m[2, :, 10:12] = 13_002  # car entering in the last frame (right)
    m[0, :, 8:9] = 13_077  # track only in the first (dropped) frame
    out = order_track_ids(m, [1, 2], LAYOUT)
    assert set(np.unique(out[1]).tolist()) == {0, 13_001, 11_002}  # left to right
    assert set(np.unique(out[2]).tolist()) == {0, 13_001, 11_002, 13_003}  # newcomer gets the next id
    assert set(np.unique(out[0]).tolist()) == {0, 13_001, 11_002, 13_004}  # invisible track after the rest
    single = order_track_ids(m, [2], LAYOUT)
    assert set(np.unique(single[2]).tolist()) == {0, 13_001, 11_002, 13_003}


def test_spatial_order_in_samples_and_single_frame_prob() -> None:
    clip = _clip()
    s = make_video_sample(clip, np.random.default_rng(0), LAYOUT, (24, 40), (24, 40), 0.0, id_order="spatial")
    assert {int(v) % 1000 for v in np.unique(s.target)} == {0, 1, 2, 3}  # 3 tracks numbered 1..3
    prev1 = bits_to_panoptic(s.cond[:16], LAYOUT)
    car_ids = {int(v) for v in np.unique(s.target) if v // 1000 == 13}
    assert car_ids <= set(np.unique(prev1).tolist())  # the same map for the conditioning
    rng = np.random.default_rng(1)
    drops = [make_video_sample(clip, rng, LAYOUT, (24, 40), (12, 20), 0.0,
                               single_frame_prob=0.3).dropped.all() for _ in range(600)]
    assert abs(np.mean(drops) - 0.3) < 0.06
    with pytest.raises(ValueError, match="id_order"):
        make_video_sample(clip, rng, LAYOUT, (24, 40), (12, 20), 0.0, id_order="sorted")
