"""``vps-eval`` in-process on tiny KITTI-STEP folders, including every error path (exit 2, file named)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from vps.data.codecs import write_kitti_panoptic
from vps.data.meta import KITTI_STEP
from vps.eval import Evaluator
from vps.eval.cli import main

CAR, PERSON, ROAD, SKY, VOID = 13_000, 11_000, 0, 10_000, 255_000


def _gt_frame(t: int) -> np.ndarray:
    pan = np.full((6, 10), SKY, np.int32)
    pan[3:] = ROAD
    pan[2:5, t:t + 3] = CAR + 1  # a car moving right
    pan[1:4, 8] = PERSON + 2
    pan[0, 0] = VOID
    return pan


def _pred_frame(t: int) -> np.ndarray:
    pan = _gt_frame(t)
    if t >= 2:
        pan[pan == CAR + 1] = CAR + 5  # the track is split from frame 2 on
    pan[5, :2] = SKY  # a semantic error
    return pan


def _write(root: Path, frames: dict[str, list[np.ndarray]]) -> Path:
    for seq, maps in frames.items():
        for t, pan in enumerate(maps):
            write_kitti_panoptic(root / seq / f"{t:06d}.png", pan)
    return root


@pytest.fixture()
def folders(tmp_path: Path) -> tuple[Path, Path]:
    gt = {s: [_gt_frame(t) for t in range(4)] for s in ("0000", "0001")}
    pred = {s: [_pred_frame(t) for t in range(4)] for s in ("0000", "0001")}
    _write(tmp_path / "gt" / "panoptic_maps" / "val", gt)
    _write(tmp_path / "pred", pred)  # predictions without the split level
    return tmp_path / "gt", tmp_path / "pred"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main([*argv, "--no-progress"])
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_writes_json_matching_the_in_memory_evaluator(folders: tuple[Path, Path], tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    gt, pred = folders
    rc, out, err = _run(capsys, "--gt", str(gt), "--pred", str(pred), "--json", str(tmp_path / "m.json"),
                        "--vpq-windows", "1,2")
    assert rc == 0, err
    d = json.loads((tmp_path / "m.json").read_text())
    ev = Evaluator(KITTI_STEP, (1, 2))
    for s in ("0000", "0001"):
        for t in range(4):
            ev.update(_gt_frame(t), _pred_frame(t), s)
    want = ev.result().to_dict()
    for key in ("STQ", "AQ", "SQ", "VPQ", "PQ"):
        assert d[key] == pytest.approx(want[key])
    assert 0 < d["AQ"] < 1 and 0 < d["SQ"] < 1
    assert set(d["per_sequence"]) == {"0000", "0001"}
    assert set(d["per_sequence"]["0000"]) >= {"STQ", "AQ", "SQ"}
    assert set(d["VPQ_k"]) == {"1", "2"} and "per_class" in d["PQ_details"]
    assert "STQ" in out and "0001" in out and "car" in out


def test_perfect_prediction_and_other_layouts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    frames = {"0003": [_gt_frame(t) for t in range(3)]}
    _write(tmp_path / "gt" / "val", frames)  # {split}/{seq} without panoptic_maps
    _write(tmp_path / "pred" / "panoptic_maps" / "val", frames)
    rc, _, err = _run(capsys, "--gt", str(tmp_path / "gt"), "--pred", str(tmp_path / "pred"),
                      "--split", "val", "--json", str(tmp_path / "o.json"), "--workers", "1")
    assert rc == 0, err
    d = json.loads((tmp_path / "o.json").read_text())
    assert d["STQ"] == d["VPQ"] == d["PQ"] == pytest.approx(1.0)


def test_extra_prediction_sequence_is_a_warning(folders: tuple[Path, Path],
                                                capsys: pytest.CaptureFixture[str]) -> None:
    gt, pred = folders
    _write(pred, {"0009": [_gt_frame(0)]})
    rc, _, err = _run(capsys, "--gt", str(gt), "--pred", str(pred))
    assert rc == 0 and "0009" in err and "skipped" in err


def _expect_error(capsys: pytest.CaptureFixture[str], gt: Path, pred: Path, names: Path | str,
                  *extra: str) -> str:
    rc, _, err = _run(capsys, "--gt", str(gt), "--pred", str(pred), *extra)
    assert rc == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vps-eval: error:"), err
    assert str(names) in lines[0]
    return lines[0]


def test_missing_prediction_sequence(folders: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    gt, pred = folders
    for f in (pred / "0001").iterdir():
        f.unlink()
    (pred / "0001").rmdir()
    _expect_error(capsys, gt, pred, pred / "0001")


def test_missing_and_extra_prediction_frames(folders: tuple[Path, Path],
                                             capsys: pytest.CaptureFixture[str]) -> None:
    gt, pred = folders
    (pred / "0000" / "000002.png").unlink()
    _expect_error(capsys, gt, pred, pred / "0000" / "000002.png")
    write_kitti_panoptic(pred / "0000" / "000002.png", _pred_frame(2))
    write_kitti_panoptic(pred / "0001" / "000009.png", _pred_frame(0))
    _expect_error(capsys, gt, pred, pred / "0001" / "000009.png")


def test_size_mismatch(folders: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    gt, pred = folders
    write_kitti_panoptic(pred / "0001" / "000003.png", _pred_frame(3)[:, :8])
    line = _expect_error(capsys, gt, pred, pred / "0001" / "000003.png")
    assert "8x6" in line and "10x6" in line


def test_unreadable_files(folders: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    gt, pred = folders
    bad_pred = pred / "0000" / "000001.png"
    bad_pred.write_bytes(b"not a png")
    _expect_error(capsys, gt, pred, bad_pred)
    write_kitti_panoptic(bad_pred, _pred_frame(1))
    bad_gt = gt / "panoptic_maps" / "val" / "0001" / "000000.png"
    bad_gt.write_bytes(b"")
    _expect_error(capsys, gt, pred, bad_gt)


def test_invalid_semantic_id_in_prediction(folders: tuple[Path, Path],
                                           capsys: pytest.CaptureFixture[str]) -> None:
    gt, pred = folders
    write_kitti_panoptic(pred / "0000" / "000000.png", np.full((6, 10), 42_000))
    _expect_error(capsys, gt, pred, pred / "0000" / "000000.png")


def test_layout_errors(folders: tuple[Path, Path], tmp_path: Path,
                       capsys: pytest.CaptureFixture[str]) -> None:
    gt, pred = folders
    _expect_error(capsys, tmp_path / "nope", pred, tmp_path / "nope")
    _expect_error(capsys, gt, pred, "test", "--split", "test")
    _write(gt / "panoptic_maps" / "train", {"0000": [_gt_frame(0)]})
    assert "--split" in _expect_error(capsys, gt, pred, gt / "panoptic_maps")
    rc, _, err = _run(capsys, "--gt", str(gt), "--pred", str(pred), "--split", "val")
    assert rc == 0, err


def test_usage_errors_and_help(folders: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    gt, pred = folders
    assert _run(capsys, "--gt", str(gt), "--pred", str(pred), "--vpq-windows", "0,2")[0] == 2
    assert _run(capsys, "--gt", str(gt), "--pred", str(pred), "--dataset", "nope")[0] == 2
    assert _run(capsys, "--help")[0] == 0
