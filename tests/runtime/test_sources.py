"""Frame sources of vps-run: image folders, KITTI-STEP roots, video files, cameras, and their errors."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from vps.errors import DataError
from vps.runtime.sources import CameraSource, ImageDirSource, KittiRootSource, VideoSource, open_source


def write_png(path: Path, value: int, hw: tuple[int, int] = (12, 20), gray: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    shape = hw if gray else (*hw, 3)
    assert cv2.imwrite(str(path), np.full(shape, value, np.uint8))


def write_video(path: Path, n: int, hw: tuple[int, int] = (32, 64)) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, (hw[1], hw[0]))
    for k in range(n):
        writer.write(np.full((*hw, 3), 20 * k, np.uint8))
    writer.release()


def test_image_folder_numeric_names_give_frame_numbers(tmp_path: Path) -> None:
    for n in (10, 2, 7):
        write_png(tmp_path / "cam" / f"{n:06d}.png", n, gray=True)
    (tmp_path / "cam" / "notes.txt").write_text("ignored")
    src = open_source(tmp_path / "cam")
    assert isinstance(src, ImageDirSource) and src.num_frames == 3 and src.sequences == ["cam"]
    got = [(f.sequence, f.frame, f.image.shape, int(f.image[0, 0])) for f in src]
    assert got == [("cam", 2, (12, 20), 2), ("cam", 7, (12, 20), 7), ("cam", 10, (12, 20), 10)]
    assert [f.frame for f in open_source(tmp_path / "cam", max_frames=2)] == [2, 7]


def test_image_folder_other_names_are_numbered_in_order(tmp_path: Path) -> None:
    for name in ("b.png", "a.jpg", "c.png"):
        write_png(tmp_path / name, 1)
    src = open_source(tmp_path, sequence="front")
    assert [(f.sequence, f.frame, Path(f.origin).name) for f in src] == [
        ("front", 0, "a.jpg"), ("front", 1, "b.png"), ("front", 2, "c.png")]
    assert open_source(tmp_path / "b.png").num_frames == 1  # a single image file


def test_kitti_root_keeps_split_sequences_and_frames(tmp_path: Path) -> None:
    for seq in ("0000", "0003"):
        for f in (0, 1):
            write_png(tmp_path / "images" / "val" / seq / f"{f:06d}.png", f)
    src = open_source(tmp_path)
    assert isinstance(src, KittiRootSource) and src.split == "val" and src.sequences == ["0000", "0003"]
    assert [(f.sequence, f.frame, f.image.shape) for f in src] == [
        (s, f, (12, 20, 3)) for s in ("0000", "0003") for f in (0, 1)]
    assert open_source(tmp_path, sequence="0003", max_frames=1).num_frames == 1
    with pytest.raises(DataError, match="unknown sequence"):
        open_source(tmp_path, sequence="0042")
    with pytest.raises(DataError, match="split folder not found"):
        open_source(tmp_path, split="train")


def test_corrupt_image_raises_naming_the_file_when_reached(tmp_path: Path) -> None:
    for n in range(4):
        write_png(tmp_path / f"{n:06d}.png", n)
    (tmp_path / "000002.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    frames = iter(open_source(tmp_path))
    assert [next(frames).frame for _ in range(2)] == [0, 1]
    with pytest.raises(DataError, match="000002.png.*not a readable image"):
        next(frames)


def test_video_file(tmp_path: Path) -> None:
    write_video(tmp_path / "drive.mp4", 5)
    src = open_source(tmp_path / "drive.mp4", max_frames=4)
    assert isinstance(src, VideoSource) and src.num_frames == 4 and src.sequences == ["drive"]
    got = list(src)
    assert [f.frame for f in got] == [0, 1, 2, 3] and got[0].image.shape == (32, 64, 3)
    assert got[1].origin.endswith("drive.mp4 frame 1")


def test_unreadable_or_truncated_video_is_a_data_error(tmp_path: Path) -> None:
    (tmp_path / "junk.mp4").write_bytes(b"\0" * 1000)
    with pytest.raises(DataError, match="junk.mp4.*cannot open video"):
        open_source(tmp_path / "junk.mp4")
    write_video(tmp_path / "cut.mp4", 10)
    data = (tmp_path / "cut.mp4").read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(DataError, match="cut.mp4"):
        list(open_source(tmp_path / "cut.mp4"))


def test_camera_index_and_missing_input(tmp_path: Path) -> None:
    src = open_source("57", max_frames=3)
    assert isinstance(src, CameraSource) and src.sequences == ["camera57"] and src.num_frames is None
    with pytest.raises(DataError, match="camera 57"):
        list(src)  # no such device here
    with pytest.raises(DataError, match="input not found"):
        open_source(tmp_path / "nothing")
    with pytest.raises(DataError, match="no image files"):
        open_source(tmp_path)
    with pytest.raises(ValueError, match="max-frames"):
        open_source(tmp_path, max_frames=-1)
