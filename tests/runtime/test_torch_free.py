"""The runtime must import and work where torch (and triton/onnx) cannot be imported at all."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

BLOCKER = textwrap.dedent("""
    import importlib.abc, sys

    BLOCKED = {"torch", "triton", "onnx", "onnxscript", "torchvision"}

    class Blocker(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"blocked by test: {name}")
            return None

    sys.meta_path.insert(0, Blocker())
""")

EXERCISE = textwrap.dedent("""
    import sys
    import numpy as np
    import vps.runtime as rt
    from vps.data.meta import KITTI_STEP

    x, geom = rt.prepare_frame(np.zeros((20, 30, 3), np.uint8), (16, 16), (0.5,) * 3, (0.25,) * 3,
                               resize_mode="letterbox")
    assert x.shape == (1, 3, 16, 16) and rt.restore_labels(np.ones((8, 8), np.int32), geom).shape == (20, 30)
    table = rt.TrackTable(KITTI_STEP)
    pan = np.zeros((8, 8), np.int64)
    pan[2:6, 2:6] = 13 * 1000 + 7
    assert table.update(pan).tracks[0].id == 1
    state = rt.StreamState(tracker=table.state)
    state.reset()

    # the whole frame engine on ONNX Runtime: an export folder (handmade graphs) loaded and streamed
    folder = sys.argv[1]
    seg = rt.Segmenter.load(folder, backend="onnxruntime", threads=1)
    frames = [np.random.default_rng(k).integers(0, 256, (20, 30, 3), np.uint8) for k in range(3)]
    results = [seg.step(f) for f in frames]
    assert [r.warm_start for r in results] == [False, True, True]
    assert results[0].panoptic.shape == (20, 30) and seg.state.frame_index == 3
    bad = sorted(m for m in sys.modules
                 if m.split(".")[0] in {"torch", "onnx", "onnxscript", "torchvision"}
                 or m.startswith(("vps.model", "vps.train", "vps.export")))
    print("LOADED:", bad)
    print("TRITON:", "triton" in sys.modules)
    assert not bad, bad
""")


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An export folder of handmade ONNX graphs (written here, where onnx may be imported)."""
    from tests.runtime.test_backends import tiny_manifest

    path = tmp_path_factory.mktemp("torch_free") / "art"
    tiny_manifest(path)
    return path


def _run(code: str, folder: Path | None = None) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-c", code] + ([] if folder is None else [str(folder)])
    return subprocess.run(argv, capture_output=True, text=True, timeout=120)


def test_runtime_works_with_torch_unimportable(folder: Path) -> None:
    proc = _run(BLOCKER + EXERCISE, folder)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert "LOADED: []" in proc.stdout and "TRITON: False" in proc.stdout


def test_runtime_does_not_load_torch_even_when_installed(folder: Path) -> None:
    # catches optional `try: import torch` paths that the blocker above would hide
    proc = _run(EXERCISE, folder)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert "LOADED: []" in proc.stdout


def test_runtime_does_not_load_triton_even_when_installed(folder: Path) -> None:
    proc = _run(EXERCISE, folder)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert "TRITON: False" in proc.stdout


def test_blocker_really_blocks_torch() -> None:
    proc = _run(BLOCKER + "import torch")
    assert proc.returncode != 0 and "blocked by test: torch" in proc.stderr
