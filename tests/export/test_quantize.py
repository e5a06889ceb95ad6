"""int8 explicit quantization: Q/DQ insertion on a handcrafted graph, run by ONNX Runtime, linted clean."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from vps.export.quantize import ALL_OPS, find_targets, quantize_file, quantize_weight
from vps.export.trt_lint import lint_model


def _model() -> onnx.ModelProto:
    """x [N,3,8,8] -> Conv(3->8) -> Relu -> Conv(8->8) -> Relu -> Flatten -> MatMul [512,4] -> y; plus a
    MatMul of two activations (must stay float)."""
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(rng.normal(0, 0.3, (8, 3, 3, 3)).astype(np.float32), "w1"),
             numpy_helper.from_array(rng.normal(0, 0.2, (8, 8, 3, 3)).astype(np.float32), "w2"),
             numpy_helper.from_array(rng.normal(0, 0.05, (512, 4)).astype(np.float32), "w3")]
    nodes = [helper.make_node("Conv", ["x", "w1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
             helper.make_node("Conv", ["r1", "w2"], ["c2"], name="conv2", pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c2"], ["r2"], name="relu2"),
             helper.make_node("Flatten", ["r2"], ["f"], name="flat"),
             helper.make_node("MatMul", ["f", "w3"], ["y"], name="fc"),
             helper.make_node("MatMul", ["f", "ft"], ["gram"], name="gram"),
             helper.make_node("Transpose", ["f"], ["ft"], name="t")]
    nodes = nodes[:6] + [nodes[7], nodes[6]]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3, 8, 8])
    graph = helper.make_graph(nodes, "q", [x],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 4]),
                               helper.make_tensor_value_info("gram", TensorProto.FLOAT, ["n", "n"])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    return model


def test_targets_skip_activation_products_and_ends() -> None:
    all_targets = find_targets(_model(), keep_ends=False, ops=ALL_OPS)
    assert [t.node for t in all_targets] == ["conv1", "conv2", "fc"]
    assert [t.axis for t in all_targets] == [0, 0, 1]
    assert [t.node for t in find_targets(_model(), ops=ALL_OPS)] == ["conv2"]
    assert [t.node for t in find_targets(_model(), keep_ends=False)] == ["conv1", "conv2"]  # default: Conv


def test_weight_quantization_is_per_channel_symmetric() -> None:
    w = np.array([[1.0, -0.5], [0.01, 0.02]], np.float32)
    q, scale = quantize_weight(w, axis=0)
    assert q.dtype == np.int8 and np.abs(q).max() == 127
    np.testing.assert_allclose(q * scale[:, None], w, atol=scale.max() / 2)


def test_quantized_model_runs_and_stays_close(tmp_path: Path) -> None:
    src, dst = tmp_path / "fp32.onnx", tmp_path / "int8.onnx"
    onnx.save(_model(), str(src))
    rng = np.random.default_rng(1)
    feeds = [{"x": rng.normal(size=(2, 3, 8, 8)).astype(np.float32)} for _ in range(4)]
    summary = quantize_file(src, dst, feeds, ops=ALL_OPS)
    assert summary["quantized_ops"] == 1
    quantized = onnx.load(str(dst))
    ops = [n.op_type for n in quantized.graph.node]
    assert ops.count("QuantizeLinear") == 1 and ops.count("DequantizeLinear") == 2
    assert any(t.data_type == TensorProto.INT8 and len(t.dims) == 4 for t in quantized.graph.initializer)
    assert "w2" not in {t.name for t in quantized.graph.initializer}  # replaced by its int8 copy
    assert [f for f in lint_model(quantized, "int8.onnx") if f.severity == "error"] == []
    x = rng.normal(size=(3, 3, 8, 8)).astype(np.float32)
    ref = ort.InferenceSession(str(src), providers=["CPUExecutionProvider"]).run(["y"], {"x": x})[0]
    out = ort.InferenceSession(str(dst), providers=["CPUExecutionProvider"]).run(["y"], {"x": x})[0]
    assert np.abs(out - ref).max() <= 0.05 * np.abs(ref).max()
