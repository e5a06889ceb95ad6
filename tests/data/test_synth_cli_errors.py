"""vps-synth output-location errors exit 2 with one line (finding 6 of issue 17; before: exit 1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fs_faults import unwritable_dir
from vps.data.synth.cli import main


def test_out_is_an_existing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "taken"
    target.write_text("not a dataset")
    assert main([str(target), "--sequences", "1", "--frames", "1", "--size", "16x32", "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(target) in err[0] and "not a folder" in err[0]
    assert target.read_text() == "not a dataset"


def test_unwritable_out_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with unwritable_dir(tmp_path) as locked:
        assert main([str(locked / "vps_ds"), "--sequences", "1", "--frames", "1", "--size", "16x32",
                     "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "vps_ds" in err[0] and "cannot write" in err[0]
