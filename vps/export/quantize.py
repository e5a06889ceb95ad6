"""INT8 explicit quantization: Q/DQ nodes written into the fp32 ONNX graphs from a calibration pass.

No implicit TensorRT calibrator (deprecated): the graph itself says what is int8, so TensorRT (strongly
typed, explicit quantization) and ONNX Runtime (which runs the same file, so the int8 artifacts can be
verified on a CPU) compute the same thing.

* Calibration: the fp32 graphs run in ONNX Runtime on recorded inputs (frames of fresh synthetic clips
  through the host loop); every activation that feeds a quantized operator is an extra graph output and
  its running max |x| is its range (simple per-tensor max calibration).
* Activations: per-tensor symmetric int8, ``scale = amax / 127``, zero point 0 (TensorRT requires 0),
  one ``QuantizeLinear -> DequantizeLinear`` pair per tensor, shared by all its quantized consumers.
* Weights: per-output-channel symmetric int8 stored as int8 initializers followed by a
  ``DequantizeLinear`` (axis = output channel), so the files shrink and TensorRT folds them.
* Quantized operators: ``Conv`` by default (:data:`DEFAULT_OPS`); optionally also ``MatMul`` / ``Gemm`` whose
  second input is a weight initializer (attention's activation x activation products always stay in float).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

QMAX = 127.0
# Convolutions only: ONNX Runtime's CPU provider fuses Q/DQ around Conv into int8 kernels (faster than fp32),
# while a Q/DQ MatMul with a weight initializer ran slower than fp32 there (measured in benchmarks/README.md).
DEFAULT_OPS = ("Conv",)
ALL_OPS = ("Conv", "MatMul", "Gemm")


@dataclass(frozen=True)
class QuantTarget:
    """One operator to quantize: activation input, weight initializer, the weight's channel axis."""

    node: str
    activation: str
    weight: str
    axis: int


def find_targets(model: Any, keep_ends: bool = True, ops: Sequence[str] = DEFAULT_OPS) -> list[QuantTarget]:
    """The quantizable operators of an ONNX model (see the module docstring), in graph order.

    ``keep_ends``: leave the first and the last of them in float (input stem, output head). ``ops``: the
    operator types to quantize (default :data:`DEFAULT_OPS`).
    """
    inits = {t.name: t for t in model.graph.initializer}
    out = []
    for i, node in enumerate(model.graph.node):
        if node.op_type not in ops or len(node.input) < 2:
            continue
        act, weight = node.input[0], node.input[1]
        if weight not in inits or act in inits:
            continue
        dims = tuple(inits[weight].dims)
        if node.op_type == "Conv":
            axis = 0
        elif node.op_type == "MatMul":
            if len(dims) != 2:
                continue
            axis = 1  # [K, N]: N output channels
        else:
            trans_b = next((a.i for a in node.attribute if a.name == "transB"), 0)
            trans_a = next((a.i for a in node.attribute if a.name == "transA"), 0)
            if trans_a or len(dims) != 2:
                continue
            axis = 0 if trans_b else 1
        out.append(QuantTarget(node.name or f"node{i}", act, weight, axis))
    if keep_ends and len(out) > 2:  # the first and last layers are the most sensitive: keep them float
        out = out[1:-1]
    return out


def calibrate(model: Any, feeds: Iterable[dict[str, np.ndarray]], tensors: Sequence[str]) -> dict[str, float]:
    """Max |x| of each of ``tensors`` over ``feeds`` (ONNX Runtime on the CPU, extra graph outputs)."""
    import onnx
    import onnxruntime as ort

    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    have = {o.name for o in probe.graph.output}
    for name in tensors:
        if name not in have:
            probe.graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # keep every tensor visible
    session = ort.InferenceSession(probe.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    amax = dict.fromkeys(tensors, 0.0)
    seen = 0
    for feed in feeds:
        for name, value in zip(tensors, session.run(list(tensors), feed), strict=True):
            amax[name] = max(amax[name], float(np.abs(value).max(initial=0.0)))
        seen += 1
    if not seen:
        raise ValueError("int8 calibration needs at least one input sample")
    return amax


def _scale(amax: float) -> float:
    return amax / QMAX if amax > 0 else 1.0


def quantize_weight(w: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel symmetric int8 ``(q int8 w.shape, scale float32 [C])`` with ``w ~ q * scale``."""
    moved = np.moveaxis(w, axis, 0).reshape(w.shape[axis], -1)
    amax = np.abs(moved).max(axis=1)
    scale = np.where(amax > 0, amax / QMAX, 1.0).astype(np.float32)  # [C]
    shape = [1] * w.ndim
    shape[axis] = -1
    q = np.clip(np.rint(w / scale.reshape(shape)), -QMAX, QMAX).astype(np.int8)
    return q, scale


def insert_qdq(model: Any, targets: Sequence[QuantTarget], amax: dict[str, float]) -> Any:
    """A copy of ``model`` with Q/DQ pairs on the targets' activations and DQ'd int8 weights."""
    import onnx
    from onnx import helper, numpy_helper

    out = onnx.ModelProto()
    out.CopyFrom(model)
    g = out.graph
    inits = {t.name: t for t in g.initializer}
    by_node = {t.node: t for t in targets}
    new_nodes, done_act, done_w = [], {}, {}
    for i, node in enumerate(g.node):
        t = by_node.get(node.name or f"node{i}")
        if t is not None:
            if t.activation not in done_act:
                s = _scale(amax[t.activation])
                base = f"{t.activation}_q"
                g.initializer.extend([numpy_helper.from_array(np.array(s, np.float32), base + "_scale"),
                                      numpy_helper.from_array(np.array(0, np.int8), base + "_zp")])
                new_nodes += [
                    helper.make_node("QuantizeLinear", [t.activation, base + "_scale", base + "_zp"],
                                     [base + "_int8"], name=base + "_Q"),
                    helper.make_node("DequantizeLinear", [base + "_int8", base + "_scale", base + "_zp"],
                                     [base + "_dq"], name=base + "_DQ")]
                done_act[t.activation] = base + "_dq"
            if t.weight not in done_w:
                q, scale = quantize_weight(numpy_helper.to_array(inits[t.weight]).astype(np.float32), t.axis)
                base = f"{t.weight}_q"
                g.initializer.extend([numpy_helper.from_array(q, base + "_int8"),
                                      numpy_helper.from_array(scale, base + "_scale"),
                                      numpy_helper.from_array(np.zeros(scale.shape, np.int8), base + "_zp")])
                new_nodes.append(helper.make_node(
                    "DequantizeLinear", [base + "_int8", base + "_scale", base + "_zp"], [base + "_dq"],
                    name=base + "_DQ", axis=t.axis))
                done_w[t.weight] = base + "_dq"
            node.input[0], node.input[1] = done_act[t.activation], done_w[t.weight]
        new_nodes.append(node)
    del g.node[:]
    g.node.extend(new_nodes)
    used = {i for n in g.node for i in n.input}
    keep = [t for t in g.initializer if t.name in used]  # fp32 weights now replaced by int8 ones
    del g.initializer[:]
    g.initializer.extend(keep)
    return out


def quantize_file(src: str | Path, dst: str | Path, feeds: Iterable[dict[str, np.ndarray]],
                  ops: Sequence[str] = DEFAULT_OPS) -> dict[str, Any]:
    """Calibrate ``src`` (fp32 ONNX) on ``feeds`` and write the Q/DQ model to ``dst``; returns a summary."""
    import onnx

    model = onnx.load(str(src))
    targets = find_targets(model, ops=ops)
    if not targets:
        raise ValueError(f"{src}: nothing to quantize (no Conv/MatMul/Gemm with weight initializers)")
    activations = sorted({t.activation for t in targets})
    amax = calibrate(model, feeds, activations)
    quantized = insert_qdq(model, targets, amax)
    onnx.checker.check_model(quantized, full_check=True)
    onnx.save(quantized, str(dst))
    return {"quantized_ops": len(targets), "activations": len(activations),
            "zero_range": sorted(n for n, v in amax.items() if v == 0)}


class _Feeds:
    """ONNX Runtime's ``CalibrationDataReader`` protocol over recorded feeds."""

    def __init__(self, feeds: Iterable[dict[str, np.ndarray]]) -> None:
        self._it = iter(feeds)

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._it, None)


def quantize_file_ort(src: str | Path, dst: str | Path, feeds: Iterable[dict[str, np.ndarray]],
                      ops: Sequence[str] = DEFAULT_OPS) -> dict[str, Any]:
    """The int8 graph for ONNX Runtime's CPU provider (``--engine onnx``): ONNX Runtime's own static QDQ
    quantizer with asymmetric uint8 activations and symmetric per-channel int8 weights (U8S8), quantized
    on both sides of every operator so its QDQ fusion turns them into integer kernels (``QLinearConv``).

    Measured on this project's CPU (1 thread, tiny denoiser step): fp32 20.6 ms, the symmetric Q/DQ of
    :func:`quantize_file` 24.9 ms (no integer kernel: inputs only, int8 activations), this 11.4 ms with
    99.96 % of the next sample's bits of the same sign. TensorRT needs symmetric activations (zero point 0),
    so ``--engine trt`` keeps :func:`quantize_file`. As there, a ``MatMul`` / ``Gemm`` is quantized only when
    its second input is a weight initializer (attention's activation x activation products stay in float),
    and the first and last quantizable operators stay in float (:func:`find_targets` ``keep_ends``).
    """
    import onnx
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static

    src, dst = Path(src), Path(dst)
    tmp = dst.with_name(f".{dst.name}.q.onnx")
    nodes = [t.node for t in find_targets(onnx.load(str(src)), keep_ends=True, ops=ops)]  # ends stay float
    try:
        quantize_static(str(src), str(tmp), _Feeds(feeds), quant_format=QuantFormat.QDQ,
                        op_types_to_quantize=list(ops), nodes_to_quantize=nodes, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
        model = onnx.load(str(tmp))
        onnx.checker.check_model(model, full_check=True)
        tmp.replace(dst)
    finally:
        tmp.unlink(missing_ok=True)
    quantized = sum(1 for n in model.graph.node if n.op_type in ops and any(
        i.endswith("_DequantizeLinear_Output") for i in n.input))
    return {"quantized_ops": quantized, "format": "QDQ U8S8 (onnxruntime.quantization)"}
