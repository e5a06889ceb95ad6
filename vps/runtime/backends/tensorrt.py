"""TensorRT backend: serialized engines (TensorRT >= 10) run with ``execute_async_v3`` on a CUDA GPU.

Imported only when asked for (``open_backend(kind="tensorrt")``). Each graph is deserialised with
``trt.Runtime`` into an engine and one execution context. A call sets every input's shape
(``set_input_shape``, which must lie inside the engine's optimisation profile) and address
(``set_tensor_address``), reads the output shapes back (``get_tensor_shape``), binds output buffers and
enqueues on torch's current CUDA stream, so TensorRT and the host loop's torch/Triton kernels stay in
order without synchronising. Device buffers are torch CUDA tensors (the caching allocator makes per-call
outputs cheap). Outputs are valid until the next call of the same graph.

``cuda_graph=True`` captures the denoiser's enqueue in a CUDA graph per input shape (static input/output
buffers; the first call at a shape runs eagerly once, as TensorRT requires before capture) and replays it
for every step, removing the per-step launch overhead. Loading checks that the engines were built by this
TensorRT version for this GPU's compute capability (engines are not portable), with a one-line error.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vps.runtime.backends.base import (
    COND,
    CONTEXT,
    DENOISER,
    ENCODER,
    FEATS,
    GAMMA,
    IMAGE,
    LOGITS,
    X_T,
    BackendUnavailableError,
    check_float32,
)
from vps.runtime.manifest import Manifest

MIN_MAJOR = 10
INSTALL_HINT = ('pip install "vps-toolkit[trt]" (TensorRT >= 10) on a machine with access to NVIDIA\'s '
                'package index and a CUDA GPU')


def import_tensorrt() -> Any:
    """The ``tensorrt`` module (>= 10), or :class:`BackendUnavailableError` saying how to install it."""
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
    if major < MIN_MAJOR:
        raise BackendUnavailableError(f"TensorRT {version} is too old (need >= {MIN_MAJOR}): {INSTALL_HINT}")
    return tensorrt


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
    """One engine and its execution context; ``run(feeds) -> outputs`` (dicts of device tensors)."""

    def __init__(self, trt: Any, plan: bytes, name: str, allocate: Callable[[tuple[int, ...], Any], Any],
                 stream: Callable[[], int]) -> None:
        self.trt, self.name, self.allocate, self.stream = trt, name, allocate, stream
        self.logger = trt.Logger(trt.Logger.WARNING)
        self.runtime = trt.Runtime(self.logger)
        self.engine = self.runtime.deserialize_cuda_engine(plan)
        if self.engine is None:
            raise ValueError(f"{name}: TensorRT could not deserialise the engine (corrupt, or built by "
                             f"another TensorRT version)")
        self.context = self.engine.create_execution_context()
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        self.inputs = [n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        self.outputs = [n for n in names if n not in self.inputs]
        self.dtypes = {n: torch_dtype(trt, self.engine.get_tensor_dtype(n)) for n in names}

    def set_inputs(self, feeds: dict[str, Any]) -> None:
        """Set every input's shape and address (``ValueError``: missing input, shape outside the profile)."""
        missing = sorted(set(self.inputs) - set(feeds))
        if missing:
            raise ValueError(f"{self.name}: missing inputs {missing}")
        for n in self.inputs:
            t = feeds[n]
            if t.dtype != self.dtypes[n] or not t.is_contiguous():
                raise ValueError(f"{self.name}.{n}: need a contiguous {self.dtypes[n]} tensor, got {t.dtype}")
            if not self.context.set_input_shape(n, tuple(t.shape)):
                lo, opt, hi = self.engine.get_tensor_profile_shape(n, 0)
                raise ValueError(f"{self.name}.{n}: shape {tuple(t.shape)} is outside the engine's profile "
                                 f"(min {tuple(lo)}, max {tuple(hi)}); re-export with --batch-sizes / "
                                 f"--input-size")
            self.context.set_tensor_address(n, int(t.data_ptr()))

    def bind_outputs(self, out: dict[str, Any] | None = None) -> dict[str, Any]:
        """Allocate (or reuse ``out``) output buffers at the shapes the context infers, and bind them."""
        out = {} if out is None else out
        for n in self.outputs:
            shape = tuple(int(d) for d in self.context.get_tensor_shape(n))
            if n not in out or tuple(out[n].shape) != shape:
                out[n] = self.allocate(shape, self.dtypes[n])
            self.context.set_tensor_address(n, int(out[n].data_ptr()))
        return out

    def execute(self, stream: int | None = None) -> None:
        if not self.context.execute_async_v3(self.stream() if stream is None else stream):
            raise RuntimeError(f"{self.name}: TensorRT execute_async_v3 failed")

    def run(self, feeds: dict[str, Any]) -> dict[str, Any]:
        self.set_inputs(feeds)
        out = self.bind_outputs()
        self.execute()
        return out


class CudaGraphStep:
    """The denoiser engine replayed from a CUDA graph per input shape (static buffers)."""

    def __init__(self, graph: TrtGraph) -> None:
        self.graph = graph
        self._captured: dict[tuple[Any, ...], tuple[Any, dict[str, Any], dict[str, Any]]] = {}

    def run(self, feeds: dict[str, Any]) -> dict[str, Any]:
        import torch

        key = tuple((n, tuple(feeds[n].shape)) for n in self.graph.inputs)
        if key not in self._captured:
            static_in = {n: feeds[n].clone() for n in self.graph.inputs}
            self.graph.set_inputs(static_in)
            static_out = self.graph.bind_outputs()
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                self.graph.execute(side.cuda_stream)  # TensorRT needs one enqueue before capture
                cuda_graph = torch.cuda.CUDAGraph()
                with torch.cuda.graph(cuda_graph, stream=side):
                    self.graph.execute(side.cuda_stream)
            torch.cuda.current_stream().wait_stream(side)
            self._captured[key] = (cuda_graph, static_in, static_out)
        cuda_graph, static_in, static_out = self._captured[key]
        for n, t in feeds.items():
            if t.data_ptr() != static_in[n].data_ptr():
                static_in[n].copy_(t)
        cuda_graph.replay()
        return static_out


class TensorRTBackend:
    """The three engines of an export folder (``*.engine``) on the current CUDA device."""

    name = "tensorrt"

    def __init__(self, manifest: Manifest, folder: str | Path, cuda_graph: bool = False) -> None:
        trt = import_tensorrt()
        capability = cuda_capability()
        check_engine_compat(manifest, str(trt.__version__), capability)
        import torch

        self.torch, self.device = torch, torch.device("cuda")

        def allocate(shape: tuple[int, ...], dtype: Any) -> Any:
            return torch.empty(shape, dtype=dtype, device=self.device)

        def stream() -> int:
            return int(torch.cuda.current_stream().cuda_stream)

        self.graphs: dict[str, TrtGraph] = {}
        for name in (ENCODER, CONTEXT, DENOISER):
            spec = manifest.graph(name)
            if spec.engine != "trt":
                raise ValueError(f"graph {name!r} is not a TensorRT engine ({spec.file})")
            self.graphs[name] = TrtGraph(trt, (Path(folder) / spec.file).read_bytes(), name, allocate, stream)
        self.ctx_names = tuple(t.name for t in manifest.graph(CONTEXT).outputs)
        self._step: TrtGraph | CudaGraphStep = (CudaGraphStep(self.graphs[DENOISER]) if cuda_graph
                                                else self.graphs[DENOISER])

    def encode(self, images: Any) -> Any:
        return self.graphs[ENCODER].run({IMAGE: images.contiguous()})[FEATS]

    def context(self, cond: Any, feats: Any) -> list[Any]:
        out = self.graphs[CONTEXT].run({COND: cond.contiguous(), FEATS: feats.contiguous()})
        return [out[n] for n in self.ctx_names]

    def denoise(self, x_t: Any, ctx: Sequence[Any], gamma: Any) -> Any:
        feeds = {X_T: x_t.contiguous(), GAMMA: gamma.contiguous(),
                 **{n: c.contiguous() for n, c in zip(self.ctx_names, ctx, strict=True)}}
        return self._step.run(feeds)[LOGITS]

    def asarray(self, array: np.ndarray) -> Any:
        return self.torch.from_numpy(check_float32(array, "input")).to(self.device, non_blocking=True)

    def to_numpy(self, array: Any) -> np.ndarray:
        if hasattr(array, "detach"):
            return np.ascontiguousarray(array.detach().cpu().numpy())
        return np.asarray(array)
