"""Frame preparation (validation, channel order, grayscale, letterbox) and label restoration."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from vps.runtime.frames import FrameGeometry, prepare_frame, restore_labels

MEAN, STD = (0.5, 0.5, 0.5), (0.25, 0.25, 0.25)


def _prep(
    frame: np.ndarray, size: tuple[int, int] = (16, 24), **kw: object
) -> tuple[np.ndarray, FrameGeometry]:
    return prepare_frame(frame, size, MEAN, STD, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("frame, message", [
    ([[1, 2], [3, 4]], "numpy array"),
    (np.zeros((2, 3, 4, 3), np.uint8), r"\[H, W\] or \[H, W, C\]"),
    (np.zeros(5, np.uint8), r"\[H, W\] or \[H, W, C\]"),
    (np.zeros((0, 7, 3), np.uint8), "empty"),
    (np.zeros((4, 0), np.uint8), "empty"),
    (np.zeros((4, 4, 2), np.uint8), "2 channels"),
    (np.zeros((4, 4, 5), np.uint8), "5 channels"),
    (np.zeros((4, 4, 3), np.uint16), "uint16 not supported"),
    (np.zeros((4, 4, 3), np.int32), "int32 not supported"),
    (np.zeros((4, 4, 3), bool), "bool not supported"),
    (np.full((4, 4, 3), np.nan, np.float32), "NaN"),
    (np.full((4, 4), np.inf, np.float64), "NaN or infinite"),
    (np.full((4, 4, 3), 255.0, np.float32), r"\[0, 1\]"),
])
def test_bad_frames_rejected_with_reason(frame: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _prep(frame)


def test_bad_arguments_rejected() -> None:
    frame = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(ValueError, match="input_size"):
        prepare_frame(frame, (0, 8), MEAN, STD)
    with pytest.raises(ValueError, match="std > 0"):
        prepare_frame(frame, (8, 8), MEAN, (0.2, 0.0, 0.2))
    with pytest.raises(ValueError, match="3 values"):
        prepare_frame(frame, (8, 8), (0.5,), STD)
    with pytest.raises(ValueError, match="resize_mode"):
        prepare_frame(frame, (8, 8), MEAN, STD, resize_mode="crop")
    with pytest.raises(ValueError, match="channel_order"):
        prepare_frame(frame, (8, 8), MEAN, STD, channel_order="rgba")


def test_bgr_default_vs_rgb_flag() -> None:
    frame = np.zeros((10, 12, 3), np.uint8)
    frame[..., 0] = 255  # blue in BGR, red in RGB
    x_bgr, _ = _prep(frame)
    x_rgb, _ = _prep(frame, rgb=True)
    assert x_bgr.shape == (1, 3, 16, 24) and x_bgr.dtype == np.float32
    hi, lo = (1 - 0.5) / 0.25, (0 - 0.5) / 0.25
    np.testing.assert_allclose(x_bgr[0, :, 0, 0], [lo, lo, hi], atol=1e-6)  # network sees RGB
    np.testing.assert_allclose(x_rgb[0, :, 0, 0], [hi, lo, lo], atol=1e-6)
    x_net_bgr, _ = _prep(frame, channel_order="bgr")
    np.testing.assert_allclose(x_net_bgr[0, :, 0, 0], [hi, lo, lo], atol=1e-6)


def test_grayscale_alpha_and_float_frames() -> None:
    rng = np.random.default_rng(0)
    gray = rng.integers(0, 256, (10, 12), dtype=np.uint8)
    x2, g2 = _prep(gray)
    x3, g3 = _prep(gray[:, :, None])
    np.testing.assert_array_equal(x2, x3)
    np.testing.assert_array_equal(x2[0, 0], x2[0, 2])
    assert g2 == g3
    color = rng.integers(0, 256, (10, 12, 3), dtype=np.uint8)
    bgra = np.concatenate([color, np.zeros((10, 12, 1), np.uint8)], axis=2)
    np.testing.assert_array_equal(_prep(bgra)[0], _prep(color)[0])
    # uint8 frames are resized in uint8 (rounded), float ones in float: at most one grey level apart
    one_level = 1.01 / 255 / 0.25
    np.testing.assert_allclose(_prep(color.astype(np.float64) / 255)[0], _prep(color)[0], atol=one_level)
    same_size = color[:8, :8]
    np.testing.assert_allclose(_prep(same_size / 255.0, size=(8, 8))[0], _prep(same_size, size=(8, 8))[0],
                               atol=1e-5)


def test_stretch_same_size_is_pure_normalisation() -> None:
    frame = np.arange(16 * 24 * 3, dtype=np.int64).reshape(16, 24, 3).astype(np.uint8)
    x, geom = _prep(frame, rgb=True)
    np.testing.assert_allclose(x[0], (frame.transpose(2, 0, 1) / 255 - 0.5) / 0.25, atol=1e-5)
    assert geom == FrameGeometry((16, 24), (16, 24), (16, 24), (0, 0), "stretch")


def test_letterbox_geometry_padding_and_round_trip() -> None:
    frame = np.full((100, 200, 3), 200, np.uint8)
    x, geom = prepare_frame(frame, (64, 64), MEAN, STD, resize_mode="letterbox")
    assert geom.content_hw == (32, 64) and geom.offset == (16, 0)
    assert np.all(x[0, :, :16] == 0) and np.all(x[0, :, 48:] == 0)  # border = mean colour
    np.testing.assert_allclose(x[0, :, 16:48], (200 / 255 - 0.5) / 0.25, atol=1e-5)
    # mask at stride 2: 32x32 with content rows 8..23; border labelled -1 must never come back
    mask = np.full((32, 32), -1, np.int64)
    mask[8:24] = np.arange(16 * 32).reshape(16, 32)
    restored = restore_labels(mask, geom)
    assert restored.shape == (100, 200) and restored.dtype == np.int64
    assert -1 not in restored
    assert set(np.unique(restored)) == set(range(16 * 32))  # every content pixel is used
    # each mask pixel covers a 6.25 x 6.25 block of frame pixels
    assert restored[0, 0] == 0 and restored[99, 199] == 16 * 32 - 1 and restored[7, 7] == 33
    x0, y0, x1, y1 = geom.box_to_frame((0, 8, 32, 24), (32, 32))
    assert (x0, y0, x1, y1) == (0.0, 0.0, 200.0, 100.0)
    assert geom.box_to_frame((2, 10, 4, 12), (32, 32)) == (12.5, 12.5, 25.0, 25.0)


def test_restore_labels_stretch_and_leading_dims() -> None:
    geom = FrameGeometry.fit((8, 12), (8, 12), "stretch")
    labels = np.arange(4 * 6).reshape(4, 6)
    up = restore_labels(labels, geom)
    np.testing.assert_array_equal(up, np.kron(labels, np.ones((2, 2), np.int64)))
    stack = restore_labels(np.stack([labels, labels + 100]).astype(bool), geom)
    assert stack.shape == (2, 8, 12) and stack.dtype == bool
    with pytest.raises(ValueError, match="non-empty"):
        restore_labels(np.zeros((0, 3)), geom)


def test_resolution_change_is_detectable() -> None:
    _, a = _prep(np.zeros((100, 200, 3), np.uint8), resize_mode="letterbox")
    _, b = _prep(np.ones((100, 200, 3), np.uint8), resize_mode="letterbox")
    _, c = _prep(np.zeros((120, 200, 3), np.uint8), resize_mode="letterbox")
    _, d = _prep(np.zeros((100, 200), np.uint8), resize_mode="letterbox")
    assert a == b == d and a != c and hash(a) == hash(b)


def test_real_kitti_gray_frame(shared_data: Path) -> None:
    path = sorted((shared_data / "kitti_odometry_gray" / "KITTI_sequence_1" / "image_l").glob("*.png"))[0]
    gray = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)  # uint8 [H, W]
    x, geom = prepare_frame(gray, (96, 320), MEAN, STD, resize_mode="letterbox")
    assert x.shape == (1, 3, 96, 320) and np.isfinite(x).all()
    assert geom.frame_hw == gray.shape and geom.content_hw == (96, round(gray.shape[1] * 96 / gray.shape[0]))
    assert restore_labels(np.zeros((48, 160), np.int32), geom).shape == gray.shape
