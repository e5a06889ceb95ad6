"""--check-trt lint on handcrafted ONNX graphs (no TensorRT needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from vps.export.cli import main
from vps.export.trt_lint import lint_model
from vps.export.trt_lint import main as lint_main

F = TensorProto.FLOAT


def _model(nodes: list, inputs: list, outputs: list, inits: list | None = None,
           opset: int = 18) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=inits or [])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    return model


def _clean() -> onnx.ModelProto:
    """Conv -> Relu -> Reshape to a constant shape: nothing to report."""
    w = numpy_helper.from_array(np.ones((4, 3, 3, 3), np.float32), "w")
    shape = numpy_helper.from_array(np.array([1, -1], np.int64), "shape")
    return _model([helper.make_node("Conv", ["x", "w"], ["c"], name="conv", pads=[1, 1, 1, 1]),
                   helper.make_node("Relu", ["c"], ["r"], name="relu"),
                   helper.make_node("Reshape", ["r", "shape"], ["y"], name="flat")],
                  [helper.make_tensor_value_info("x", F, [1, 3, 8, 8])],
                  [helper.make_tensor_value_info("y", F, None)], [w, shape])


def _with_unsupported_op() -> onnx.ModelProto:
    """Unique (unsupported by the TensorRT parser) plus an int64 data path."""
    return _model([helper.make_node("Unique", ["x"], ["u"], name="uniq", sorted=1),
                   helper.make_node("Cast", ["u"], ["y"], name="to_int", to=TensorProto.INT64)],
                  [helper.make_tensor_value_info("x", F, [16])],
                  [helper.make_tensor_value_info("y", TensorProto.INT64, None)])


def test_clean_graph_has_no_findings() -> None:
    assert lint_model(_clean(), "clean.onnx") == []


def test_unsupported_op_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    findings = lint_model(_with_unsupported_op(), "bad.onnx")
    errors = [f for f in findings if f.severity == "error"]
    assert [(f.node, f.op) for f in errors] == [("uniq", "Unique")]
    assert "not supported" in errors[0].message
    path = tmp_path / "bad.onnx"
    onnx.save(_with_unsupported_op(), str(path))
    assert main(["--check-trt", "--out", str(path)]) == 1
    out = capsys.readouterr().out
    assert "node 'uniq' (Unique)" in out and "1 error(s)" in out
    onnx.save(_clean(), str(tmp_path / "clean.onnx"))
    (tmp_path / "bad.onnx").unlink()
    assert lint_main([str(tmp_path)]) == 0


def test_restrictions_and_patterns() -> None:
    shape_of = helper.make_node("Shape", ["x"], ["s"], name="shape")
    nonzero = helper.make_node("NonZero", ["x"], ["nz"], name="nz")  # int64 [rank, n]: data, not a shape
    reshape = helper.make_node("Reshape", ["x", "dyn"], ["r"], name="dyn_rank")  # shape of unknown length
    resize = helper.make_node("Resize", ["x", "", "scales"], ["z"], name="aa", mode="linear", antialias=1)
    q = helper.make_node("QuantizeLinear", ["x", "sc", "zp"], ["q"], name="q")
    dq = helper.make_node("DequantizeLinear", ["q", "sc", "zp"], ["d"], name="dq")
    inits = [numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales"),
             numpy_helper.from_array(np.array(0.1, np.float32), "sc"),
             numpy_helper.from_array(np.array(3, np.int8), "zp")]
    model = _model([shape_of, nonzero, reshape, resize, q, dq],
                   [helper.make_tensor_value_info("x", F, [1, 3, 4, 4]),
                    helper.make_tensor_value_info("dyn", TensorProto.INT64, ["n"])],
                   [helper.make_tensor_value_info(n, F, None) for n in ("r", "z", "d")]
                   + [helper.make_tensor_value_info("nz", TensorProto.INT64, None),
                      helper.make_tensor_value_info("s", TensorProto.INT64, None)], inits)
    findings = {(f.severity, f.node): f.message for f in lint_model(model, "m.onnx")}
    assert "dynamic-rank" in findings[("error", "dyn_rank")]
    assert "antialiasing" in findings[("error", "aa")]
    assert "zero point" in findings[("error", "q")] and "zero point" in findings[("error", "dq")]
    assert "int64" in findings[("warning", "nz")]
    assert ("warning", "shape") not in findings  # Shape's int64 output is a shape path


def test_custom_domain_and_bad_types_are_errors() -> None:
    node = helper.make_node("FusedThing", ["x"], ["y"], name="custom", domain="com.example")
    model = _model([node, helper.make_node("Cast", ["x"], ["s"], name="to_u16", to=TensorProto.UINT16)],
                   [helper.make_tensor_value_info("x", F, [2])],
                   [helper.make_tensor_value_info("y", F, [2]), helper.make_tensor_value_info("s", 4, [2])])
    model.opset_import.append(helper.make_opsetid("com.example", 1))
    msgs = [f.message for f in lint_model(model, "c.onnx") if f.severity == "error"]
    assert any("custom-domain" in m for m in msgs) and any("uint16" in m for m in msgs)
