"""The runtime must import and work where torch (and triton/onnx) cannot be imported at all."""

from __future__ import annotations

import subprocess
import sys
import textwrap

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

    # the sampling host loop and the backends package (ONNX Runtime backend module included)
    import vps.runtime.backends.onnxruntime
    from vps.bits import BitLayout
    from vps.runtime.backends import open_backend
    from vps.runtime.sampling import SamplingLoop

    class Fake:
        name = "fake"
        def encode(self, images): return images[:, :1, ::2, ::2].repeat(4, axis=1)
        def context(self, cond, feats): return [feats]
        def denoise(self, x_t, ctx, gamma):
            return np.repeat(x_t[:, :1], 512, axis=1) * np.arange(512, dtype=np.float32)[None, :, None, None]
        def asarray(self, a): return a
        def to_numpy(self, a): return a

    sched = rt.SamplerSchedule("ddim", "cosine", 1.0, ((1.0, 0.0), (0.5, 0.0)), (1e-9, 0.5), (1.0, 1.0),
                               0.5, 0.5, ((0.5, 0.0),), (0.5,), (1.0,))
    loop = SamplingLoop(Fake(), sched, BitLayout(), seed=1, warm_start=True)
    for _ in range(2):
        assert loop.step(np.ones((1, 3, 8, 8), np.float32)).shape == (1, 4, 4)
    bad = sorted(m for m in sys.modules
                 if m.split(".")[0] in {"torch", "onnx", "onnxscript", "torchvision"}
                 or m.startswith(("vps.model", "vps.train", "vps.export")))
    print("LOADED:", bad)
    print("TRITON:", "triton" in sys.modules)
    assert not bad, bad
""")


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_runtime_works_with_torch_unimportable() -> None:
    proc = _run(BLOCKER + EXERCISE)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert "LOADED: []" in proc.stdout and "TRITON: False" in proc.stdout


def test_runtime_does_not_load_torch_even_when_installed() -> None:
    # catches optional `try: import torch` paths that the blocker above would hide
    proc = _run(EXERCISE)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert "LOADED: []" in proc.stdout


def test_runtime_does_not_load_triton_even_when_installed() -> None:
    proc = _run(EXERCISE)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert "TRITON: False" in proc.stdout


def test_blocker_really_blocks_torch() -> None:
    proc = _run(BLOCKER + "import torch")
    assert proc.returncode != 0 and "blocked by test: torch" in proc.stderr
