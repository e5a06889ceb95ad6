"""Video K-Net through vps-export: the knet_frame graph, its manifest (kernel plan), parity through the two
frame engines, the checkpoint and the artifacts streaming the same ids, int8 and a (fake) TensorRT build."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest

from tests.export import fake_tensorrt
from vps.data.meta import KITTI_STEP
from vps.export.cli import main
from vps.export.families import model_contracts
from vps.export.verify_data import synthetic_clips
from vps.model.checkpoint import load_for_inference
from vps.model.program import kernel_plan
from vps.runtime.manifest import load_manifest
from vps.runtime.segmenter import Segmenter

pytestmark = pytest.mark.xdist_group("vps_export")
ARGS = ["--verify-clips", "1", "--verify-frames", "3", "--threads", "1", "--no-progress"]


def test_manifest_holds_the_knet_graph_and_kernel_plan(knet_export: Path, knet_checkpoint: Path) -> None:
    manifest = load_manifest(knet_export)
    _, config, _ = load_for_inference(knet_checkpoint)
    program = manifest.program
    assert program.family == "video_knet" and program.sampler is None
    assert program.kernels == kernel_plan(config, KITTI_STEP) and program.kernels.num_kernels == 6 + 17
    assert (program.input_size, program.mask_size) == ((32, 64), (16, 32))
    (graph,) = manifest.graphs
    assert graph.name == "knet_frame" and graph.file == "knet_frame.onnx"
    assert [(t.name, t.shape) for t in graph.inputs] == [
        ("image", ("batch", 3, "height", "width")), ("prev_kernels", ("batch", 23, 16)),
        ("has_prev", ("batch",))]
    assert [(t.name, t.shape) for t in graph.outputs] == [
        ("scores", ("batch", 23, 19)), ("masks", ("batch", 23, "height/2", "width/2")),
        ("embeds", ("batch", 6, 8)), ("kernels", ("batch", 23, 16))]
    report = json.loads((knet_export / "parity.json").read_text())
    assert report["passed"] and report["pipeline"]["family"] == "video_knet" and report["steps"] is None
    assert list(report["graphs"]) == ["knet_frame", "knet_frame.scores", "knet_frame.masks",
                                      "knet_frame.embeds", "knet_frame.kernels"]
    assert report["graphs"]["knet_frame"]["teacher_forced_agreement"] >= 0.995
    assert report["graphs"]["knet_frame.masks"]["passed"] is None  # judged through the fused ids
    graphs = report["graphs"]
    assert graphs["knet_frame.kernels"]["passed"] and graphs["knet_frame.embeds"]["passed"]
    assert report["graphs"]["knet_frame"]["calls"] == 3 and report["closed_loop"]["agreement"] >= 0.995
    assert report["stq_change"] is not None and "parity.json" in manifest.files


def test_checkpoint_and_artifacts_stream_the_same_ids(knet_export: Path, knet_checkpoint: Path) -> None:
    clip = synthetic_clips(1, 4, (32, 64), seed=11)[0]
    engines = [Segmenter.from_checkpoint(knet_checkpoint, rgb=True),
               Segmenter.load(knet_export, backend="onnxruntime", threads=1, rgb=True),
               Segmenter.load(knet_export, backend="torch", rgb=True)]  # the manifest's checkpoint
    for image in clip.images:
        ref, *others = (e.step(image) for e in engines)
        for other in others:
            np.testing.assert_array_equal(ref.panoptic, other.panoptic)
            np.testing.assert_array_equal(ref.track_ids, other.track_ids)
    assert engines[1].state.carry.kernels.shape == (1, 23, 16) and engines[1].state.carry.has_prev


def test_verify_only_and_the_wrong_checkpoint(knet_export: Path, knet_checkpoint: Path, tiny_checkpoint: Path,
                                              tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "copy"
    shutil.copytree(knet_export, out)
    assert main(["--checkpoint", str(knet_checkpoint), "--out", str(out), "--verify-only", *ARGS]) == 0
    assert main(["--checkpoint", str(tiny_checkpoint), "--out", str(out), "--verify-only", *ARGS]) == 2
    assert "is a pix2seq_d model, the artifacts in" in capsys.readouterr().err


@pytest.mark.slow  # one more export (~8 s)
def test_int8_quantizes_the_convolutions_and_reports_agreement(knet_checkpoint: Path, tmp_path: Path) -> None:
    out = tmp_path / "int8"
    code = main(["--checkpoint", str(knet_checkpoint), "--out", str(out), "--precision", "int8", *ARGS])
    report = json.loads((out / "parity.json").read_text())
    agreement = report["graphs"]["knet_frame"]["teacher_forced_agreement"]
    assert report["precision"] == "int8" and 0.0 <= agreement <= 1.0
    # the pass marks (95 % agreement, relative error 0.25 for int8) decide, a failure is refused (exit 1)
    judged = [g["passed"] for g in report["graphs"].values() if g["passed"] is not None]
    assert judged[0] == (agreement >= 0.95) and len(judged) == 3  # fused ids, embeds, kernels
    assert report["passed"] == (all(judged) and report["closed_loop"]["agreement"] >= 0.95)
    assert code == (0 if report["passed"] else 1)
    graph = onnx.load(str(out / "knet_frame.onnx"))
    convs = [n for n in graph.graph.node if n.op_type == "Conv"]
    # every convolution but the first and the last (kept in float, find_targets' keep_ends)
    assert sum(n.input[0].endswith("DequantizeLinear_Output") for n in convs) == len(convs) - 2
    assert load_manifest(out).precision == "int8"


@pytest.mark.slow  # one more export (~9 s)
def test_fake_tensorrt_build_lists_the_knet_engine(knet_checkpoint: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.runtime.fake_cuda import FakeCudaOps
    from vps.runtime.backends.tensorrt import TensorRTBackend

    model, config, _ = load_for_inference(knet_checkpoint)
    trt = fake_tensorrt.make(graphs=model_contracts(model, config.model.family)[1])
    monkeypatch.setattr("vps.export.trt_build.require_tensorrt", lambda: (trt, "9.0"))
    out = tmp_path / "trt"
    args = ["--checkpoint", str(knet_checkpoint), "--out", str(out), "--engine", "trt", "--no-verify"]
    assert main([*args, "--batch-sizes", "1,1,2", "--no-progress"]) == 0
    manifest = load_manifest(out)
    (graph,) = manifest.graphs
    assert (graph.name, graph.file, graph.engine) == ("knet_frame", "knet_frame.engine", "trt")
    assert set(manifest.files) == {"knet_frame.onnx", "timing.cache"}
    assert manifest.graphs[0].profiles["prev_kernels"].max == (2, 23, 16)
    assert trt.state.builders[-1].config.profiles[0].shapes["has_prev"] == ((1,), (1,), (2,))
    monkeypatch.setitem(sys.modules, "tensorrt", trt)  # the engines run in the same (fake) TensorRT
    seg = Segmenter(manifest.program, TensorRTBackend(manifest, out, ops=FakeCudaOps()), track=False)
    frames = synthetic_clips(1, 2, (32, 64), seed=3)[0].images
    results = [seg.step(f) for f in frames]
    assert [r.warm_start for r in results] == [False, True] and results[1].panoptic.shape == (32, 64)
