"""Staging folders of killed exports: refused by vps-run, removed by the next export (issue 17, finding 7)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from vps.export.staging import MARKER, clean_stale, is_staging, staging_folder

REPO = Path(__file__).resolve().parents[2]


def _killed_export(out: Path) -> Path:
    """Run staging_folder in a child process that is killed mid-export; returns the folder it left."""
    code = (f"import os, signal\nfrom vps.export.staging import staging_folder\n"
            f"with staging_folder({str(out)!r}) as tmp:\n"
            f"    (tmp / 'manifest.json').write_text('{{}}')\n"
            f"    os.kill(os.getpid(), signal.SIGKILL)\n")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, timeout=60)
    assert proc.returncode != 0
    left = [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")]
    assert len(left) == 1
    return left[0]


def test_killed_export_leaves_a_marked_folder_that_the_next_export_removes(tmp_path: Path) -> None:
    out = tmp_path / "exp"
    left = _killed_export(out)
    assert is_staging(left) and (left / MARKER).is_file() and not out.exists()
    with staging_folder(out) as tmp:
        (tmp / "manifest.json").write_text("{}")
    assert not left.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["exp"]
    assert not is_staging(out) and not (out / MARKER).exists()


def test_live_writers_staging_is_not_removed(tmp_path: Path) -> None:
    out = tmp_path / "exp"
    with staging_folder(out) as tmp:
        assert clean_stale(out) == [] and tmp.is_dir()  # our own, still being written


def test_vps_run_refuses_a_staging_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from vps.runtime.cli import main

    left = _killed_export(tmp_path / "exp")
    (tmp_path / "frames").mkdir()
    assert main(["--artifacts", str(left), "--input", str(tmp_path / "frames"), "--out",
                 str(tmp_path / "o"), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(left) in err[0] and "unfinished export" in err[0]
    assert not (tmp_path / "o").exists()


def test_vps_export_refuses_to_replace_without_overwrite(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    from vps.export.cli import main

    out = tmp_path / "exp"
    out.mkdir()
    (out / "manifest.json").write_text("{}")
    (out / "notes.txt").write_text("mine")
    assert main(["--checkpoint", str(tmp_path / "c.pt"), "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--overwrite" in err[0] and str(out) in err[0]
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "notes.txt"]
