"""The VPS_NATIVE switch, the runtime's dispatch (same answers either way) and a whole segmenter stream."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from tests.native.conftest import random_panoptic
from tests.runtime.programs import make_program
from tests.runtime.test_segmenter import FakeBackend
from vps.bits import BitLayout, panoptic_to_bits
from vps.data.meta import KITTI_STEP
from vps.kernels import decode_panoptic
from vps.postprocess import postprocess_panoptic
from vps.runtime import native
from vps.runtime.frames import FrameGeometry, restore_labels
from vps.runtime.segmenter import Segmenter


def test_modes(monkeypatch):
    monkeypatch.setenv(native.ENV, "off")
    assert native.mode() == "off" and not native.enabled()
    native.set_mode("auto")
    try:
        assert native.mode() == "auto"
    finally:
        native.set_mode(None)
    monkeypatch.setenv(native.ENV, "maybe")
    with pytest.raises(ValueError, match="VPS_NATIVE"):
        native.mode()
    with pytest.raises(ValueError, match="native mode"):
        native.set_mode("fast")


def test_on_without_the_extension_says_how_to_build(monkeypatch):
    monkeypatch.setattr(native, "_module", None)
    monkeypatch.setattr(native, "_import_error", None)
    monkeypatch.setitem(sys.modules, "vps_native", None)  # import fails
    monkeypatch.setenv(native.ENV, "on")
    with pytest.raises(ImportError, match="pip install ./cmake"):
        native.module()
    monkeypatch.setenv(native.ENV, "auto")
    assert native.module() is None  # auto: the NumPy twins
    assert postprocess_panoptic(np.zeros((2, 2), np.int32), (13,)).shape == (2, 2)


def test_runtime_import_needs_no_extension():
    code = "import sys, vps.runtime, vps.runtime.native; assert 'vps_native' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("seed", range(3))
def test_runtime_entry_points_same_either_way(vn, seed):
    rng = np.random.default_rng(seed)
    pan = random_panoptic(rng, 24, 80)
    logits = rng.normal(0, 1, (1, 512, 24, 80)).astype(np.float32)
    geometry = FrameGeometry.fit((75, 250), (48, 160), "letterbox")
    labels = np.stack([pan, pan[::-1]])
    out = {}
    for mode in ("off", "on"):
        native.set_mode(mode)
        try:
            out[mode] = (postprocess_panoptic(pan, KITTI_STEP.thing_ids, 4, 1000, 3),
                         restore_labels(labels, geometry), panoptic_to_bits(pan),
                         decode_panoptic(logits, None, BitLayout().label_divisor))
        finally:
            native.set_mode(None)
    for a, b in zip(out["off"], out["on"], strict=True):
        assert a.dtype == b.dtype and np.array_equal(a, b)


def _scene(frame: int) -> np.ndarray:
    """Two cars and a person crossing a road (8 x 16 mask); the model's ids switch at frame 5."""
    pan = np.zeros((8, 16), np.int64)
    pan[:2] = 10 * 1000
    x = frame % 12
    pan[3:6, x: x + 3] = 13 * 1000 + (1 if frame < 5 else 9)
    pan[5:8, 15 - x - 2: 15 - x] = 13 * 1000 + 2
    pan[2:4, 6:8] = 11 * 1000 + 3 if frame % 4 else 11 * 1000
    return pan


def test_segmenter_stream_same_either_way(vn):
    frames = [np.random.default_rng(f).integers(0, 256, (30, 61, 3), np.uint8) for f in range(24)]
    results = {}
    for mode in ("off", "on"):
        native.set_mode(mode)
        try:
            seg = Segmenter(make_program(), FakeBackend(_scene), min_part_area=1)  # type: ignore[arg-type]
            results[mode] = [seg.step(f) for f in frames[:12]]
            seg.reset()
            results[mode] += [seg.step(f) for f in frames[12:]]
        finally:
            native.set_mode(None)
    for a, b in zip(results["off"], results["on"], strict=True):
        assert np.array_equal(a.panoptic, b.panoptic) and np.array_equal(a.track_ids, b.track_ids)
        assert a.tracks == b.tracks and a.frame_index == b.frame_index
