"""vps-viz end to end: every mode to MP4 and GIF, prediction folders, real samples, bad input -> exit 2."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.data.test_kitti_step import make_frame, make_kitti_step
from vps.data.codecs import write_kitti_panoptic
from vps.viz import count_frames
from vps.viz.cli import main

HW = (30, 44)


@pytest.fixture(scope="module")
def kitti(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_kitti_step(tmp_path_factory.mktemp("viz") / "k", "val", {"0000": 4, "0002": 3}, HW)


@pytest.fixture(scope="module")
def preds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Label-only prediction folder for sequence 0002 (track 1 renamed to 7)."""
    root = tmp_path_factory.mktemp("viz") / "pred"
    for f in range(3):
        pan = make_frame(f, HW, seed=2)[1]
        pan[pan == 13001] = 13007
        write_kitti_panoptic(root / "panoptic_maps/val/0002" / f"{f:06d}.png", pan)
    return root


def _error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err.strip().splitlines()[-1]


@pytest.mark.parametrize("mode", ["overlay", "panoptic", "semantic", "instance", "panel", "image"])
@pytest.mark.parametrize("ext", ["mp4", "gif"])
def test_every_mode_renders_every_frame(kitti: Path, tmp_path: Path, mode: str, ext: str) -> None:
    out = tmp_path / f"{mode}.{ext}"
    assert main([str(kitti), "--out", str(out), "--mode", mode, "--fps", "5"]) == 0
    assert count_frames(out) == 7
    if ext == "gif" and mode == "panel":
        with Image.open(out) as im:
            assert im.size == (2 * HW[1] + 4, HW[0] + 14)  # image | labels, under 14-pixel title bars


def test_one_sequence_and_default_mode(
    kitti: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "s.mp4"
    assert main([str(kitti), "--out", str(out), "--sequence", "0002", "--split", "val"]) == 0
    assert count_frames(out) == 3
    assert "3 frames (overlay" in capsys.readouterr().out


def test_prediction_folder_with_gt_panel(kitti: Path, preds: Path, tmp_path: Path) -> None:
    out = tmp_path / "cmp.gif"
    assert main([str(preds), "--gt", str(kitti), "--mode", "panel", "--out", str(out)]) == 0
    with Image.open(out) as im:
        assert im.n_frames == 3 and im.size == (3 * HW[1] + 2 * 4, HW[0] + 14)  # image | pred | gt
    assert main([str(preds), "--out", str(tmp_path / "p.mp4")]) == 0  # labels only: panoptic view
    assert count_frames(tmp_path / "p.mp4") == 3
    assert main([str(preds), "--images", str(kitti), "--out", str(tmp_path / "o.mp4")]) == 0
    assert count_frames(tmp_path / "o.mp4") == 3


def test_real_image_only_folder(shared_data: Path, tmp_path: Path) -> None:
    folder = shared_data / "kitti_odometry_gray/KITTI_sequence_1/image_l"
    out = tmp_path / "seq1.mp4"
    assert main([str(folder), "--out", str(out), "--max-width", "320"]) == 0
    assert count_frames(out) == 51


def test_real_cityscapes_sample(shared_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "cs.gif"
    assert main([str(shared_data / "cityscapes_panoptic_sample"), "--out", str(out), "--mode", "panel",
                 "--max-width", "400"]) == 0
    with Image.open(out) as im:
        assert im.n_frames == 1 and im.size[0] == 400


def test_bad_input_exits_2_with_one_line(
    kitti: Path, preds: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = str(tmp_path / "x.mp4")
    assert main([str(tmp_path / "missing"), "--out", out]) == 2
    assert _error_line(capsys) == f"vps-viz: error: {tmp_path / 'missing'}: folder not found"
    (tmp_path / "empty").mkdir()
    assert main([str(tmp_path / "empty"), "--out", out]) == 2
    assert "no image files found" in _error_line(capsys)
    assert main([str(kitti), "--out", str(tmp_path / "x.avi")]) == 2
    assert ".mp4 or .gif" in _error_line(capsys)
    assert main([str(kitti), "--out", out, "--split", "train"]) == 2
    assert "splits present: ['val']" in _error_line(capsys)
    assert main([str(preds), "--out", out, "--mode", "overlay"]) == 2
    assert "has no images" in _error_line(capsys)
    assert main([str(kitti), "--out", out, "--sequence", "0009"]) == 2
    assert "0009" in _error_line(capsys)
    assert main([str(kitti), "--out", out, "--mode", "bogus"]) == 2
    assert not (tmp_path / "x.mp4").exists()


def test_missing_ground_truth_frame(kitti: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pred = tmp_path / "pred"
    write_kitti_panoptic(pred / "panoptic_maps/val/0002/000009.png", np.zeros(HW, np.int32))
    assert main([str(pred), "--gt", str(kitti), "--mode", "panel", "--out", str(tmp_path / "c.mp4")]) == 2
    line = _error_line(capsys)
    assert "000009.png" in line and line.startswith("vps-viz: error:")
    assert list(tmp_path.glob("*.mp4")) == [] and list(tmp_path.glob(".*")) == []


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "--mode" in capsys.readouterr().out
