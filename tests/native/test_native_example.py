"""The C example over really exported graphs: the C API alone gives the Python runtime's track ids.

``cmake/examples/dump_logits.py`` runs the export folder (a random-weight tiny model, exported once per test
run by ``tests/runtime/test_segmenter_onnx.py``'s fixture) with the Python ONNX Runtime and dumps each
frame's logits and track ids; ``clip_example --logits DIR`` (built by ``make test`` into ``build/native``)
redoes the host work through the C API and exits 1 if any frame's track ids differ.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.runtime.test_segmenter_onnx import exported  # noqa: F401  (session fixture: the export folder)
from tests.scripts import load_script

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "build" / "native" / "clip_example"

pytestmark = pytest.mark.xdist_group("runtime_export")


def _dump_logits():
    return load_script("cmake/examples/dump_logits.py", "dump_logits")


def test_c_example_matches_python_runtime(exported, tmp_path, numpy_twins):  # noqa: F811
    """The Python side runs on the NumPy twins (VPS_NATIVE=off): C API vs the reference runtime."""
    if not EXAMPLE.is_file():
        pytest.skip(f"{EXAMPLE} not built; run `make native` (or make test)")
    out = tmp_path / "clip"
    args = ["--artifacts", str(exported.artifacts), "--out", str(out), "--frames", "6"]
    assert _dump_logits().main(args) == 0
    run = subprocess.run([str(EXAMPLE), "--logits", str(out)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.count("equal the Python runtime's") == 6


def test_c_example_stub_and_help():
    if not EXAMPLE.is_file():
        pytest.skip(f"{EXAMPLE} not built; run `make native` (or make test)")
    assert "usage" in subprocess.run([str(EXAMPLE), "--help"], capture_output=True, text=True).stdout
    run = subprocess.run([str(EXAMPLE), "--frames", "4"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and "4 frames, 2 tracks created" in run.stdout
