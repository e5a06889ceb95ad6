"""The frame's compute floor: matrix-multiply FLOPs of the exported graphs at this machine's measured peak.

A deployed frame cannot be faster than its convolutions and matrix products at the rate the CPU (or GPU)
multiplies matrices, so ``floor_ms = frame FLOPs / peak``; the ratio of the measured frame to it says how much
of the frame is other work (element-wise ops, layout changes, host glue, launch overhead).

* FLOPs (:func:`graph_flops`): ``Conv`` / ``ConvTranspose`` (``2 * N * C_out * H_out * W_out * C_in /
  groups * k_h * k_w``), ``MatMul`` and ``Gemm`` (``2 * M * K * N`` per batch element), counted on each ONNX
  graph after shape inference at the manifest's input size and batch 1. Element-wise work is not counted:
  the floor is the matrix-unit bound.
* Per stage (:func:`stage_flops`): ``encoder``, ``context``, ``denoise_0`` .. ``denoise_{n-1}`` (every step
  but the last runs ``denoiser_step``, the last ``denoiser_final``) for the warm plan (every frame after the
  first of a sequence).
* Peak (:func:`matmul_peak_gflops`): the best of a few runs of square fp32 ``MatMul`` s (512 and 1024) in ONNX
  Runtime with the benchmark's thread count (MLAS, the kernels the ONNX graphs run on).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from vps.runtime.manifest import Manifest

FLOOR_FAMILIES = ("pix2seq_d", "video_knet")  # families whose graphs-per-stage plan stage_flops knows


def _dims(info: Any) -> tuple[int, ...] | None:
    """Concrete dims of a value info, or None when a dim is unknown."""
    shape = info.type.tensor_type.shape
    dims = tuple(d.dim_value for d in shape.dim)
    return dims if all(d > 0 for d in dims) else None


def _node_flops(node: Any, shapes: dict[str, tuple[int, ...]]) -> float:
    """Matrix-multiply FLOPs of one node (0 for other ops or unknown shapes)."""
    ins = [shapes.get(n) for n in node.input[:2]]
    out = shapes.get(node.output[0]) if node.output else None
    if node.op_type in ("Conv", "ConvTranspose") and ins[1] is not None and out is not None:
        w = ins[1]  # Conv: [C_out, C_in / g, kh, kw]; ConvTranspose: [C_in, C_out / g, kh, kw]
        per_out = float(np.prod(w[1:])) if node.op_type == "Conv" else float(w[0] * np.prod(w[2:])) / out[1]
        return 2.0 * float(np.prod(out)) * per_out
    if node.op_type in ("MatMul", "Gemm") and None not in ins and out is not None:
        a, b = ins
        k = a[-1] if node.op_type == "MatMul" or not _attr(node, "transA") else a[0]
        return 2.0 * float(np.prod(out)) * k
    return 0.0


def _attr(node: Any, name: str) -> int:
    return next((int(a.i) for a in node.attribute if a.name == name), 0)


def graph_flops(path: str | Path, inputs: dict[str, tuple[int, ...]]) -> float:
    """Matrix-multiply FLOPs of one ONNX graph with the given concrete input shapes."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    for value in model.graph.input:
        if value.name in inputs:
            dims = value.type.tensor_type.shape.dim
            for d, size in zip(dims, inputs[value.name], strict=True):
                d.ClearField("dim_param")
                d.dim_value = int(size)
    inferred = onnx.shape_inference.infer_shapes(model, data_prop=True)
    shapes: dict[str, tuple[int, ...]] = {}
    for value in [*inferred.graph.input, *inferred.graph.value_info, *inferred.graph.output]:
        dims = _dims(value)
        if dims is not None:
            shapes[value.name] = dims
    shapes.update({t.name: tuple(t.dims) for t in inferred.graph.initializer})
    return sum(_node_flops(n, shapes) for n in inferred.graph.node)


def _concrete(shape: tuple[int | str, ...], hw: tuple[int, int]) -> tuple[int, ...]:
    """A manifest tensor shape at batch 1 and input size ``hw`` (``height/2`` -> ``hw[0] // 2``)."""
    out = []
    for d in shape:
        if isinstance(d, int):
            out.append(d)
            continue
        axis, _, div = d.partition("/")
        out.append(1 if axis == "batch" else hw[axis == "width"] // int(div or 1))
    return tuple(out)


def stage_flops(folder: str | Path, manifest: Manifest) -> dict[str, float]:
    """FLOPs per timed stage of a warm frame (see the module docstring); needs the ONNX graph files.

    ``ValueError`` for a model family whose frame plan this does not know (only Pix2Seq-D's so far).
    """
    folder, program = Path(folder), manifest.program
    if program.family not in FLOOR_FAMILIES:
        raise ValueError(f"the compute floor knows the frame plan of {', '.join(FLOOR_FAMILIES)} only, not "
                         f"{program.family!r}")
    per_graph = {}
    for g in manifest.graphs:
        onnx_file = folder / (Path(g.file).stem + ".onnx")
        if not onnx_file.is_file():
            raise FileNotFoundError(f"{onnx_file}: the floor is counted on the ONNX graphs")
        per_graph[g.name] = graph_flops(onnx_file, {t.name: _concrete(t.shape, program.input_size)
                                                    for t in g.inputs})
    if program.family == "video_knet":  # one graph call per frame, timed as its own stage
        return {"knet_frame": per_graph["knet_frame"]}
    assert program.sampler is not None
    steps = program.sampler.warm.steps
    stages = {"encoder": per_graph["encoder"], "context": per_graph["context"]}
    for i in range(steps):
        stages[f"denoise_{i}"] = per_graph["denoiser_final" if i == steps - 1 else "denoiser_step"]
    return stages


def matmul_peak_gflops(threads: int = 1, sizes: tuple[int, ...] = (512, 1024), repeats: int = 7) -> float:
    """The best GFLOP/s of square fp32 ``MatMul`` s (each size ``n``, best of ``repeats``) in ONNX Runtime
    with ``threads`` threads: the machine's achievable matrix-multiply rate for the graphs' kernels."""
    return max(_matmul_gflops(threads, n, repeats) for n in sizes)


def _matmul_gflops(threads: int, n: int, repeats: int) -> float:
    import onnxruntime as ort
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("MatMul", ["a", "b"], ["c"])], "peak",
                              [helper.make_tensor_value_info(x, TensorProto.FLOAT, [n, n]) for x in "ab"],
                              [helper.make_tensor_value_info("c", TensorProto.FLOAT, [n, n])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = max(1, threads)
    session = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    feeds = {x: rng.standard_normal((n, n), dtype=np.float32) for x in "ab"}
    session.run(None, feeds)  # warm-up
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        session.run(None, feeds)
        best = min(best, time.perf_counter() - t0)
    return 2.0 * n**3 / best / 1e9


def floor_report(stages: dict[str, float], peak_gflops: float,
                 medians_ms: dict[str, float]) -> dict[str, Any]:
    """The JSON block: FLOPs, floor and achieved rate per stage and for the frame, and the frame's ratio."""
    per_stage = {}
    for name, flops in stages.items():
        floor_ms = flops / (peak_gflops * 1e6)
        ms = medians_ms.get(name)
        per_stage[name] = {"gflop": flops / 1e9, "floor_ms": floor_ms,
                           "achieved_gflops": None if not ms else flops / (ms * 1e6),
                           "ratio_to_floor": None if not ms or not floor_ms else ms / floor_ms}
    total = sum(stages.values())
    floor_ms = total / (peak_gflops * 1e6)
    frame_ms = medians_ms.get("total")
    achieved = None if not frame_ms else total / (frame_ms * 1e6)
    return {"peak_gflops": peak_gflops, "frame_gflop": total / 1e9, "floor_ms": floor_ms,
            "frame_median_ms": frame_ms, "achieved_gflops": achieved,
            "ratio_to_floor": None if not frame_ms else frame_ms / floor_ms, "stages": per_stage}
