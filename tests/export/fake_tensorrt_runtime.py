"""Runtime half of the fake ``tensorrt`` module: ``Runtime``, ``ICudaEngine``, ``IExecutionContext``.

An engine is the graph's export contract: I/O names, symbolic dims (``batch``, ``height/2``, ...) and its
optimisation profile. A context validates like the real one: ``set_input_shape`` returns ``False`` for an
unknown name, a wrong rank or a shape outside the profile; ``get_tensor_shape`` reports ``-1`` for what it
cannot infer yet; ``set_tensor_address`` wants an ``int`` (``TypeError`` otherwise) and returns ``False``
for an unknown name, a null or a non-256-byte-aligned address; ``execute_async_v3`` wants an ``int``
stream and returns ``False`` unless every input shape and every I/O address is set. Each enqueue really
computes: it reads the float32 inputs at their addresses (host memory here) and writes every output as
``out[b, ...] = sum_i mean(input_i[b])``, through the fake CUDA device when one is attached (so CUDA-graph
capture records it and a replay reads the addresses again).
"""

from __future__ import annotations

import ctypes
import json
from typing import Any

import numpy as np

ALIGN = 256


class _Enum:
    def __init__(self, name: str, value: int) -> None:
        self.name, self.value = name, value

    def __repr__(self) -> str:
        return self.name


DataType = type("DataType", (), {n: _Enum(n, i) for i, n in
                                 enumerate(("FLOAT", "HALF", "INT8", "INT32", "BOOL", "INT64"))})
TensorIOMode = type("TensorIOMode", (), {n: _Enum(n, i) for i, n in enumerate(("NONE", "INPUT", "OUTPUT"))})
DTYPES = {"float32": DataType.FLOAT, "float16": DataType.HALF, "int32": DataType.INT32}


class Runtime:
    state: Any
    _module: Any

    def __init__(self, logger: Any) -> None:
        if not isinstance(logger, self._module.Logger.__mro__[1]):
            raise TypeError(f"expected a tensorrt.ILogger, got {type(logger).__name__}")
        self.logger = logger

    def deserialize_cuda_engine(self, serialized_engine: bytes) -> Engine | None:
        from tests.export.fake_tensorrt import PLAN_MAGIC

        data = bytes(serialized_engine)
        if "deserialize_cuda_engine" in self.state.fail or not data.startswith(PLAN_MAGIC):
            return None
        body = json.loads(data[len(PLAN_MAGIC):])
        if body["version"] != self.state.version or body["device"] != self.state.device:
            return None  # engines are specific to the TensorRT version and the GPU
        return self._module.ICudaEngine(body)


class Engine:
    state: Any
    _module: Any

    def __init__(self, body: dict[str, Any]) -> None:
        self.name = body["name"]
        self.io = {n: ("INPUT", tuple(d), t) for n, d, t in body["inputs"]}
        self.io.update({n: ("OUTPUT", tuple(d), t) for n, d, t in body["outputs"]})
        self.profile = {n: tuple(tuple(s) for s in p) for n, p in body["profile"].items()}

    @property
    def num_io_tensors(self) -> int:
        return len(self.io)

    def get_tensor_name(self, index: int) -> str:
        return list(self.io)[index]

    def get_tensor_mode(self, name: str) -> Any:
        return getattr(TensorIOMode, self.io[name][0]) if name in self.io else TensorIOMode.NONE

    def get_tensor_dtype(self, name: str) -> Any:
        return DTYPES[self.io[name][2]]

    def get_tensor_profile_shape(self, name: str, profile_index: int) -> list[tuple[int, ...]]:
        return list(self.profile[name])

    def create_execution_context(self) -> Context | None:
        if "create_execution_context" in self.state.fail:
            return None
        context = self._module.IExecutionContext(self)
        self.state.contexts.append(context)
        return context


def _bind_symbols(dims: tuple[Any, ...], shape: tuple[int, ...], symbols: dict[str, int]) -> bool:
    """Record what ``shape`` says about the symbols in ``dims``; False on a contradiction."""
    for d, v in zip(dims, shape, strict=True):
        if isinstance(d, int):
            if d != v:
                return False
            continue
        axis, _, div = str(d).partition("/")
        value = v * int(div or 1)
        if symbols.setdefault(axis, value) != value:
            return False
    return True


def _resolve(dims: tuple[Any, ...], symbols: dict[str, int]) -> tuple[int, ...]:
    out = []
    for d in dims:
        if isinstance(d, int):
            out.append(d)
            continue
        axis, _, div = str(d).partition("/")
        out.append(symbols[axis] // int(div or 1) if axis in symbols else -1)
    return tuple(out)


def host_view(address: int, shape: tuple[int, ...], dtype: str = "float32") -> np.ndarray:
    """The float32 (or int32) array at ``address`` (host memory in this double; the caller keeps it alive)."""
    n = int(np.prod(shape))
    ctype = ctypes.c_int32 if dtype == "int32" else ctypes.c_float
    return np.ctypeslib.as_array((ctype * n).from_address(address)).reshape(shape)


class Context:
    state: Any
    _module: Any

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.shapes: dict[str, tuple[int, ...]] = {}
        self.addresses: dict[str, int] = {}
        self.enqueues: list[int] = []

    def _inputs(self) -> list[str]:
        return [n for n, (mode, _, _) in self.engine.io.items() if mode == "INPUT"]

    def set_input_shape(self, name: str, shape: Any) -> bool:
        from tests.export.fake_tensorrt import _ints

        shape = _ints(tuple(shape) if isinstance(shape, list) else shape, f"set_input_shape({name!r})")
        if "set_input_shape" in self.state.fail or name not in self._inputs():
            return False
        lo, _, hi = self.engine.profile[name]
        if len(shape) != len(lo) or not all(a <= s <= b for a, s, b in zip(lo, shape, hi, strict=True)):
            return False
        self.shapes[name] = shape
        return True

    def _symbols(self) -> dict[str, int] | None:
        symbols: dict[str, int] = {}
        for name, shape in self.shapes.items():
            if not _bind_symbols(self.engine.io[name][1], shape, symbols):
                return None
        return symbols

    def get_tensor_shape(self, name: str) -> tuple[int, ...]:
        if name in self.shapes:
            return self.shapes[name]
        dims = self.engine.io[name][1]
        symbols = self._symbols()
        if symbols is None or len(self.shapes) < len(self._inputs()):
            return tuple(-1 for _ in dims)
        return _resolve(dims, symbols)

    def set_tensor_address(self, name: str, memory: int) -> bool:
        if not isinstance(memory, int) or isinstance(memory, bool):
            raise TypeError(f"set_tensor_address({name!r}): memory must be an int, "
                            f"got {type(memory).__name__}")
        if "set_tensor_address" in self.state.fail or name not in self.engine.io:
            return False
        if memory == 0 or memory % ALIGN:
            return False
        self.addresses[name] = memory
        return True

    def execute_async_v3(self, stream_handle: int) -> bool:
        if not isinstance(stream_handle, int) or isinstance(stream_handle, bool):
            raise TypeError(f"execute_async_v3(): stream_handle must be an int, got {type(stream_handle)}")
        if "execute_async_v3" in self.state.fail:
            return False
        if set(self.shapes) != set(self._inputs()) or set(self.addresses) != set(self.engine.io):
            return False
        shapes = {n: self.get_tensor_shape(n) for n in self.engine.io}
        if any(-1 in s for s in shapes.values()):
            return False
        if stream_handle == 0:
            self.state.default_stream_syncs += 1
        self.enqueues.append(stream_handle)
        addresses = dict(self.addresses)
        ops = self.state.ops
        (ops.submit if ops is not None else (lambda work: work()))(lambda: self._compute(addresses, shapes))
        return True

    def _compute(self, addresses: dict[str, int], shapes: dict[str, tuple[int, ...]]) -> None:
        batch = shapes[self._inputs()[0]][0]
        total = np.zeros(batch, np.float64)
        for name in self._inputs():
            total += host_view(addresses[name], shapes[name]).reshape(batch, -1).mean(axis=1)
        for name, (mode, _, dtype) in self.engine.io.items():
            if mode == "OUTPUT":  # int outputs (ids) get the sum rounded
                out = host_view(addresses[name], shapes[name], dtype)
                out[...] = total.reshape((batch,) + (1,) * (out.ndim - 1))
