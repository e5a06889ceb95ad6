"""``--check-trt``: lint ONNX graphs for what the TensorRT ONNX parser cannot take, without TensorRT.

Facts are encoded from onnx-tensorrt's ``docs/operators.md`` (TensorRT 10.x support matrix, 10.15 edition:
opsets 9..24; TensorRT 10.0 parses opsets 9..20). The lint walks each graph (after ONNX shape inference,
so intermediate types and ranks are known) and reports:

* **errors** (exit 1): operators marked unsupported (or absent from the matrix, e.g. custom domains),
  restrictions of supported operators that the graph violates (Resize modes/antialias, Q/DQ zero points,
  non-constant ``axes`` of reductions / Squeeze / Unsqueeze, extra LayerNormalization or MaxPool outputs,
  ScatterND reductions, TopK ``K``), tensor types TensorRT lacks (string, complex, int16, unsigned >8-bit;
  uint8 inside the network; int8 outside Q/DQ), and dynamic-rank shape inputs (a Reshape / Expand / Tile /
  ConstantOfShape whose shape vector has an unknown length: TensorRT needs every tensor's rank at build
  time);
* **warnings**: int64 tensors on data (non-shape) paths (TensorRT 10 runs them, but they are slow and
  often an export artefact), double tensors (cast down to float), opsets newer than TensorRT 10.0 parses,
  and control-flow subgraphs (not linted).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# ---- the support matrix (onnx-tensorrt docs/operators.md, TensorRT 10.x) ---------------------------------
SUPPORTED_OPS = frozenset({
    "Abs", "Acos", "Acosh", "Add", "And", "ArgMax", "ArgMin", "Asin", "Asinh", "Atan", "Atanh", "Attention",
    "AveragePool", "BatchNormalization", "BlackmanWindow", "Cast", "CastLike", "Ceil", "Celu", "Clip",
    "Concat", "Constant", "ConstantOfShape", "Conv", "ConvTranspose", "Cos", "Cosh", "CumSum", "DeformConv",
    "DepthToSpace", "DequantizeLinear", "Div", "Dropout", "Einsum", "Elu", "Equal", "Erf", "Exp", "Expand",
    "EyeLike", "Flatten", "Floor", "Gather", "GatherElements", "GatherND", "Gelu", "Gemm",
    "GlobalAveragePool", "GlobalLpPool", "GlobalMaxPool", "Greater", "GreaterOrEqual", "GridSample",
    "GroupNormalization", "GRU", "HammingWindow", "HannWindow", "HardSigmoid", "HardSwish", "Hardmax",
    "Identity", "If", "ImageScaler", "InstanceNormalization", "IsInf", "IsNaN", "LayerNormalization",
    "LeakyRelu", "Less", "LessOrEqual", "Log", "LogSoftmax", "Loop", "LRN", "LSTM", "LpNormalization",
    "LpPool", "MatMul", "Max", "MaxPool", "Mean", "MeanVarianceNormalization", "Min", "Mish", "Mod", "Mul",
    "Neg", "NonMaxSuppression", "NonZero", "Not", "OneHot", "Or", "Pad", "ParametricSoftplus", "Pow",
    "PRelu", "QuantizeLinear", "RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike",
    "Range", "Reciprocal", "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceMax",
    "ReduceMean", "ReduceMin", "ReduceProd", "ReduceSum", "ReduceSumSquare", "Relu", "Reshape", "Resize",
    "ReverseSequence", "RMSNormalization", "RNN", "RoiAlign", "RotaryEmbedding", "Round", "STFT",
    "ScaledTanh", "Scan", "Scatter", "ScatterElements", "ScatterND", "Selu", "Shape", "Shrink", "Sigmoid",
    "Sign", "Sin", "Sinh", "Size", "Slice", "Softmax", "Softplus", "Softsign", "SpaceToDepth", "Split",
    "Sqrt", "Squeeze", "Sub", "Sum", "Tan", "Tanh", "TensorScatter", "ThresholdedRelu", "Tile", "TopK",
    "Transpose", "Trilu", "Unsqueeze", "Upsample", "Where", "Xor"
})
UNSUPPORTED_OPS = frozenset({
    "AffineGrid", "Bernoulli", "BitShift", "BitwiseAnd", "BitwiseNot", "BitwiseOr", "BitwiseXor", "Col2Im",
    "CenterCropPad", "Compress", "ConcatFromSequence", "ConvInteger", "DFT", "Det", "DynamicQuantizeLinear",
    "ImageDecoder", "MatMulInteger", "MaxRoiPool", "MaxUnpool", "MelWeightMatrix", "Multinomial",
    "NegativeLogLikelihoodLoss", "Optional", "OptionalGetElement", "OptionalHasElement", "QLinearConv",
    "QLinearMatMul", "RegexFullMatch", "SequenceAt", "SequenceConstruct", "SequenceEmpty", "SequenceErase",
    "SequenceInsert", "SequenceLength", "SequenceMap", "SoftmaxCrossEntropyLoss", "SplitToSequence",
    "StringConcat", "StringNormalizer", "StringSplit", "TfIdfVectorizer", "Unique"
})
OPSET_RANGE = (9, 20)  # TensorRT 10.0; 10.15 parses up to 24
RESIZE_COORD_MODES = frozenset({"half_pixel", "pytorch_half_pixel", "tf_half_pixel_for_nn", "asymmetric",
                                "align_corners"})
RESIZE_NEAREST_MODES = frozenset({"floor", "ceil", "round_prefer_floor", "round_prefer_ceil"})
TOPK_MAX = 3840
# ONNX TensorProto data types TensorRT cannot hold at all (by enum value): STRING, INT16, UINT16, UINT32,
# UINT64, COMPLEX64, COMPLEX128 (8, 5, 4, 12, 13, 14, 15).
BAD_TYPES = {8: "string", 5: "int16", 4: "uint16", 12: "uint32", 13: "uint64", 14: "complex64",
             15: "complex128"}
INT64, DOUBLE, UINT8, INT8 = 7, 11, 2, 3
# inputs (by index) that carry shapes / indices / axes rather than data: int64 is expected there
SHAPE_INPUTS = {"Reshape": {1}, "Expand": {1}, "Tile": {1}, "ConstantOfShape": {0}, "Slice": {1, 2, 3, 4},
                "Resize": {1, 2, 3}, "Gather": {1}, "GatherElements": {1}, "GatherND": {1}, "ScatterND": {1},
                "ScatterElements": {1}, "Pad": {1, 3}, "Squeeze": {1}, "Unsqueeze": {1}, "TopK": {1},
                "Range": {0, 1, 2}, "Split": {1}, "OneHot": {1}, "CumSum": {1}, "ReduceSum": {1},
                "ReduceMean": {1}, "ReduceMax": {1}, "ReduceMin": {1}, "ReduceProd": {1}, "ReduceL1": {1},
                "ReduceL2": {1}, "ReduceLogSum": {1}, "ReduceLogSumExp": {1}, "ReduceSumSquare": {1}}
SHAPE_OPS = frozenset({"Shape", "Size", "Gather", "Concat", "Slice", "Squeeze", "Unsqueeze", "Add", "Sub",
                       "Mul", "Div", "Cast", "Reshape", "Equal", "Where", "Max", "Min", "Identity", "Range",
                       "Constant", "ConstantOfShape", "Expand", "Neg", "Mod", "Floor", "Ceil"})
DYNAMIC_RANK_INPUTS = {"Reshape": 1, "Expand": 1, "Tile": 1, "ConstantOfShape": 0}


@dataclass(frozen=True)
class Finding:
    """One lint result."""

    severity: str  # error | warning
    file: str
    node: str
    op: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: " + (f"node {self.node!r} ({self.op}): " if self.node else "")
        return f"{self.severity.upper():7} {where}{self.message}"


class _Graph:
    """Lookups over one (shape-inferred) graph."""

    def __init__(self, model: Any) -> None:
        g = model.graph
        self.nodes = list(g.node)
        self.inits = {t.name: t for t in g.initializer}
        self.consts = set(self.inits) | {o for n in self.nodes if n.op_type == "Constant" for o in n.output}
        self.types: dict[str, int] = {t.name: t.data_type for t in g.initializer}
        self.ranks: dict[str, list[Any]] = {}
        for vi in list(g.input) + list(g.output) + list(g.value_info):
            tt = vi.type.tensor_type
            self.types[vi.name] = tt.elem_type
            if tt.HasField("shape"):
                self.ranks[vi.name] = [d.dim_value if d.HasField("dim_value") else None for d in tt.shape.dim]
        self.io = {v.name for v in list(g.input) + list(g.output)}
        self.outputs = {v.name for v in g.output}
        self.producer = {o: n for n in self.nodes for o in n.output}
        self.consumers: dict[str, list[tuple[Any, int]]] = {}
        for n in self.nodes:
            for k, i in enumerate(n.input):
                self.consumers.setdefault(i, []).append((n, k))
        self.shape_derived = self._shape_derived()

    def _shape_derived(self) -> set[str]:
        """Tensors computed only from Shape/Size outputs and constants through shape-arithmetic ops."""
        derived = set(self.consts)
        for n in self.nodes:  # graph order is topological
            if n.op_type in ("Shape", "Size") or (
                    n.op_type in SHAPE_OPS and all(i in derived for i in n.input if i)):
                derived.update(n.output)
        return derived

    def attr(self, node: Any, name: str, default: Any = None) -> Any:
        import onnx

        for a in node.attribute:
            if a.name == name:
                return onnx.helper.get_attribute_value(a)
        return default

    def const_value(self, name: str) -> Any:
        """The value of an initializer or Constant output (NumPy), else None."""
        from onnx import numpy_helper

        if name in self.inits:
            return numpy_helper.to_array(self.inits[name])
        node = self.producer.get(name)
        if node is not None and node.op_type == "Constant":
            value = self.attr(node, "value")
            return None if value is None else numpy_helper.to_array(value)
        return None


def _node_checks(g: _Graph, n: Any) -> Iterable[str]:
    """Restriction violations of one supported operator (messages)."""
    op = n.op_type
    if op == "Resize":
        if g.attr(n, "antialias", 0):
            yield "antialiasing is not supported"
        if g.attr(n, "mode", b"nearest").decode() == "cubic":
            yield "cubic resize is not supported (nearest, linear only)"
        coord = g.attr(n, "coordinate_transformation_mode", b"half_pixel").decode()
        if coord not in RESIZE_COORD_MODES:
            yield f"coordinate_transformation_mode {coord!r} is not supported"
        nearest = g.attr(n, "nearest_mode", b"round_prefer_floor").decode()
        if nearest not in RESIZE_NEAREST_MODES:
            yield f"nearest_mode {nearest!r} is not supported"
        if g.attr(n, "keep_aspect_ratio_policy", b"stretch").decode() != "stretch":
            yield "keep_aspect_ratio_policy must be 'stretch'"
    elif op in ("QuantizeLinear", "DequantizeLinear") and len(n.input) > 2 and n.input[2]:
        zp = g.const_value(n.input[2])
        if zp is None or zp.any():
            yield "zero point must be a constant zero (symmetric quantization)"
    elif (op.startswith("Reduce") or op in ("Squeeze", "Unsqueeze")) and len(n.input) > 1 and n.input[1]:
        if n.input[1] not in g.shape_derived:
            yield "axes must be a build-time constant"
    elif op in ("LayerNormalization", "MaxPool") and any(o and (o in g.consumers or o in g.io)
                                                         for o in n.output[1:]):
        yield "only the first output is supported"
    elif op == "ScatterND" and g.attr(n, "reduction", b"none").decode() != "none":
        yield "ScatterND reduction other than 'none' is not supported"
    elif op == "TopK" and len(n.input) > 1:
        k = g.const_value(n.input[1])
        if k is None or int(k.reshape(-1)[0]) >= TOPK_MAX:
            yield f"K must be a constant below {TOPK_MAX}"
    if op in DYNAMIC_RANK_INPUTS and len(n.input) > DYNAMIC_RANK_INPUTS[op]:
        shape_in = n.input[DYNAMIC_RANK_INPUTS[op]]
        dims = g.ranks.get(shape_in)
        if shape_in not in g.consts and (dims is None or len(dims) != 1 or dims[0] is None):
            yield f"dynamic-rank output: the length of shape input {shape_in!r} is unknown at build time"


def _in_qdq(g: _Graph, name: str, node: Any) -> bool:
    """An int8 tensor made by QuantizeLinear or only read by Q/DQ nodes (weights, zero points)."""
    if node is not None and node.op_type == "QuantizeLinear":
        return True
    users = g.consumers.get(name, [])
    return bool(users) and all(c.op_type in ("QuantizeLinear", "DequantizeLinear") for c, _ in users)


def _type_findings(g: _Graph, file: str) -> Iterable[Finding]:
    for name, t in sorted(g.types.items()):
        node = g.producer.get(name)
        where = (node.name if node is not None else "", node.op_type if node is not None else "")
        if t in BAD_TYPES:
            yield Finding("error", file, *where, f"tensor {name!r} has type {BAD_TYPES[t]} (not in TensorRT)")
        elif t == UINT8 and name not in g.io:
            yield Finding("error", file, *where, f"uint8 tensor {name!r} inside the network (uint8 is only "
                                                 f"supported as a network input or output)")
        elif t == INT8 and not _in_qdq(g, name, node):
            yield Finding("error", file, *where, f"int8 tensor {name!r} outside Q/DQ (int8 is a quantized "
                                                 f"type in TensorRT)")
        elif t == DOUBLE:
            yield Finding("warning", file, *where, f"double tensor {name!r} (TensorRT casts it to float)")
        elif t == INT64 and name not in g.shape_derived and (name in g.outputs or any(
                k not in SHAPE_INPUTS.get(c.op_type, ()) for c, k in g.consumers.get(name, []))):
            yield Finding("warning", file, *where, f"int64 tensor {name!r} on a data (non-shape) path")


def lint_model(model: Any, file: str = "<model>") -> list[Finding]:
    """Findings for one ONNX model (a ``ModelProto``)."""
    import onnx

    try:
        model = onnx.shape_inference.infer_shapes(model)
    except Exception as e:  # noqa: BLE001 - inference failing is itself a finding, not a crash
        first = (str(e).strip().splitlines() or [""])[0][:200]
        return [Finding("error", file, "", "", f"ONNX shape inference failed: {first}")]
    out: list[Finding] = []
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
    if opset is not None and not OPSET_RANGE[0] <= opset <= OPSET_RANGE[1]:
        lo, hi = OPSET_RANGE
        out.append(Finding("warning", file, "", "", f"opset {opset} is outside {lo}..{hi} (TensorRT 10.0; "
                                                    f"10.15 parses up to 24)"))
    g = _Graph(model)
    for n in g.nodes:
        name = n.name
        if n.domain not in ("", "ai.onnx"):
            out.append(Finding("error", file, name, n.op_type, f"custom-domain operator ({n.domain}) needs a "
                                                               f"TensorRT plugin"))
        elif n.op_type in UNSUPPORTED_OPS:
            out.append(Finding("error", file, name, n.op_type, "not supported by the TensorRT ONNX parser"))
        elif n.op_type not in SUPPORTED_OPS:
            out.append(Finding("error", file, name, n.op_type, "not in TensorRT's ONNX support matrix"))
        else:
            out += [Finding("error", file, name, n.op_type, m) for m in _node_checks(g, n)]
        if any(a.type in (5, 10) for a in n.attribute):  # GRAPH / GRAPHS attributes
            out.append(Finding("warning", file, name, n.op_type, "control-flow subgraph not linted"))
    out += list(_type_findings(g, file))
    return out


def lint_files(paths: Sequence[str | Path]) -> list[Finding]:
    """Findings for several ONNX files (a folder stands for its ``*.onnx`` files)."""
    import onnx

    files: list[Path] = []
    for p in map(Path, paths):
        files += sorted(p.glob("*.onnx")) if p.is_dir() else [p]
    if not files:
        raise ValueError(f"no ONNX files in {', '.join(map(str, paths))}")
    out: list[Finding] = []
    for f in files:
        if not f.is_file():
            raise FileNotFoundError(f"{f}: ONNX file not found")
        try:
            model = onnx.load(str(f), load_external_data=False)
        except Exception as e:  # noqa: BLE001 - protobuf raises its own DecodeError
            raise ValueError(f"{f}: not a readable ONNX model ({type(e).__name__})") from None
        out += lint_model(model, f.name)
    return out


def report(findings: Sequence[Finding], files: int | None = None) -> str:
    """The printed report: one line per finding, then a summary line."""
    errors = sum(f.severity == "error" for f in findings)
    warnings = len(findings) - errors
    lines = [str(f) for f in sorted(findings, key=lambda f: (f.severity != "error", f.file))]
    verdict = "clean for TensorRT" if not errors else "NOT parseable by TensorRT as is"
    lines.append(f"check-trt: {errors} error(s), {warnings} warning(s): {verdict}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """``python -m vps.export.trt_lint FILE_OR_DIR...``: exit 0 if clean, 1 with errors, 2 on bad input."""
    p = argparse.ArgumentParser(prog="python -m vps.export.trt_lint", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="+", help="ONNX files or export folders")
    args = p.parse_args(argv)
    try:
        findings = lint_files(args.paths)
    except (ValueError, FileNotFoundError) as e:
        print(f"check-trt: error: {e}", file=sys.stderr)
        return 2
    print(report(findings))
    return 1 if any(f.severity == "error" for f in findings) else 0


if __name__ == "__main__":
    raise SystemExit(main())
