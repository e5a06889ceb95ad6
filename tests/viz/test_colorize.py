"""Colour maps, overlays and panels."""

from __future__ import annotations

import numpy as np
import pytest

from vps.data.meta import CITYSCAPES, KITTI_STEP
from vps.viz import (
    boundary_mask,
    hash_ids,
    id_colors,
    instance_colors,
    overlay,
    panel,
    panoptic_colors,
    render_frame,
    semantic_colors,
)
from vps.viz.render import fit_frame


def two_cars() -> np.ndarray:
    pan = np.full((8, 10), 0, np.int32)  # road
    pan[:2] = 10000  # sky
    pan[3:6, 1:4] = 13001
    pan[3:6, 5:8] = 13002
    pan[7, 9] = 255000  # ignore
    return pan


def test_track_colours_depend_on_id_not_on_appearance_order() -> None:
    a = np.array([13001, 13005, 11002])
    b = np.array([11002, 13005, 13001, 13009])
    ca, cb = id_colors(a), id_colors(b)
    np.testing.assert_array_equal(ca[0], cb[2])
    np.testing.assert_array_equal(ca[2], cb[0])
    assert len({tuple(c) for c in id_colors(np.arange(13001, 13041)).tolist()}) > 35  # mostly distinct
    assert hash_ids(np.array([13001]))[0] == hash_ids(np.array([13001]))[0]
    assert hash_ids(np.array([1, 2])).dtype == np.uint32


def test_instance_colours_are_stable_across_frames() -> None:
    f0 = two_cars()
    f1 = np.roll(f0, 2, axis=1)  # the cars move; track 13002 leaves, a new track appears first
    f1[0, 0] = 13003
    c0, c1 = instance_colors(f0, KITTI_STEP), instance_colors(f1, KITTI_STEP)
    np.testing.assert_array_equal(c0[4, 2], c1[4, 4])  # track 13001 at its new place
    assert (c0[0, 0] == 0).all()  # stuff is black
    assert not np.array_equal(c0[4, 2], c0[4, 6])  # two tracks, two colours


def test_semantic_colours_use_the_palette() -> None:
    pan = two_cars()
    sem = semantic_colors(pan, CITYSCAPES)
    assert sem[0, 0].tolist() == [70, 130, 180]  # sky
    assert sem[4, 2].tolist() == [0, 0, 142] == sem[4, 6].tolist()  # both cars: car colour
    assert sem[7, 9].tolist() == [0, 0, 0]  # ignore is black


def test_panoptic_colours_shade_instances_and_draw_boundaries() -> None:
    pan = two_cars()
    col = panoptic_colors(pan, KITTI_STEP, boundaries=False)
    assert col[0, 0].tolist() == [70, 130, 180]  # stuff keeps its class colour
    assert not np.array_equal(col[4, 2], col[4, 6])  # instances of one class differ
    assert np.abs(col[4, 2].astype(int) - [0, 0, 142]).max() <= 48  # ... but stay near the class colour
    edges = boundary_mask(pan)
    assert edges[3, 3] and not edges[4, 2] and edges[1, 5]  # car edge, car interior, sky/road edge
    with_b = panoptic_colors(pan, KITTI_STEP)
    assert with_b[3, 3].tolist() == [255, 255, 255]
    assert boundary_mask(pan, thickness=2).sum() > edges.sum()


def test_overlay_blends_and_keeps_ignored_pixels() -> None:
    pan = two_cars()
    image = np.full((8, 10, 3), 200, np.uint8)
    out = overlay(image, pan, KITTI_STEP, alpha=0.5, boundaries=False)
    assert out[7, 9].tolist() == [200, 200, 200]  # ignore: image unchanged
    assert out[0, 0].tolist() == [135, 165, 190]  # (200 + sky) / 2
    with pytest.raises(ValueError, match="differ"):
        overlay(image[:4], pan, KITTI_STEP)


def test_panel_and_render_frame() -> None:
    pan = two_cars()
    image = np.zeros((8, 10, 3), np.uint8)
    out = panel([("image", image), ("pred", np.full((16, 20, 3), 9, np.uint8))], gap=4)
    assert out.shape[1] == 10 + 4 + 10 and out.shape[0] == 8 + 14  # tiles at the first tile's height
    full = render_frame("panel", KITTI_STEP, image, pan, pan)
    assert full.shape == (8 + 14, 3 * 10 + 2 * 4, 3)
    assert render_frame("panel", KITTI_STEP, None, pan, None).shape == (8 + 14, 10, 3)
    np.testing.assert_array_equal(render_frame("image", KITTI_STEP, image), image)
    for mode in ("overlay", "panoptic", "semantic", "instance"):
        assert render_frame(mode, KITTI_STEP, image, pan).shape == (8, 10, 3)
    with pytest.raises(ValueError, match="needs images"):
        render_frame("overlay", KITTI_STEP, None, pan)
    with pytest.raises(ValueError, match="unknown mode"):
        render_frame("heatmap", KITTI_STEP, image, pan)


def test_fit_frame_letterboxes() -> None:
    frame = np.full((10, 40, 3), 255, np.uint8)
    out = fit_frame(frame, (20, 40))
    assert out.shape == (20, 40, 3)
    assert (out[:5] == 0).all() and (out[5:15] == 255).all() and (out[15:] == 0).all()
