"""One CUDA-graph mechanism: capture once per key on the backend's own stream, replay after.

Used by the TensorRT backend (one denoiser step per captured graph) and by the torch backend's whole-frame
capture (:meth:`vps.runtime.backends.torch.TorchBackend.frame_graphs`, driven by
:class:`vps.runtime.pix2seq_d.Pix2SeqDFrame`). Importing this module
does not import torch: the CUDA calls sit behind :class:`CudaOps` (:class:`TorchCudaOps` imports torch
when first used), which also lets the key handling, ordering and binding logic run in tests without a GPU.

API
---
``GraphCache(setup, ops=None, stream=None, warmup=1, per_frame=(), name="graph")``

* ``setup(key, feeds) -> Prepared(inputs, body, state)`` is called once per new ``key`` (any hashable,
  typically the input shapes). It allocates the static input buffers ``inputs`` (name -> device tensor)
  that the graph will read, and returns ``body(stream_handle) -> outputs``, the work to capture. Whatever
  ``body`` needs per key (a TensorRT execution context bound to the static buffers) lives in ``state``.
  Buffers may be shared between keys (the whole-frame capture's inputs are).
* ``run(key, feeds) -> outputs``: copies ``feeds`` (name -> tensor or host array) into the key's static
  inputs, captures on first use (``warmup`` eager calls of ``body`` first, as torch and TensorRT require;
  all on ``stream``), replays, and returns the static outputs of the capture (overwritten by the next
  replay of the same key: consume or copy them before).
* ``per_frame`` names inputs that stay the same for many calls (the denoiser context: once per frame,
  ``steps`` denoiser calls). They are copied only when a different tensor (or a modified one: torch's
  version counter) is passed, so a frame's context is bound once, not copied per step.
* Ordering: the cache works on its own stream (``stream``, default a new one). :func:`on_own_stream`
  makes that stream wait for the caller's current stream before any copy, capture or replay, and the
  caller's stream wait for it afterwards, so the caller's earlier writes are visible and later reads see
  the results, with no host synchronisation.

Whole frames (the torch backend): ``key = warm``; ``setup`` returns the shared ``image/cond/noise/x_init``
buffers and ``body = lambda _: frame(buffers, warm)``; ``warmup=2`` (Triton compiles on the first call);
``run(warm, {"image": x, ...})`` with NumPy arrays (copied host->device by :meth:`TorchCudaOps.copy`).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol


class CudaOps(Protocol):
    """The CUDA calls the mechanism needs (streams, graphs, buffers); torch or a test double."""

    def current_stream(self) -> Any: ...

    def new_stream(self) -> Any: ...

    def handle(self, stream: Any) -> int: ...

    def wait(self, waiter: Any, producer: Any) -> None: ...

    def use_stream(self, stream: Any) -> Any: ...

    def new_graph(self) -> Any: ...

    def capture(self, graph: Any, stream: Any) -> Any: ...

    def replay(self, graph: Any) -> None: ...

    def empty(self, shape: tuple[int, ...], dtype: Any) -> Any: ...

    def copy(self, dst: Any, src: Any) -> None: ...

    def address(self, tensor: Any) -> int: ...

    def version(self, tensor: Any) -> int: ...


class TorchCudaOps:
    """:class:`CudaOps` on torch's CUDA API (torch is imported on construction, not with this module)."""

    def __init__(self, device: Any = "cuda") -> None:
        import torch

        self.torch, self.device = torch, torch.device(device)

    def current_stream(self) -> Any:
        return self.torch.cuda.current_stream(self.device)

    def new_stream(self) -> Any:
        return self.torch.cuda.Stream(self.device)

    def handle(self, stream: Any) -> int:
        return int(stream.cuda_stream)

    def wait(self, waiter: Any, producer: Any) -> None:
        waiter.wait_stream(producer)

    def use_stream(self, stream: Any) -> Any:
        return self.torch.cuda.stream(stream)

    def new_graph(self) -> Any:
        return self.torch.cuda.CUDAGraph()

    def capture(self, graph: Any, stream: Any) -> Any:
        return self.torch.cuda.graph(graph, stream=stream)

    def replay(self, graph: Any) -> None:
        graph.replay()

    def empty(self, shape: tuple[int, ...], dtype: Any) -> Any:
        return self.torch.empty(shape, dtype=dtype, device=self.device)

    def copy(self, dst: Any, src: Any) -> None:
        if not isinstance(src, self.torch.Tensor):  # a host NumPy array
            src = self.torch.from_numpy(src)
        dst.copy_(src, non_blocking=True)

    def address(self, tensor: Any) -> int:
        return int(tensor.data_ptr()) if hasattr(tensor, "data_ptr") else int(tensor.ctypes.data)

    def version(self, tensor: Any) -> int:
        return int(getattr(tensor, "_version", 0))  # torch's in-place modification counter

    def synchronize(self) -> None:
        self.torch.cuda.synchronize(self.device)

    def capability(self) -> str:
        major, minor = self.torch.cuda.get_device_capability(self.device)
        return f"{major}.{minor}"


@contextmanager
def on_own_stream(ops: CudaOps, stream: Any) -> Iterator[Any]:
    """Run the block on ``stream``, ordered after the caller's current stream and before its later work."""
    caller = ops.current_stream()
    ops.wait(stream, caller)  # the caller's earlier writes (inputs) happen first
    with ops.use_stream(stream):
        yield stream
    ops.wait(caller, stream)  # the caller's later reads (outputs) and frees happen after


@dataclass
class Prepared:
    """What ``setup`` returns for a new key: static inputs, the work to capture, per-key state."""

    inputs: dict[str, Any]
    body: Callable[[int], Any]
    state: Any = None


@dataclass
class Captured:
    """One key's graph, its static buffers and the per-frame inputs last bound into them."""

    graph: Any
    prepared: Prepared
    outputs: Any
    bound: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # name -> (id, address, version)
    holds: dict[str, Any] = field(default_factory=dict)  # keeps bound sources alive: ids stay unique


class GraphCache:
    """CUDA graphs captured once per key over static buffers and replayed (see the module docstring)."""

    def __init__(self, setup: Callable[[Hashable, Mapping[str, Any]], Prepared], ops: CudaOps | None = None,
                 stream: Any = None, warmup: int = 1, per_frame: Iterable[str] = (),
                 name: str = "graph") -> None:
        if warmup < 1:
            raise ValueError(f"{name}: warmup must be >= 1 (an eager run must precede capture), got {warmup}")
        self.ops = TorchCudaOps() if ops is None else ops
        self.stream = self.ops.new_stream() if stream is None else stream
        self.setup, self.warmup, self.name = setup, int(warmup), name
        self.per_frame = frozenset(per_frame)
        self.captures: dict[Hashable, Captured] = {}
        self.copies: dict[str, int] = {}  # input name -> copies made (what the tests and benchmarks read)

    def __len__(self) -> int:
        return len(self.captures)

    def run(self, key: Hashable, feeds: Mapping[str, Any]) -> Any:
        """Bind ``feeds`` into ``key``'s static inputs, capture on first use, replay; the static outputs."""
        with on_own_stream(self.ops, self.stream):
            captured = self.captures.get(key)
            if captured is None:
                captured = self._capture(key, feeds)
            else:
                self.bind(captured, feeds)
            self.ops.replay(captured.graph)
        return captured.outputs

    def _capture(self, key: Hashable, feeds: Mapping[str, Any]) -> Captured:
        prepared = self.setup(key, feeds)
        captured = Captured(graph=self.ops.new_graph(), prepared=prepared, outputs=None)
        self.bind(captured, feeds)
        handle = self.ops.handle(self.stream)
        for _ in range(self.warmup):  # first runs outside capture: lazy initialisation, compilation
            prepared.body(handle)
        with self.ops.capture(captured.graph, self.stream):
            captured.outputs = prepared.body(handle)
        self.captures[key] = captured
        return captured

    def bind(self, captured: Captured, feeds: Mapping[str, Any]) -> None:
        """Copy each feed into its static buffer, skipping per-frame inputs already bound."""
        inputs = captured.prepared.inputs
        unknown = sorted(set(feeds) - set(inputs))
        if unknown:
            raise ValueError(f"{self.name}: inputs {unknown} have no static buffer (known: {sorted(inputs)})")
        for name, src in feeds.items():
            dst = inputs[name]
            if src is dst:
                continue
            if tuple(getattr(src, "shape", ())) != tuple(dst.shape):
                raise ValueError(f"{self.name}.{name}: shape {tuple(src.shape)} differs from the captured "
                                 f"buffer's {tuple(dst.shape)} (the key must encode the shapes)")
            if name in self.per_frame:
                ident = (id(src), self.ops.address(src), self.ops.version(src))
                if captured.bound.get(name) == ident:
                    continue
                captured.bound[name], captured.holds[name] = ident, src
            self.ops.copy(dst, src)
            self.copies[name] = self.copies.get(name, 0) + 1
