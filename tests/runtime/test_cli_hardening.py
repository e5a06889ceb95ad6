"""vps-run hardening on a really exported tiny model (issue 17, findings 2, 3, 4 and the library noise of 8).

Every failure is one line, exit 2, decided before the first frame when it can be; what was written stays
valid (PNGs, a run.json marked incomplete) and a rerun needs --overwrite to replace it.
"""

from __future__ import annotations

import errno
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.fs_faults import unwritable_dir
from tests.runtime import test_segmenter_onnx
from tests.runtime.test_segmenter_onnx import Exported
from vps.data.codecs import read_kitti_panoptic
from vps.runtime import cli
from vps.runtime.cli import main

pytestmark = pytest.mark.xdist_group("runtime_export")
exported = test_segmenter_onnx.exported  # the session fixture (one export per run)


def frames_dir(root: Path, sizes: list[tuple[int, int]]) -> Path:
    folder = root / "frames"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for k, (h, w) in enumerate(sizes):
        cv2.imwrite(str(folder / f"{k:06d}.png"), rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
    return folder


def run(exported: Exported, src: Path, out: Path, *extra: str) -> int:
    return main(["--artifacts", str(exported.artifacts), "--input", str(src), "--out", str(out),
                 "--no-progress", *extra])


def one_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("vps-run: error:"), err
    return err[0]


def test_size_change_starts_a_new_sequence_folder(exported: Exported, tmp_path: Path) -> None:
    src = frames_dir(tmp_path, [(30, 50)] * 3 + [(40, 60)] * 2)
    out = tmp_path / "out"
    assert run(exported, src, out) == 0
    maps = out / "panoptic_maps"
    assert sorted(p.relative_to(maps).as_posix() for p in maps.rglob("*.png")) == [
        "frames/000000.png", "frames/000001.png", "frames/000002.png",
        "frames_part01/000003.png", "frames_part01/000004.png"]
    assert read_kitti_panoptic(maps / "frames_part01" / "000003.png").shape == (40, 60)
    summary = json.loads((out / "run.json").read_text())
    assert summary["complete"] is True
    assert [f["folder"] for f in summary["folders"]] == ["frames", "frames_part01"]
    assert "size changed" in summary["folders"][1]["reason"]


def test_size_change_can_be_refused_naming_the_frame(exported: Exported, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    src = frames_dir(tmp_path, [(30, 50)] * 2 + [(40, 60)])
    out = tmp_path / "out"
    assert run(exported, src, out, "--on-size-change", "error") == 2
    line = one_line(capsys)
    assert "000002.png" in line and "size changed" in line
    assert len(list((out / "panoptic_maps").rglob("*.png"))) == 2
    summary = json.loads((out / "run.json").read_text())
    assert summary["complete"] is False and "000002.png" in summary["error"]


def test_out_is_a_file_or_unwritable_exits_2_before_any_frame(exported: Exported, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    src = frames_dir(tmp_path, [(30, 50)])
    taken = tmp_path / "taken.txt"
    taken.write_text("mine")
    assert run(exported, src, taken) == 2
    assert str(taken) in one_line(capsys) and taken.read_text() == "mine"
    with unwritable_dir(tmp_path) as locked:
        assert run(exported, src, locked / "vps_out") == 2
        assert "vps_out" in one_line(capsys)
        out = tmp_path / "ok"
        assert run(exported, src, out, "--viz", str(locked / "vps_v.mp4")) == 2
        assert "--viz" in one_line(capsys)
        assert not out.exists()  # refused before the first frame: nothing written


@pytest.mark.parametrize("bad", [["--viz", "x.avi"], ["--fps", "0"], ["--fps", "nan"]])
def test_bad_viz_options_are_refused_before_the_first_frame(bad: list[str], exported: Exported,
                                                            tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    src = frames_dir(tmp_path, [(30, 50)] * 2)
    out = tmp_path / "out"
    viz = [] if bad[0] == "--viz" else ["--viz", str(tmp_path / "v.mp4")]
    assert run(exported, src, out, *bad, *viz) == 2
    assert not out.exists()  # refused before the first frame: nothing written
    assert bad[0] in one_line(capsys)


def test_write_failure_mid_run_keeps_what_was_written_and_rerun_needs_overwrite(
        exported: Exported, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    src = frames_dir(tmp_path, [(30, 50)] * 4)
    out = tmp_path / "out"
    real = cli.write_kitti_panoptic

    def disk_full(path: Path, panoptic: np.ndarray, label_divisor: int = 1000) -> None:
        if path.name == "000002.png":
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real(path, panoptic, label_divisor)

    monkeypatch.setattr(cli, "write_kitti_panoptic", disk_full)
    assert run(exported, src, out) == 2
    line = one_line(capsys)
    assert "000002.png" in line and "No space left" in line
    pngs = sorted(p.name for p in (out / "panoptic_maps").rglob("*.png"))
    assert pngs == ["000000.png", "000001.png"]
    assert read_kitti_panoptic(out / "panoptic_maps" / "frames" / "000001.png").shape == (30, 50)
    summary = json.loads((out / "run.json").read_text())
    assert summary["complete"] is False and summary["frames"] == 2
    monkeypatch.setattr(cli, "write_kitti_panoptic", real)
    assert run(exported, src, out) == 2  # a rerun does not silently mix two runs
    assert "--overwrite" in one_line(capsys)
    (out / "notes.txt").write_text("mine")
    assert run(exported, src, out, "--overwrite") == 0
    assert len(list((out / "panoptic_maps").rglob("*.png"))) == 4
    assert json.loads((out / "run.json").read_text())["complete"] is True
    assert (out / "notes.txt").read_text() == "mine"


def test_library_noise_does_not_precede_the_one_line(exported: Exported, tmp_path: Path,
                                                     capfd: pytest.CaptureFixture[str]) -> None:
    src = frames_dir(tmp_path, [(30, 50)] * 3)
    good = (src / "000001.png").read_bytes()
    bad = bytearray(good)
    i = good.index(b"IDAT")
    bad[i + 10:i + 30] = bytes(20)  # libpng prints "libpng error: IDAT: ..." to fd 2
    (src / "000001.png").write_bytes(bytes(bad))
    assert run(exported, src, tmp_path / "out") == 2
    err = capfd.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "000001.png" in err[0] and "libpng" not in err[0], err


def test_black_frames_are_counted_in_run_json(exported: Exported, tmp_path: Path) -> None:
    src = frames_dir(tmp_path, [(30, 50)] * 2)
    cv2.imwrite(str(src / "000002.png"), np.zeros((30, 50, 3), np.uint8))
    cv2.imwrite(str(src / "000003.png"), np.zeros((30, 50, 3), np.uint8))
    out = tmp_path / "out"
    assert run(exported, src, out) == 0
    faults = json.loads((out / "run.json").read_text())["camera_faults"]
    assert faults["black"] == 2 and faults["frozen"] == 1 and faults["void"] == 2
    black = read_kitti_panoptic(out / "panoptic_maps" / "frames" / "000002.png")
    assert (black == 255 * 1000).all()  # void, no tracks, no invented classes
    again = tmp_path / "again"
    assert run(exported, src, again, "--void-faults", "") == 0  # counted, but segmented
    assert json.loads((again / "run.json").read_text())["camera_faults"]["void"] == 0
