"""A CPU stand-in for the CUDA calls of :mod:`vps.runtime.backends.cuda_graph` (no GPU needed).

Streams are objects with non-zero handles (the caller's current stream starts as the legacy default
stream, handle 0, as in torch). Every call lands in ``timeline`` so tests can check the order of waits,
copies, captures and replays. While a graph is being captured, work submitted through :meth:`submit`
(the fake TensorRT's ``execute_async_v3`` uses it) is recorded into the graph instead of run, and a
replay runs the recorded work again, reading whatever the captured addresses hold then: like a real
CUDA graph. Buffers from :meth:`empty` are CPU tensors whose data starts on a 256-byte boundary.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch

ALIGN = 256


@dataclass(eq=False)
class FakeStream:
    handle: int

    def __repr__(self) -> str:
        return f"stream{self.handle}"


@dataclass(eq=False)
class FakeGraph:
    nodes: list[Callable[[], None]] = field(default_factory=list)


class FakeCudaOps:
    """:class:`~vps.runtime.backends.cuda_graph.CudaOps` on the CPU, recording what happens."""

    device = "cpu"

    def __init__(self, capability: str = "9.0") -> None:
        self.default = FakeStream(0)
        self.current = self.default
        self.capturing: FakeGraph | None = None
        self.timeline: list[tuple[Any, ...]] = []
        self.capability_value = capability
        self._next_handle = 1

    # ---- streams ------------------------------------------------------------------------------------
    def current_stream(self) -> FakeStream:
        return self.current

    def new_stream(self) -> FakeStream:
        self._next_handle += 1
        return FakeStream(0x7000 + self._next_handle)

    def handle(self, stream: FakeStream) -> int:
        return stream.handle

    def wait(self, waiter: FakeStream, producer: FakeStream) -> None:
        self.timeline.append(("wait", waiter, producer))

    @contextmanager
    def use_stream(self, stream: FakeStream) -> Iterator[None]:
        previous, self.current = self.current, stream
        try:
            yield
        finally:
            self.current = previous

    # ---- graphs -------------------------------------------------------------------------------------
    def new_graph(self) -> FakeGraph:
        return FakeGraph()

    @contextmanager
    def capture(self, graph: FakeGraph, stream: FakeStream) -> Iterator[None]:
        if stream.handle == 0:
            raise RuntimeError("CUDA graphs cannot be captured on the legacy default stream")
        self.timeline.append(("capture", stream))
        self.capturing = graph
        try:
            with self.use_stream(stream):
                yield
        finally:
            self.capturing = None

    def replay(self, graph: FakeGraph) -> None:
        self.timeline.append(("replay", self.current))
        for node in graph.nodes:
            node()

    def submit(self, work: Callable[[], None]) -> None:
        """Device work: recorded while capturing, run now otherwise."""
        if self.capturing is not None:
            self.capturing.nodes.append(work)
        else:
            work()

    # ---- buffers ------------------------------------------------------------------------------------
    def empty(self, shape: tuple[int, ...], dtype: Any) -> torch.Tensor:
        return aligned_empty(shape, dtype)

    def copy(self, dst: torch.Tensor, src: Any) -> None:
        if self.capturing is not None:
            raise RuntimeError("copies are not captured in this double: bind before capture")
        src = src if isinstance(src, torch.Tensor) else torch.from_numpy(src)
        self.timeline.append(("copy", self.current, int(dst.data_ptr())))
        dst.copy_(src)

    def address(self, tensor: Any) -> int:
        return int(tensor.data_ptr())

    def version(self, tensor: Any) -> int:
        return int(getattr(tensor, "_version", 0))

    def capability(self) -> str:
        return self.capability_value


def aligned_empty(shape: tuple[int, ...], dtype: Any) -> torch.Tensor:
    """A zeroed CPU tensor whose data starts on a 256-byte boundary (what cudaMalloc gives)."""
    itemsize = torch.empty((), dtype=dtype).element_size()
    n = 1
    for d in shape:
        n *= int(d)
    raw = torch.zeros(n + ALIGN // itemsize, dtype=dtype)
    skip = (-raw.data_ptr() % ALIGN) // itemsize
    return raw[skip:skip + n].view(shape)
