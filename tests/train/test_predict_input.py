"""vps-predict --input that does not exist names it (finding 6 of issue 17; before: 'several splits ([])')."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("torch")

from vps.train.predict import main  # noqa: E402


def test_missing_input_is_named_before_anything_else(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "no_such_data"
    code = main(["--checkpoint", str(tmp_path / "also_missing.pt"), "--input", str(missing), "--out",
                 str(tmp_path / "pred"), "--no-progress"])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(missing) in err[0] and "input folder not found" in err[0]
    assert "splits" not in err[0] and not (tmp_path / "pred").exists()
