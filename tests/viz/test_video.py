"""VideoWriter: MP4 / GIF frame counts, odd sizes, mixed sizes, atomic output."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from vps.viz import VideoWriter, count_frames
from vps.viz.video import even_pad


def frames(n: int, hw: tuple[int, int]) -> list[np.ndarray]:
    out = []
    for k in range(n):
        f = np.zeros((*hw, 3), np.uint8)
        f[:, : (k + 1) * hw[1] // (n + 1)] = (40 * k % 256, 255, 128)  # a growing bar: every frame differs
        out.append(f)
    return out


@pytest.mark.parametrize("hw", [(30, 40), (31, 43)])
def test_mp4_keeps_every_frame_even_with_odd_sizes(tmp_path: Path, hw: tuple[int, int]) -> None:
    out = tmp_path / "v.mp4"
    with VideoWriter(out, fps=5) as vw:
        for f in frames(7, hw):
            vw.write(f)
    assert vw.frames_written == 7 and count_frames(out) == 7
    cap = cv2.VideoCapture(str(out))
    ok, first = cap.read()
    cap.release()
    assert ok and first.shape[:2] == (hw[0] + hw[0] % 2, hw[1] + hw[1] % 2)
    assert [p.name for p in tmp_path.iterdir()] == ["v.mp4"]  # temp file renamed away


def test_gif_frames_duration_and_mixed_sizes(tmp_path: Path) -> None:
    out = tmp_path / "v.gif"
    with VideoWriter(out, fps=4) as vw:
        for f in frames(4, (20, 30)) + frames(2, (25, 30)):  # later frames letterboxed to 20x30
            vw.write(f)
    assert count_frames(out) == 6
    with Image.open(out) as im:
        assert im.size == (30, 20) and im.info["duration"] == 250


def test_failed_render_leaves_no_file(tmp_path: Path) -> None:
    out = tmp_path / "v.mp4"
    with pytest.raises(RuntimeError), VideoWriter(out) as vw:
        vw.write(frames(1, (8, 8))[0])
        raise RuntimeError("render failed")
    assert list(tmp_path.iterdir()) == []


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=".mp4 or .gif"):
        VideoWriter(tmp_path / "v.avi")
    with pytest.raises(ValueError, match="fps"):
        VideoWriter(tmp_path / "v.gif", fps=0)
    vw = VideoWriter(tmp_path / "v.gif")
    with pytest.raises(ValueError, match="uint8"):
        vw.write(np.zeros((4, 4), np.uint8))
    with pytest.raises(ValueError, match="no frames"):
        vw.close()
    assert even_pad(np.ones((3, 5, 3), np.uint8)).shape == (4, 6, 3)
