"""Fuzz: vps-eval on prediction folders with damaged, missing, extra or misshapen files: exit 0, or exit 2
with one line naming a file, never a traceback, and never a partial --json file."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from vps.data.codecs import write_kitti_panoptic
from vps.eval.cli import main

CAR, ROAD, SKY = 13_000, 0, 10_000


def _frame(t: int) -> np.ndarray:
    pan = np.full((6, 10), SKY, np.int32)
    pan[3:] = ROAD
    pan[2:5, t:t + 3] = CAR + 1
    return pan


def _dataset(root: Path) -> None:
    for seq in ("0000", "0001"):
        for t in range(2):
            write_kitti_panoptic(root / seq / f"{t:06d}.png", _frame(t))


MUTATIONS = ["delete", "garbage", "empty", "resize", "gray", "extra_frame", "extra_seq", "dir", "bad_class",
             "none"]


def _mutate(pred: Path, kind: str, target: Path, blob: bytes) -> None:
    if kind == "delete":
        target.unlink()
    elif kind == "garbage":
        target.write_bytes(blob)
    elif kind == "empty":
        target.write_bytes(b"")
    elif kind == "resize":
        write_kitti_panoptic(target, np.full((7, 9), SKY, np.int32))
    elif kind == "gray":
        cv2.imwrite(str(target), np.zeros((6, 10), np.uint8))
    elif kind == "extra_frame":
        write_kitti_panoptic(target.parent / "000099.png", _frame(0))
    elif kind == "extra_seq":
        write_kitti_panoptic(pred / "0042" / "000000.png", _frame(0))
    elif kind == "dir":
        target.unlink()
        target.mkdir()
    elif kind == "bad_class":
        write_kitti_panoptic(target, np.full((6, 10), 200_000, np.int32))


MUTATION = st.tuples(st.sampled_from(MUTATIONS), st.sampled_from(["0000", "0001"]), st.integers(0, 1),
                     st.binary(max_size=40))


@given(mutations=st.lists(MUTATION, min_size=1, max_size=3))
def test_damaged_prediction_folders_exit_0_or_2_with_one_line(
        mutations: list[tuple[str, str, int, bytes]], capsys: pytest.CaptureFixture[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        gt, pred, out = Path(tmp) / "gt", Path(tmp) / "pred", Path(tmp) / "m.json"
        _dataset(gt)
        shutil.copytree(gt, pred)
        for kind, seq, t, blob in mutations:
            target = pred / seq / f"{t:06d}.png"
            if target.is_file():
                _mutate(pred, kind, target, blob)
        capsys.readouterr()
        code = main(["--gt", str(gt), "--pred", str(pred), "--json", str(out), "--no-progress"])
        err = capsys.readouterr().err
        assert "Traceback" not in err
        if code == 0:
            assert out.is_file()
        else:
            assert code == 2
            errors = [ln for ln in err.splitlines() if ln.startswith("vps-eval: error:")]
            assert len(errors) == 1 and str(pred) in errors[0], err
            assert not out.exists() and not list(Path(tmp).glob(".m.json*"))
