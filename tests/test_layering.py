"""The package's layering contract (pyproject.toml [tool.importlinter]) holds, and there is one frame loop."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept() -> None:
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    if exe is None:
        pytest.skip("import-linter is not installed (pip install 'vps-toolkit[dev]')")
    proc = subprocess.run([exe, "--config", str(ROOT / "pyproject.toml")], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 broken" in proc.stdout and "data < model < train KEPT" in proc.stdout


def test_only_the_frame_engine_keeps_previous_predictions() -> None:
    # one frame engine: no other module holds a stream's previous masks (what the old per-caller loops did)
    pattern = re.compile(r"\bprev_bits\b|self\.prev\b|warm_latent")
    holders = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "vps").rglob("*.py")
                     if pattern.search(p.read_text()))
    assert holders == ["vps/runtime/pix2seq_d.py"], holders
