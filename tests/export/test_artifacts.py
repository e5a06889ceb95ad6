"""The atomic staging folder of an export (the frame program it records: tests/model/test_program.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from vps.export.artifacts import staging_folder


def test_staging_replaces_a_previous_export_atomically(tmp_path: Path) -> None:
    out = tmp_path / "exp"
    out.mkdir()
    (out / "manifest.json").write_text('{"files": {"old.onnx": ""}, "graphs": [{"file": "enc.onnx"}]}')
    (out / "old.onnx").write_text("old")
    (out / "enc.onnx").write_text("old")
    (out / "parity.json").write_text("{}")
    (out / "my_notes.txt").write_text("the user's own file")
    with staging_folder(out) as tmp:
        (tmp / "new.onnx").write_text("new")
        assert out.is_dir() and (out / "old.onnx").exists()  # untouched until the end
    # what the old export wrote is replaced; the user's own file is kept (issue 17, finding 7)
    assert sorted(p.name for p in out.iterdir()) == ["my_notes.txt", "new.onnx"]
    assert (out / "my_notes.txt").read_text() == "the user's own file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exp"]  # no temp or backup folders left


def test_staging_cleans_up_on_error_and_refuses_foreign_folders(tmp_path: Path) -> None:
    out = tmp_path / "exp"
    with pytest.raises(RuntimeError, match="boom"), staging_folder(out) as tmp:
        (tmp / "half.onnx").write_text("x")
        raise RuntimeError("boom")
    assert not out.exists() and not list(tmp_path.iterdir())
    out.mkdir()
    (out / "thesis.pdf").write_text("precious")
    with pytest.raises(ValueError, match="not an export folder"), staging_folder(out):
        pass
    assert (out / "thesis.pdf").exists()
