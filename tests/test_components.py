"""Splitting predicted instances into their connected parts (vps.components), and its three users agree."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vps.components import split_instance_parts
from vps.postprocess import postprocess_panoptic

CAR, PERSON, ROAD = 13, 11, 0
THINGS = (PERSON, CAR)


def test_detached_part_gets_the_smallest_free_id() -> None:
    pan = np.zeros((10, 20), np.int32)
    pan[1:5, 1:5] = 13_001  # 16 px: the larger part keeps id 1
    pan[6:9, 15:18] = 13_001  # 9 px, detached: a new car
    pan[6:8, 1:3] = 11_002  # a person holds instance id 2 (ids are shared across classes)
    out = split_instance_parts(pan, min_part_area=4)
    assert out.dtype == np.int32
    assert (out[1:5, 1:5] == 13_001).all()
    assert (out[6:9, 15:18] == 13_003).all()  # 2 is taken by the person
    assert (out[6:8, 1:3] == 11_002).all() and (out[pan == 0] == 0).all()
    assert (pan[6:9, 15:18] == 13_001).all()  # the input is not modified


def test_small_detached_part_loses_its_id_and_keeps_its_class() -> None:
    pan = np.full((8, 8), ROAD * 1000, np.int32)
    pan[:4, :4] = 11_007
    pan[7, 7] = 11_007  # one detached pixel
    out = split_instance_parts(pan, min_part_area=2)
    assert out[7, 7] == 11_000 and (out[:4, :4] == 11_007).all()


def test_diagonal_contact_is_connected_and_ties_go_to_raster_order() -> None:
    pan = np.zeros((6, 6), np.int32)
    pan[0:2, 0:2] = 13_001
    pan[2:4, 2:4] = 13_001  # touches the first block at a corner: one instance (8-connectivity)
    assert np.array_equal(split_instance_parts(pan, 1), pan)
    pan[2:4, 2:4] = 0
    pan[4:6, 4:6] = 13_001  # now detached, same size: the part met first in raster order keeps id 1
    out = split_instance_parts(pan, 1)
    assert (out[0:2, 0:2] == 13_001).all() and (out[4:6, 4:6] == 13_002).all()


def test_disabled_and_exhausted_ids() -> None:
    pan = np.zeros((1, 2 * 256), np.int32)
    pan[0, 0:510:2] = 13_000 + np.arange(1, 256)  # one-pixel cars with every id 1 .. 255
    pan[0, 510] = 13_001  # a detached second part of car 1: no id is left for it
    assert np.array_equal(split_instance_parts(pan, 0), pan)  # 0 = no splitting
    out = split_instance_parts(pan, 1)
    assert np.array_equal(out, pan)  # no free id: the detached part keeps its id
    with pytest.raises(ValueError, match=r"\[h, w\]"):
        split_instance_parts(pan[None], 1)


def blob_maps(seed: int, shape: tuple[int, int, int]) -> torch.Tensor:
    """Random maps of rectangles (things with reused ids, stuff with stray ids): many detached parts."""
    g = np.random.default_rng(seed)
    out = np.full(shape, ROAD * 1000, np.int64)
    for b in range(shape[0]):
        for _ in range(12):
            y, x = g.integers(0, shape[1] - 2), g.integers(0, shape[2] - 2)
            h, w = g.integers(1, 6), g.integers(1, 8)
            cls = g.choice([CAR, PERSON, 2, 10])
            out[b, y:y + h, x:x + w] = cls * 1000 + g.integers(0, 5)
    return torch.from_numpy(out)


@pytest.mark.parametrize("seed", range(5))
def test_torch_and_numpy_postprocessing_agree(seed: int) -> None:
    pan = blob_maps(seed, (3, 20, 32))
    min_area, min_part = [(0, 1), (2, 3), (4, 4), (0, 0), (1, 8)][seed]
    out = postprocess_panoptic(pan, THINGS, min_area, 1000, min_part)
    assert out.dtype == torch.int32 and out.shape == pan.shape
    for b in range(pan.shape[0]):
        want = postprocess_panoptic(pan[b].numpy(), THINGS, min_area, 1000, min_part)
        np.testing.assert_array_equal(out[b].numpy(), want)
    if min_part:  # every remaining thing instance is one connected part
        from scipy.ndimage import label

        for b in range(pan.shape[0]):
            m = out[b].numpy()
            for key in np.unique(m[m % 1000 > 0]):
                assert label(m == key, np.ones((3, 3)))[1] == 1
