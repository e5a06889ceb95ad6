"""``vps-run`` end to end on a really exported tiny model (the session fixture of test_segmenter_onnx.py)."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.runtime import test_segmenter_onnx
from tests.runtime.test_segmenter_onnx import Exported
from vps.data.codecs import read_kitti_panoptic
from vps.runtime.cli import display_rgb, main
from vps.runtime.manifest import load_manifest, write_manifest
from vps.viz import count_frames

pytestmark = pytest.mark.xdist_group("runtime_export")
exported = test_segmenter_onnx.exported  # the session fixture (one export per run, shared by both files)


def pngs(root: Path) -> list[Path]:
    return sorted(root.rglob("*.png"))


def test_help() -> None:
    assert main(["--help"]) == 0


def test_grayscale_kitti_frames_with_overlay_video(exported: Exported, shared_data: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    src = shared_data / "kitti_odometry_gray" / "KITTI_sequence_1" / "image_l"
    out, video = tmp_path / "run", tmp_path / "run.mp4"
    code = main(["--artifacts", str(exported.artifacts), "--input", str(src), "--out", str(out),
                 "--viz", str(video), "--max-frames", "3", "--no-progress"])
    assert code == 0
    files = pngs(out / "panoptic_maps")
    assert [p.relative_to(out).as_posix() for p in files] == [
        f"panoptic_maps/image_l/{k:06d}.png" for k in range(3)]
    first = cv2.imread(str(src / "000000.png"), cv2.IMREAD_UNCHANGED)
    assert first.ndim == 2  # grayscale, 1226 x 370: not the network's 3 x 32 x 64
    assert read_kitti_panoptic(files[0]).shape == first.shape
    assert count_frames(video) == 3
    text = capsys.readouterr().out
    assert "3 frames in 1 sequence(s)" in text and "median ms per frame" in text and "denoise_0" in text
    summary = json.loads((out / "run.json").read_text())
    assert summary["frames"] == 3 and summary["backend"] == "onnxruntime"
    assert set(summary["ms_per_stage"]) >= {"preprocess", "encoder", "decode", "tracking", "total"}


def test_kitti_root_with_ground_truth_is_scored_and_readable_by_vps_eval(
        exported: Exported, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from vps.data.synth import generate_dataset
    from vps.eval.cli import main as eval_main

    data = tmp_path / "data"
    generate_dataset(data, sequences=2, frames=3, size=(40, 72), seed=5, split="val", progress=False)
    out = tmp_path / "pred"
    assert main(["--artifacts", str(exported.artifacts), "--input", str(data), "--gt", str(data),
                 "--out", str(out), "--no-progress"]) == 0
    assert len(pngs(out / "panoptic_maps" / "val")) == 6
    assert "STQ" in capsys.readouterr().out
    metrics = json.loads((out / "run.json").read_text())["metrics"]
    assert 0.0 <= metrics["STQ"] <= 1.0
    assert eval_main(["--gt", str(data), "--pred", str(out), "--no-progress", "--json",
                      str(tmp_path / "m.json")]) == 0
    again = json.loads((tmp_path / "m.json").read_text())
    assert again["STQ"] == pytest.approx(metrics["STQ"])


def test_corrupt_png_mid_folder_exits_2_and_keeps_earlier_frames(
        exported: Exported, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    frames = tmp_path / "frames"
    frames.mkdir()
    rng = np.random.default_rng(0)
    for k in range(5):
        cv2.imwrite(str(frames / f"{k:06d}.png"), rng.integers(0, 256, (30, 50, 3), dtype=np.uint8))
    (frames / "000002.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    out = tmp_path / "out"
    code = main(["--artifacts", str(exported.artifacts), "--input", str(frames), "--out", str(out),
                 "--viz", str(tmp_path / "v.mp4"), "--no-progress"])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "000002.png" in err[0] and "not a readable image" in err[0]
    assert [p.name for p in pngs(out)] == ["000000.png", "000001.png"]
    assert count_frames(tmp_path / "v.mp4") == 2  # the video of the frames before it is kept too


def test_bad_inputs_exit_2_with_one_line(exported: Exported, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "junk.mp4").write_bytes(b"\0" * 100)
    args = ["--artifacts", str(exported.artifacts), "--out", str(tmp_path / "o"), "--no-progress"]
    assert main([*args, "--input", str(tmp_path / "junk.mp4")]) == 2
    assert "junk.mp4" in capsys.readouterr().err
    assert main([*args, "--input", str(tmp_path / "missing")]) == 2
    tampered = tmp_path / "art"
    shutil.copytree(exported.artifacts, tampered)
    with open(tampered / "encoder.onnx", "ab") as f:
        f.write(b"\0")
    assert main(["--artifacts", str(tampered), "--input", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "encoder.onnx" in err and "sha256" in err and err.count("\n") == 2
    bare = tmp_path / "no_ckpt"  # an export whose manifest does not record its checkpoint
    shutil.copytree(exported.artifacts, bare)
    write_manifest(bare, dataclasses.replace(load_manifest(bare), checkpoint=None))
    bare_args = ["--artifacts", str(bare), "--out", str(tmp_path / "o"), "--no-progress"]
    assert main([*bare_args, "--input", str(tmp_path), "--backend", "torch"]) == 2  # no --checkpoint
    assert "checkpoint" in capsys.readouterr().err


def test_display_rgb_conventions() -> None:
    bgr = np.zeros((2, 3, 3), np.uint8)
    bgr[..., 0] = 255  # blue in OpenCV's order
    assert display_rgb(bgr, rgb=False)[0, 0].tolist() == [0, 0, 255]
    assert display_rgb(bgr, rgb=True)[0, 0].tolist() == [255, 0, 0]
    assert display_rgb(np.full((2, 3), 7, np.uint8), rgb=False).shape == (2, 3, 3)
    assert display_rgb(np.zeros((2, 3, 4), np.uint8), rgb=False).shape == (2, 3, 3)
