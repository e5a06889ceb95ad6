"""ONNX export of the three sub-networks with the torch.export-based (dynamo) exporter.

``torch.onnx.export(..., dynamo=True)`` traces each contract's wrapper with ``torch.export`` (dynamic batch
and input size from :meth:`GraphContract.dynamic_shapes`), translates it with onnxscript and runs
onnxscript's optimizer (constant folding, dead-code and redundant-op elimination: the "simplify" step that
is always safe; no onnxsim). Every file is then checked with ``onnx.checker`` (full check, with strict shape
inference).

Precision ``fp16`` exports a half-precision copy of the module behind a wrapper that casts the float32
inputs to fp16 and the outputs back to float32: weights and activations are fp16 inside, the graph I/O
stays float32 so the host loop and the manifest do not change. ``gamma`` is the exception inside: it is
kept float32 because the timestep embedding multiplies it by 1000 (fp16 would shift the embedding).
``int8`` graphs are fp32 exports post-processed by :mod:`vps.export.quantize`.
"""

from __future__ import annotations

import contextlib
import copy
import io
import logging
import warnings
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from vps.export.contracts import GraphContract
from vps.runtime.backends.base import GAMMA

DEFAULT_OPSET = 18  # the dynamo exporter's native opset; TensorRT 10.0 parses opsets 9..20
MIN_OPSET, MAX_OPSET = 18, 21


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence the exporter's progress prints, warnings and 'torchvision is not installed' log lines."""
    loggers = [logging.getLogger(n) for n in ("torch.onnx", "torch.export", "torch._dynamo", "onnxscript")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def half_model(model: Any) -> Any:
    """An fp16 copy of ``model`` (the original is untouched)."""
    return copy.deepcopy(model).half().eval()


def _cast_wrapper(inner: Any, names: tuple[str, ...]) -> Any:
    """Module taking float32 inputs, running ``inner`` in fp16 (``gamma`` stays fp32), returning float32."""
    import torch
    from torch import nn

    keep = tuple(n == GAMMA for n in names)

    class HalfIO(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, first: torch.Tensor, *rest: torch.Tensor) -> Any:
            args = [t if k else t.half() for t, k in zip((first, *rest), keep, strict=True)]
            out = self.inner(*args)
            return tuple(o.float() for o in out) if isinstance(out, tuple) else out.float()

    return HalfIO().eval()


def export_graph(model: Any, contract: GraphContract, path: str | Path, opset: int = DEFAULT_OPSET,
                 precision: str = "fp32") -> Path:
    """Export one sub-network of ``model`` (fp32, or an fp16 copy for ``precision="fp16"``) to ``path``.

    Returns the path; raises ``RuntimeError`` naming the graph if export or the checker fails.
    """
    import torch

    if not MIN_OPSET <= opset <= MAX_OPSET:
        raise ValueError(f"--opset must lie in {MIN_OPSET}..{MAX_OPSET} (the dynamo exporter), got {opset}")
    if precision not in ("fp32", "fp16"):
        raise ValueError(f"ONNX export precision must be fp32 or fp16 (int8 quantizes an fp32 export), "
                         f"got {precision!r}")
    path = Path(path)
    module = contract.wrapper(model)
    if precision == "fp16":
        module = _cast_wrapper(contract.wrapper(half_model(model)), contract.input_names)
    try:
        with _quiet(), torch.no_grad():
            torch.onnx.export(module, contract.sample_inputs(), str(path), dynamo=True, verbose=False,
                              input_names=list(contract.input_names),
                              output_names=list(contract.output_names),
                              dynamic_shapes=contract.dynamic_shapes(), opset_version=opset,
                              optimize=True, external_data=False)
    except Exception as e:  # the exporter raises many types; report one line naming the graph
        first = (str(e).strip().splitlines() or [type(e).__name__])[0][:300]
        raise RuntimeError(f"ONNX export of the {contract.name} graph failed: {first}") from e
    check_onnx(path)
    return path


def check_onnx(path: str | Path) -> None:
    """``onnx.checker`` with full (strict shape-inference) checking; ``RuntimeError`` naming the file."""
    import onnx

    try:
        onnx.checker.check_model(str(path), full_check=True)
    except onnx.checker.ValidationError as e:
        first = (str(e).strip().splitlines() or [""])[0][:300]
        raise RuntimeError(f"{path}: onnx.checker rejected the exported graph: {first}") from e


def graph_summary(path: str | Path) -> dict[str, Any]:
    """Opset, node count, operator histogram and weight bytes of an ONNX file (for reports)."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    ops = Counter(n.op_type for n in model.graph.node)
    weights = sum(len(t.raw_data) for t in model.graph.initializer)
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    return {"opset": opset, "nodes": len(model.graph.node), "ops": dict(sorted(ops.items())),
            "weight_bytes": weights}


def tool_versions() -> dict[str, str]:
    """Versions of the export tool chain (recorded in the manifest)."""
    import platform

    import numpy
    import onnx
    import onnxruntime
    import onnxscript
    import torch

    import vps

    return {"vps": vps.__version__, "torch": torch.__version__, "onnx": onnx.__version__,
            "onnxscript": onnxscript.__version__, "onnxruntime": onnxruntime.__version__,
            "numpy": numpy.__version__, "python": platform.python_version()}
