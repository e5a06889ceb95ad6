"""TensorRT backend: serialized engines (TensorRT 10.x or 11.x) run with ``execute_async_v3`` on a CUDA GPU.

Imported only when asked for (``open_backend(kind="tensorrt")``). Each graph is deserialised with
``trt.Runtime`` (one process-wide logger, :func:`shared_logger`) into an engine and an execution context.
A call sets every input's shape (``set_input_shape``, inside the engine's optimisation profile) and
address (``set_tensor_address``, 256-byte aligned as TensorRT requires), reads the output shapes back
(``get_tensor_shape``), binds output buffers and enqueues. Every TensorRT call that reports failure
through its return value (False, None) is checked and raised as one line naming the engine and tensor.

Streams: TensorRT documents that enqueueing on the default stream adds device-wide synchronisation, so
the backend enqueues on its own stream, ordered against the caller's current stream both ways
(:func:`~vps.runtime.backends.cuda_graph.on_own_stream`): the caller's earlier kernels (the host loop's
torch/Triton work writing the inputs) finish first, and its later work (reading outputs, freeing inputs)
waits for TensorRT. No host synchronisation. Output buffers are allocated on the caller's stream before
the enqueue, so the caching allocator only reuses them after that ordering. Outputs are fresh tensors per
call (CUDA-graph replay: static, valid until the next step).

``cuda_graph=True`` replays the denoiser graphs from CUDA graphs (:class:`~vps.runtime.backends.cuda_graph.
GraphCache`), one per graph and input shape, each on its own execution context: a captured graph bakes in
its context's shapes, addresses and internal state, and trtexec, too, captures per execution context, so
contexts are never shared between graphs. The per-frame context tensors are bound once per frame, only
``x_t``, ``gamma`` (and ``coef``) are copied per step. Loading checks that the engines were built by this
TensorRT version for this GPU's compute capability (engines are not portable), with a one-line error.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from vps.runtime.backends.base import (
    CONTEXT,
    DENOISER_FINAL,
    DENOISER_STEP,
    BackendUnavailableError,
    check_float32,
    io_names,
    name_inputs,
)
from vps.runtime.backends.cuda_graph import CudaOps, GraphCache, Prepared, TorchCudaOps, on_own_stream
from vps.runtime.manifest import Manifest

SUPPORTED = (10, 11)  # majors checked against the documented Python API (10.0 .. 10.16, 11.0 .. 11.1)
ALIGNMENT = 256  # bytes: TensorRT's documented requirement for tensor addresses
INSTALL_HINT = ('pip install "vps-toolkit[trt]" (TensorRT 10.x or 11.x) on a machine with access to '
                'NVIDIA\'s package index and a CUDA GPU')
_LOGGERS: dict[int, tuple[Any, Any]] = {}  # id(tensorrt module) -> (module, its one logger)


def import_tensorrt() -> Any:
    """The ``tensorrt`` module (10.x or 11.x), or :class:`BackendUnavailableError` saying how to get it."""
    try:
        import tensorrt
    except ImportError:
        raise BackendUnavailableError(f"TensorRT is not installed (no module 'tensorrt'): "
                                      f"{INSTALL_HINT}") from None
    version = str(getattr(tensorrt, "__version__", "0"))
    try:
        major = int(version.split(".")[0])
    except ValueError:
        major = 0
    if major not in SUPPORTED:
        raise BackendUnavailableError(f"TensorRT {version} is not supported (need 10.x or 11.x): "
                                      f"{INSTALL_HINT}")
    return tensorrt


def shared_logger(trt: Any) -> Any:
    """The process's one ``trt.Logger`` (WARNING): TensorRT uses a builder's or runtime's logger for every
    object made through it and needs it alive until they are released, so one logger serves them all."""
    entry = _LOGGERS.get(id(trt))
    if entry is None or entry[0] is not trt:
        entry = _LOGGERS[id(trt)] = (trt, trt.Logger(trt.Logger.WARNING))
    return entry[1]


def cuda_capability() -> str:
    """``"major.minor"`` compute capability of the current CUDA GPU, or :class:`BackendUnavailableError`."""
    try:
        import torch
    except ImportError:
        raise BackendUnavailableError("the TensorRT backend holds its buffers in torch CUDA tensors: "
                                      "pip install torch (a CUDA build)") from None
    if not torch.cuda.is_available():
        raise BackendUnavailableError("no CUDA GPU is visible (torch.cuda.is_available() is False): TensorRT "
                                      "engines are built and run on the target GPU; use --engine onnx here")
    major, minor = torch.cuda.get_device_capability()
    return f"{major}.{minor}"


def check_engine_compat(manifest: Manifest, trt_version: str, capability: str) -> None:
    """Refuse engines built by another TensorRT version or for another GPU architecture (one line)."""
    built = manifest.versions.get("tensorrt")
    if built != trt_version:
        raise ValueError(f"engines were built with TensorRT {built}, this machine has {trt_version}: "
                         f"rebuild them here (vps-export --engine trt)")
    if manifest.compute_capability != capability:
        raise ValueError(f"engines were built for compute capability {manifest.compute_capability}, this GPU "
                         f"is {capability}: rebuild them here (vps-export --engine trt)")


def torch_dtype(trt: Any, dtype: Any) -> Any:
    """torch dtype of a TensorRT ``DataType``."""
    import torch

    table = {trt.DataType.FLOAT: torch.float32, trt.DataType.HALF: torch.float16,
             trt.DataType.INT32: torch.int32, trt.DataType.INT64: torch.int64, trt.DataType.BOOL: torch.bool,
             trt.DataType.INT8: torch.int8}
    if dtype not in table:
        raise ValueError(f"unsupported TensorRT I/O data type {dtype}")
    return table[dtype]


class TrtGraph:
    """One engine, its default execution context and checked wrappers of the calls on contexts."""

    def __init__(self, trt: Any, plan: bytes, name: str, ops: CudaOps) -> None:
        self.trt, self.name, self.ops = trt, name, ops
        self.runtime = trt.Runtime(shared_logger(trt))  # kept: the engine must not outlive its runtime
        self.engine = self.runtime.deserialize_cuda_engine(plan)
        if self.engine is None:
            raise ValueError(f"{name}: TensorRT could not deserialise the engine (corrupt, or built by "
                             f"another TensorRT version or for another GPU)")
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        self.inputs = [n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        self.outputs = [n for n in names if n not in self.inputs]
        self.dtypes = {n: torch_dtype(trt, self.engine.get_tensor_dtype(n)) for n in names}
        self.context = self.new_context()

    def new_context(self) -> Any:
        """A fresh execution context (its own activation memory); ``create_execution_context`` may be None."""
        context = self.engine.create_execution_context()
        if context is None:
            raise RuntimeError(f"{self.name}: TensorRT could not create an execution context (out of GPU "
                               f"memory? see the TensorRT log above)")
        return context

    def _address(self, context: Any, tensor: str, value: Any) -> None:
        ptr = self.ops.address(value)
        if ptr % ALIGNMENT:
            raise ValueError(f"{self.name}.{tensor}: address 0x{ptr:x} is not {ALIGNMENT}-byte aligned, "
                             f"which TensorRT requires (a sliced view? pass a tensor that owns its memory)")
        if not context.set_tensor_address(tensor, ptr):
            raise RuntimeError(f"{self.name}.{tensor}: TensorRT set_tensor_address(0x{ptr:x}) failed")

    def set_inputs(self, feeds: Mapping[str, Any], context: Any = None) -> None:
        """Set every input's shape and address (``ValueError``: missing input, shape outside the profile)."""
        context = self.context if context is None else context
        missing = sorted(set(self.inputs) - set(feeds))
        if missing:
            raise ValueError(f"{self.name}: missing inputs {missing}")
        for n in self.inputs:
            t = feeds[n]
            if t.dtype != self.dtypes[n] or not t.is_contiguous():
                raise ValueError(f"{self.name}.{n}: need a contiguous {self.dtypes[n]} tensor, got {t.dtype}")
            shape = tuple(int(d) for d in t.shape)
            if not context.set_input_shape(n, shape):
                lo, _, hi = self.engine.get_tensor_profile_shape(n, 0)
                raise ValueError(f"{self.name}.{n}: TensorRT refused shape {shape} (the engine's profile is "
                                 f"min {tuple(lo)}, max {tuple(hi)}); re-export with --batch-sizes / "
                                 f"--input-size")
            self._address(context, n, t)

    def output_shapes(self, context: Any = None) -> dict[str, tuple[int, ...]]:
        """Output shapes the context infers from the input shapes (all inputs must be set)."""
        context = self.context if context is None else context
        shapes = {n: tuple(int(d) for d in context.get_tensor_shape(n)) for n in self.outputs}
        unknown = [n for n, s in shapes.items() if any(d < 0 for d in s)]
        if unknown:
            raise RuntimeError(f"{self.name}.{unknown[0]}: TensorRT cannot infer the output shape "
                               f"({shapes[unknown[0]]}) from the inputs set")
        return shapes

    def bind_outputs(self, out: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
        """Bind ``out`` (name -> tensor at :meth:`output_shapes`) as the outputs of ``context``."""
        context = self.context if context is None else context
        for n in self.outputs:
            self._address(context, n, out[n])
        return dict(out)

    def execute(self, stream: int, context: Any = None, what: str = "") -> None:
        context = self.context if context is None else context
        if not context.execute_async_v3(int(stream)):
            raise RuntimeError(f"{self.name}: TensorRT execute_async_v3 failed{what} (see the TensorRT log)")


class TensorRTBackend:
    """The engines of an export folder (``*.engine``, one per graph) on the current CUDA device."""

    name = "tensorrt"

    def __init__(self, manifest: Manifest, folder: str | Path, cuda_graph: bool = False,
                 ops: CudaOps | None = None) -> None:
        trt = import_tensorrt()
        if ops is None:
            capability = cuda_capability()  # one-line error without torch or a GPU
            ops = TorchCudaOps()
        else:
            capability = ops.capability()
        check_engine_compat(manifest, str(trt.__version__), capability)
        self.ops, self.device = ops, getattr(ops, "device", "cuda")
        self.stream = ops.new_stream()  # TensorRT's own stream (never the default stream)
        self.graphs: dict[str, TrtGraph] = {}
        for spec in manifest.graphs:
            if spec.engine != "trt":
                raise ValueError(f"graph {spec.name!r} is not a TensorRT engine ({spec.file})")
            self.graphs[spec.name] = TrtGraph(trt, (Path(folder) / spec.file).read_bytes(), spec.name, ops)
        self.io = io_names(manifest.graphs)
        self.ctx_names = self.io[CONTEXT][1] if CONTEXT in self.io else ()
        self.cuda_graph = bool(cuda_graph)
        # the graphs called several times per frame (the denoiser steps) replay CUDA graphs, one per shapes
        self.steps: dict[str, GraphCache] = {
            name: GraphCache(self._step_setup(name), ops, self.stream, warmup=1, per_frame=self.ctx_names,
                             name=name)
            for name in (DENOISER_STEP, DENOISER_FINAL) if cuda_graph and name in self.graphs}

    def sync(self) -> None:
        """Wait for the device (exact per-stage times with ``sync_timing``)."""
        synchronize = getattr(self.ops, "synchronize", None)
        if synchronize is not None:
            synchronize()

    def execute(self, name: str, feeds: Mapping[str, Any]) -> dict[str, Any]:
        """One eager call of graph ``name`` on the backend's stream; fresh output tensors."""
        graph = self.graphs[name]
        feeds = {n: self._owned(t) for n, t in feeds.items()}  # alive until enqueued: TensorRT reads them
        graph.set_inputs(feeds)
        shapes = graph.output_shapes()
        out = {n: self.ops.empty(s, graph.dtypes[n]) for n, s in shapes.items()}  # on the caller's stream
        graph.bind_outputs(out)
        with on_own_stream(self.ops, self.stream):
            graph.execute(self.ops.handle(self.stream))
        return out

    def _owned(self, tensor: Any) -> Any:
        """``tensor``, or a copy when it does not start on TensorRT's 256-byte boundary (a sliced view)."""
        if self.ops.address(tensor) % ALIGNMENT == 0:
            return tensor
        fresh = self.ops.empty(tuple(tensor.shape), tensor.dtype)  # allocations start aligned
        self.ops.copy(fresh, tensor)
        return fresh

    def _step_setup(self, name: str) -> Callable[[Hashable, Mapping[str, Any]], Prepared]:
        """The CUDA-graph setup of graph ``name`` (see :meth:`_prepare_step`)."""
        return lambda key, feeds: self._prepare_step(name, key, feeds)

    def _prepare_step(self, name: str, key: Hashable, feeds: Mapping[str, Any]) -> Prepared:
        """Static buffers and a dedicated execution context for one input shape of graph ``name``."""
        graph = self.graphs[name]
        context = graph.new_context()
        inputs = {n: self.ops.empty(tuple(feeds[n].shape), graph.dtypes[n]) for n in graph.inputs}
        graph.set_inputs(inputs, context)
        out = {n: self.ops.empty(s, graph.dtypes[n]) for n, s in graph.output_shapes(context).items()}
        graph.bind_outputs(out, context)

        def body(stream: int) -> dict[str, Any]:
            graph.execute(stream, context, f" (CUDA graph for shapes {key})")
            return out

        return Prepared(inputs, body, context)

    # ---- the Backend protocol ---------------------------------------------------------------------
    def run(self, graph: str, *inputs: Any) -> list[Any]:
        """``graph`` on positional inputs (names from the manifest's spec); outputs in the spec's order.

        The denoiser graphs replay their CUDA graph (one per input shapes) when ``cuda_graph`` is on.
        """
        ins, outs = self.io[graph]
        feeds = {n: t.contiguous() for n, t in name_inputs(ins, inputs).items()}
        cache = self.steps.get(graph)
        if cache is not None:
            key = tuple((n, tuple(int(d) for d in t.shape)) for n, t in sorted(feeds.items()))
            out = cache.run(key, feeds)
        else:
            out = self.execute(graph, feeds)
        return [out[n] for n in outs]

    def asarray(self, array: np.ndarray) -> Any:
        import torch

        return torch.from_numpy(check_float32(array, "input")).to(self.device, non_blocking=True)

    def to_numpy(self, array: Any) -> np.ndarray:
        if hasattr(array, "detach"):
            return np.ascontiguousarray(array.detach().cpu().numpy())
        return np.asarray(array)
