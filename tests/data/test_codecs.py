"""PNG codecs: round trips, the KITTI-STEP / Cityscapes encodings, and errors that name the file."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from vps.data.codecs import (
    atomic_write_bytes,
    encode_kitti_panoptic,
    read_cityscapes_panoptic,
    read_image,
    read_kitti_panoptic,
    validate_panoptic,
    write_image,
    write_kitti_panoptic,
)
from vps.data.meta import CITYSCAPES, KITTI_STEP
from vps.errors import DataError


def test_kitti_panoptic_round_trip_and_encoding(tmp_path: Path) -> None:
    pan = np.array([[0, 13001, 13300], [255000, 11002, 10000]], np.int32)
    rgb = encode_kitti_panoptic(pan)
    assert rgb[0, 2].tolist() == [13, 300 // 256, 300 % 256]  # R = semantic, G = inst // 256, B = inst % 256
    write_kitti_panoptic(tmp_path / "p.png", pan)
    back = read_kitti_panoptic(tmp_path / "p.png", KITTI_STEP, expected_hw=(2, 3))
    assert back.dtype == np.int32
    np.testing.assert_array_equal(back, pan)
    assert list(tmp_path.iterdir()) == [tmp_path / "p.png"]  # no temp file left behind


def test_read_image_grayscale_rgba_and_rgb(tmp_path: Path) -> None:
    gray = np.arange(12, dtype=np.uint8).reshape(3, 4)
    cv2.imwrite(str(tmp_path / "g.png"), gray)
    img = read_image(tmp_path / "g.png")
    assert img.shape == (3, 4, 3) and (img[..., 0] == gray).all() and (img[..., 2] == gray).all()
    rgb = np.random.default_rng(0).integers(0, 256, (5, 6, 3), dtype=np.uint8)
    write_image(tmp_path / "c.png", rgb)
    np.testing.assert_array_equal(read_image(tmp_path / "c.png"), rgb)
    bgra = np.dstack([rgb[..., ::-1], np.full((5, 6), 255, np.uint8)])
    cv2.imwrite(str(tmp_path / "a.png"), bgra)
    np.testing.assert_array_equal(read_image(tmp_path / "a.png"), rgb)


def test_read_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"missing.png: file not found"):
        read_image(tmp_path / "missing.png")
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(DataError, match=r"empty.png: file is empty"):
        read_image(tmp_path / "empty.png")
    write_image(tmp_path / "t.png", np.zeros((20, 20, 3), np.uint8))
    data = (tmp_path / "t.png").read_bytes()
    (tmp_path / "t.png").write_bytes(data[: len(data) - 20])
    with pytest.raises(DataError, match=r"t.png: not a readable image"):
        read_kitti_panoptic(tmp_path / "t.png")
    cv2.imwrite(str(tmp_path / "g.png"), np.zeros((4, 4), np.uint8))
    with pytest.raises(DataError, match=r"g.png: KITTI-STEP label must be an 8-bit 3-channel PNG"):
        read_kitti_panoptic(tmp_path / "g.png")
    cv2.imwrite(str(tmp_path / "w.png"), np.zeros((4, 4), np.uint16))
    with pytest.raises(DataError, match=r"w.png: expected an 8-bit image"):
        read_image(tmp_path / "w.png")


def test_validate_panoptic() -> None:
    pan = np.array([[0, 18000, 255000]], np.int32)
    validate_panoptic(pan, KITTI_STEP, "x")
    with pytest.raises(DataError, match=r"frame7: semantic ids \[19, 200\] out of range"):
        validate_panoptic(np.array([[19000, 200000, 0]]), KITTI_STEP, "frame7")
    with pytest.raises(DataError, match="does not match"):
        validate_panoptic(pan, KITTI_STEP, "x", expected_hw=(2, 3))


def test_encode_rejects_bad_input(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="2-D"):
        encode_kitti_panoptic(np.zeros((1, 2, 3), np.int32))
    with pytest.raises(ValueError, match="0..255"):
        encode_kitti_panoptic(np.array([[300000]]))
    with pytest.raises(ValueError, match="uint8"):
        write_image(tmp_path / "x.png", np.zeros((2, 2), np.uint8))


def test_cityscapes_decoding(tmp_path: Path) -> None:
    seg = np.array([[7, 7, 26000, 26001], [26002, 26, 23, 99]], np.int64)  # 99 is not listed
    rgb = np.stack([seg % 256, seg // 256 % 256, seg // 65536], -1).astype(np.uint8)
    write_image(tmp_path / "p.png", rgb)
    infos = [{"id": 7, "category_id": 0}, {"id": 26000, "category_id": 13, "iscrowd": 0},
             {"id": 26001, "category_id": 13}, {"id": 26002, "category_id": 11},
             {"id": 26, "category_id": 13, "iscrowd": 1}, {"id": 23, "category_id": 10}]
    pan = read_cityscapes_panoptic(tmp_path / "p.png", infos, CITYSCAPES)
    assert pan.tolist() == [[0, 0, 13001, 13002], [11003, 13000, 10000, 255000]]
    with pytest.raises(DataError, match="category 40"):
        read_cityscapes_panoptic(tmp_path / "p.png", [{"id": 7, "category_id": 40}], CITYSCAPES)


def test_atomic_write_bytes_replaces_whole_file(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "f.bin"
    atomic_write_bytes(target, b"first")
    atomic_write_bytes(target, b"second")
    assert target.read_bytes() == b"second"
    assert [p.name for p in target.parent.iterdir()] == ["f.bin"]
