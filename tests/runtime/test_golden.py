"""The shipped checkpoint's deployed path, pinned bit for bit: what vps-run (ONNX Runtime, fp32, 1 thread,
tracking, warm start) writes for a fixed synthetic clip. Recorded before the frame engine was unified; any
change to the engine, the frame program or the export must keep these maps or say why in a new golden."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

CHECKPOINT = Path(__file__).resolve().parents[2] / "checkpoints" / "tiny_synth.pt"
GOLDEN = Path(__file__).parent / "data" / "golden_shipped.npz"

pytestmark = pytest.mark.slow


def test_shipped_checkpoint_vps_run_maps_are_unchanged(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("onnxscript")
    from vps.data.synth import cli as synth
    from vps.export import cli as export_cli
    from vps.runtime import Segmenter

    assert synth.main([str(tmp_path / "data"), "--sequences", "1", "--frames", "6", "--size", "72x240",
                       "--seed", "4242", "--split", "val", "--quiet"]) == 0
    assert export_cli.main(["--checkpoint", str(CHECKPOINT), "--engine", "onnx", "--steps", "2",
                            "--no-verify", "--out", str(tmp_path / "export"), "--no-progress"]) == 0
    seg = Segmenter.load(tmp_path / "export", backend="onnxruntime", threads=1, seed=3)
    images = sorted((tmp_path / "data" / "images" / "val" / "0000").glob("*.png"))
    got = [seg.step(cv2.imread(str(p))) for p in images]
    golden = np.load(GOLDEN)
    np.testing.assert_array_equal(np.stack([r.panoptic for r in got]), golden["panoptic"])
    np.testing.assert_array_equal(np.stack([r.track_ids for r in got]), golden["track_ids"])


def test_shipped_checkpoint_vps_predict_maps_are_pinned(tmp_path: Path) -> None:
    # vps-predict runs the same frame engine on the torch backend (the model's own ids, no tracker); recorded
    # when it moved onto the engine (its noise is the engine's seeded NumPy draw since then)
    pytest.importorskip("torch")
    from vps.data.codecs import read_kitti_panoptic
    from vps.data.meta import KITTI_STEP
    from vps.data.synth import cli as synth
    from vps.train import predict

    assert synth.main([str(tmp_path / "data"), "--sequences", "1", "--frames", "6", "--size", "72x240",
                       "--seed", "4242", "--split", "val", "--quiet"]) == 0
    assert predict.main(["--checkpoint", str(CHECKPOINT), "--input", str(tmp_path / "data"), "--out",
                         str(tmp_path / "pred"), "--steps", "4", "--threads", "1", "--no-progress"]) == 0
    maps = [read_kitti_panoptic(p, KITTI_STEP)
            for p in sorted((tmp_path / "pred" / "panoptic_maps" / "val" / "0000").glob("*.png"))]
    golden = np.load(Path(__file__).parent / "data" / "golden_predict.npz")["panoptic"]
    np.testing.assert_array_equal(np.stack(maps), golden)
