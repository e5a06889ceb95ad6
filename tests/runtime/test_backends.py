"""ONNX Runtime backend on small handcrafted graphs with the exporter's names (no torch involved)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from tests.runtime.programs import make_manifest, make_program
from vps.runtime.backends import open_backend
from vps.runtime.backends.base import Backend, BackendUnavailableError
from vps.runtime.backends.onnxruntime import OnnxRuntimeBackend
from vps.runtime.manifest import GraphSpec, Manifest, TensorSpec, write_manifest
from vps.runtime.segmenter import Segmenter

F = TensorProto.FLOAT


def _vi(name: str, shape: list) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, F, shape)


def _save(path: Path, nodes: list, inputs: list, outputs: list, inits: list) -> None:
    model = helper.make_model(helper.make_graph(nodes, path.stem, inputs, outputs, initializer=inits),
                              opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def _write_graphs(folder: Path) -> None:
    """encoder: strided conv; context: conv + pool; the denoiser graphs: conv of [x_t, ctx0] + gamma +
    mean(ctx1), then the DDIM move (step) or argmax ids (final)."""
    rng = np.random.default_rng(0)

    def w(name: str, *shape: int, s: float = 0.3) -> onnx.TensorProto:
        return numpy_helper.from_array(rng.normal(0, s, shape).astype(np.float32), name)

    _save(folder / "encoder.onnx", [helper.make_node("Conv", ["image", "we"], ["feats"], strides=[2, 2])],
          [_vi("image", ["b", 3, "H", "W"])], [_vi("feats", ["b", 4, "h", "w"])], [w("we", 4, 3, 2, 2)])
    _save(folder / "context.onnx",
          [helper.make_node("Concat", ["cond", "feats"], ["cf"], axis=1),
           helper.make_node("Conv", ["cf", "wc"], ["ctx0"]),
           helper.make_node("AveragePool", ["ctx0"], ["ctx1"], kernel_shape=[2, 2], strides=[2, 2])],
          [_vi("cond", ["b", 32, "h", "w"]), _vi("feats", ["b", 4, "h", "w"])],
          [_vi("ctx0", ["b", 8, "h", "w"]), _vi("ctx1", ["b", 8, "h2", "w2"])], [w("wc", 8, 36, 1, 1)])
    axes = numpy_helper.from_array(np.array([1, 2, 3], np.int64), "axes")
    ab_axes = numpy_helper.from_array(np.array([2, 3], np.int64), "ab_axes")
    divisor = numpy_helper.from_array(np.array(1000, np.int64), "divisor")
    shared = [helper.make_node("Concat", ["x_t", "ctx0"], ["xc"], axis=1),
              helper.make_node("Unsqueeze", ["gamma", "axes"], ["g4"]),
              helper.make_node("ReduceMean", ["ctx1", "axes"], ["m"])]
    step_inputs = [_vi("x_t", ["b", 16, "h", "w"]), _vi("ctx0", ["b", 8, "h", "w"]),
                   _vi("ctx1", ["b", 8, "h2", "w2"]), _vi("gamma", ["b"])]
    _save(folder / "denoiser_step.onnx",  # x_next = (conv([x_t, ctx0]) + gamma + mean(ctx1)) * a + x_t * b
          shared + [helper.make_node("Conv", ["xc", "wd"], ["conv"]),
                    helper.make_node("Add", ["conv", "g4"], ["cg"]),
                    helper.make_node("Add", ["cg", "m"], ["x0"]),
                    helper.make_node("Split", ["coef"], ["a", "b"], axis=1, num_outputs=2),
                    helper.make_node("Unsqueeze", ["a", "ab_axes"], ["a4"]),
                    helper.make_node("Unsqueeze", ["b", "ab_axes"], ["b4"]),
                    helper.make_node("Mul", ["x0", "a4"], ["ax"]),
                    helper.make_node("Mul", ["x_t", "b4"], ["bx"]),
                    helper.make_node("Add", ["ax", "bx"], ["x_next"])],
          step_inputs + [_vi("coef", ["b", 2])], [_vi("x_next", ["b", 16, "h", "w"])],
          [w("wd", 16, 24, 1, 1), axes, ab_axes])
    _save(folder / "denoiser_final.onnx",  # ids = argmax(class logits) * 1000 + argmax(instance logits)
          shared + [helper.make_node("Conv", ["xc", "wf"], ["conv"]),
                    helper.make_node("Add", ["conv", "g4"], ["cg"]),
                    helper.make_node("Add", ["cg", "m"], ["logits"]),
                    helper.make_node("Split", ["logits"], ["lc", "li"], axis=1, num_outputs=2),
                    helper.make_node("ArgMax", ["lc"], ["c"], axis=1, keepdims=0),
                    helper.make_node("ArgMax", ["li"], ["i"], axis=1, keepdims=0),
                    helper.make_node("Mul", ["c", "divisor"], ["c1000"]),
                    helper.make_node("Add", ["c1000", "i"], ["ids64"]),
                    helper.make_node("Cast", ["ids64"], ["ids"], to=TensorProto.INT32)],
          step_inputs, [helper.make_tensor_value_info("ids", TensorProto.INT32, ["b", "h", "w"])],
          [w("wf", 32, 24, 1, 1, s=2.0), axes, divisor])


def tiny_manifest(folder: Path) -> Manifest:
    """Write the three handcrafted graphs and their manifest to ``folder``; returns the manifest."""
    folder.mkdir(parents=True, exist_ok=True)
    _write_graphs(folder)
    b = "batch"
    steps = [("x_t", (b, 16, "height/2", "width/2")), ("ctx0", (b, 8, "height/2", "width/2")),
             ("ctx1", (b, 8, "height/4", "width/4")), ("gamma", (b,))]
    specs = {
        "encoder": ([("image", (b, 3, "height", "width"))], [("feats", (b, 4, "height/2", "width/2"))]),
        "context": ([("cond", (b, 32, "height/2", "width/2")), ("feats", (b, 4, "height/2", "width/2"))],
                    [("ctx0", (b, 8, "height/2", "width/2")), ("ctx1", (b, 8, "height/4", "width/4"))]),
        "denoiser_step": ([*steps, ("coef", (b, 2))], [("x_next", (b, 16, "height/2", "width/2"))]),
        "denoiser_final": (steps, [("ids", (b, "height/2", "width/2"), "int32")]),
    }
    graphs = tuple(GraphSpec(name, f"{name}.onnx", "onnx", "fp32", tuple(TensorSpec(*t) for t in ins),
                             tuple(TensorSpec(*t) for t in outs)) for name, (ins, outs) in specs.items())
    manifest = make_manifest(make_program((16, 24), preset="handmade"), graphs,
                             versions={"onnx": onnx.__version__})
    return write_manifest(folder, manifest)


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    tiny_manifest(tmp_path / "art")
    return tmp_path / "art"


def _images(n: int, batch: int = 1) -> list[np.ndarray]:
    rng = np.random.default_rng(1)
    return [rng.normal(size=(batch, 3, 16, 24)).astype(np.float32) for _ in range(n)]


def test_open_backend_and_run_the_frame_engine(folder: Path) -> None:
    backend = open_backend(folder)
    assert isinstance(backend, OnnxRuntimeBackend) and isinstance(backend, Backend)
    assert backend.ctx_names == ("ctx0", "ctx1")
    frames = [np.random.default_rng(k).integers(0, 256, (16, 24, 3), np.uint8) for k in range(3)]
    runs = []
    for _ in range(2):
        seg = Segmenter(backend.manifest.program, backend, seed=4, track=False)
        runs.append([seg.step(f).panoptic for f in frames])
    for a, b in zip(*runs, strict=True):
        assert a.shape == (16, 24) and a.dtype == np.int32
        np.testing.assert_array_equal(a, b)
    assert len({r.tobytes() for r in runs[0]}) > 1  # conditioning / warm start changes later frames


def test_io_binding_path_matches_plain_run(folder: Path) -> None:
    plain, bound = (open_backend(folder, io_binding=flag) for flag in (False, True))
    x = _images(1, batch=2)[0]
    (feats,) = plain.run("encoder", x)
    cond = np.zeros((2, 32, 8, 12), np.float32)
    ctx_plain, ctx_bound = plain.run("context", cond, feats), bound.run("context", cond, feats)
    assert isinstance(ctx_bound[0], ort.OrtValue)  # the context stays on the device for the steps
    x_t, gamma = np.ones((2, 16, 8, 12), np.float32), np.array([0.2, 0.7], np.float32)
    coef = np.array([[0.5, 0.5], [1.0, 0.0]], np.float32)
    np.testing.assert_allclose(bound.run("denoiser_step", x_t, ctx_bound, gamma, coef)[0],
                               plain.run("denoiser_step", x_t, ctx_plain, gamma, coef)[0],
                               rtol=1e-6, atol=1e-6)
    ids = bound.run("denoiser_final", x_t, ctx_bound, gamma)[0]
    assert ids.dtype == np.int32 and ids.shape == (2, 8, 12)
    np.testing.assert_array_equal(ids, plain.run("denoiser_final", x_t, ctx_plain, gamma)[0])
    np.testing.assert_array_equal(bound.to_numpy(ctx_bound[1]), ctx_plain[1])


def test_cuda_without_gpu_build_is_one_line(folder: Path) -> None:
    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("onnxruntime-gpu is installed here")
    with pytest.raises(BackendUnavailableError, match="onnxruntime-gpu") as e:
        open_backend(folder, device="cuda")
    assert "\n" not in str(e.value)


def test_mismatched_manifest_is_refused(folder: Path) -> None:
    manifest = tiny_manifest(folder)
    trt_graph = replace(manifest.graphs[0], engine="trt", file="encoder.engine")
    with pytest.raises(ValueError, match="ONNX Runtime backend runs ONNX graphs"):
        OnnxRuntimeBackend(replace(manifest, graphs=(trt_graph, *manifest.graphs[1:]),
                                   versions={"tensorrt": "10.0"}, compute_capability="8.7"), folder)
    renamed = replace(manifest.graphs[0], outputs=(TensorSpec("features", ("batch", 4, 8, 12)),))
    with pytest.raises(ValueError, match="differ from the manifest"):
        OnnxRuntimeBackend(replace(manifest, graphs=(renamed, *manifest.graphs[1:])), folder)
    with pytest.raises(ValueError, match="float32"):
        open_backend(folder).run("encoder", np.zeros((1, 3, 16, 24), np.float64))
