"""A stand-in ``tensorrt`` module recording what the builder and the runtime are asked to do.

Only the TensorRT 10 Python API surface that ``vps.export.trt_build`` and
``vps.runtime.backends.tensorrt`` use, with the documented names. No GPU, no real engines.
"""

from __future__ import annotations

import types
from typing import Any


class _Enum:
    def __init__(self, name: str, value: int) -> None:
        self.name, self.value = name, value

    def __int__(self) -> int:
        return self.value

    def __repr__(self) -> str:
        return self.name


def _enum(*names: str) -> type:
    return type("Enum", (), {n: _Enum(n, i) for i, n in enumerate(names)})


class Logger:
    WARNING = 2

    def __init__(self, level: int) -> None:
        self.level = level


class Profile:
    def __init__(self) -> None:
        self.shapes: dict[str, tuple[tuple[int, ...], ...]] = {}

    def set_shape(self, name: str, lo: tuple[int, ...], opt: tuple[int, ...], hi: tuple[int, ...]) -> None:
        self.shapes[name] = (tuple(lo), tuple(opt), tuple(hi))


class TimingCache:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def serialize(self) -> bytes:
        return b"CACHE:" + self.data[:16]


class Config:
    def __init__(self) -> None:
        self.flags: set[str] = {"TF32"}
        self.pools: dict[str, int] = {}
        self.profiles: list[Profile] = []
        self.cache: TimingCache | None = None
        self.created_cache_from: bytes | None = None

    def set_memory_pool_limit(self, pool: Any, size: int) -> None:
        self.pools[repr(pool)] = size

    def set_flag(self, flag: Any) -> None:
        self.flags.add(repr(flag))

    def clear_flag(self, flag: Any) -> None:
        self.flags.discard(repr(flag))

    def add_optimization_profile(self, profile: Profile) -> int:
        self.profiles.append(profile)
        return len(self.profiles) - 1

    def create_timing_cache(self, data: bytes) -> TimingCache:
        self.created_cache_from = bytes(data)
        return TimingCache(bytes(data))

    def set_timing_cache(self, cache: TimingCache, ignore_mismatch: bool) -> bool:
        self.cache = cache
        return True

    def get_timing_cache(self) -> TimingCache:
        assert self.cache is not None
        return self.cache


class Tensor:
    def __init__(self, name: str) -> None:
        self.name = name


class Network:
    def __init__(self, flags: int) -> None:
        self.flags = flags
        self.inputs: list[Tensor] = []

    @property
    def num_inputs(self) -> int:
        return len(self.inputs)

    def get_input(self, i: int) -> Tensor:
        return self.inputs[i]


class Builder:
    instances: list[Builder] = []

    def __init__(self, logger: Logger) -> None:
        self.network: Network | None = None
        self.config: Config | None = None
        Builder.instances.append(self)

    def create_network(self, flags: int) -> Network:
        self.network = Network(flags)
        return self.network

    def create_builder_config(self) -> Config:
        self.config = Config()
        return self.config

    def create_optimization_profile(self) -> Profile:
        return Profile()

    def build_serialized_network(self, network: Network, config: Config) -> bytes | None:
        return b"ENGINE:" + ",".join(t.name for t in network.inputs).encode()


class OnnxParser:
    fail_with: str | None = None

    def __init__(self, network: Network, logger: Logger) -> None:
        self.network = network
        self.errors: list[str] = []

    def parse_from_file(self, path: str) -> bool:
        import onnx

        if OnnxParser.fail_with:
            self.errors = [OnnxParser.fail_with]
            return False
        model = onnx.load(path, load_external_data=False)
        inits = {t.name for t in model.graph.initializer}
        self.network.inputs = [Tensor(i.name) for i in model.graph.input if i.name not in inits]
        return True

    @property
    def num_errors(self) -> int:
        return len(self.errors)

    def get_error(self, i: int) -> str:
        return self.errors[i]


# ---- runtime side ---------------------------------------------------------------------------------------
DataType = _enum("FLOAT", "HALF", "INT8", "INT32", "BOOL", "INT64")
TensorIOMode = _enum("NONE", "INPUT", "OUTPUT")


class Context:
    """Infers ``logits [B, 512, h, w]`` from ``x_t [B, 16, h, w]``; accepts batch sizes 1..4."""

    def __init__(self) -> None:
        self.shapes: dict[str, tuple[int, ...]] = {}
        self.addresses: dict[str, int] = {}
        self.executed: list[int] = []

    def set_input_shape(self, name: str, shape: tuple[int, ...]) -> bool:
        if not 1 <= shape[0] <= 4:
            return False
        self.shapes[name] = tuple(shape)
        return True

    def get_tensor_shape(self, name: str) -> tuple[int, ...]:
        b, _, h, w = self.shapes["x_t"]
        return (b, 512, h, w)

    def set_tensor_address(self, name: str, ptr: int) -> bool:
        self.addresses[name] = ptr
        return True

    def execute_async_v3(self, stream: int) -> bool:
        self.executed.append(stream)
        return True


class Engine:
    io = (("x_t", "INPUT"), ("gamma", "INPUT"), ("logits", "OUTPUT"))

    def __init__(self) -> None:
        self.context = Context()

    @property
    def num_io_tensors(self) -> int:
        return len(self.io)

    def get_tensor_name(self, i: int) -> str:
        return self.io[i][0]

    def get_tensor_mode(self, name: str) -> Any:
        return getattr(TensorIOMode, dict(self.io)[name])

    def get_tensor_dtype(self, name: str) -> Any:
        return DataType.FLOAT

    def get_tensor_profile_shape(self, name: str, profile: int) -> tuple[tuple[int, ...], ...]:
        return (1, 16, 8, 8), (1, 16, 8, 8), (4, 16, 8, 8)

    def create_execution_context(self) -> Context:
        return self.context


class Runtime:
    def __init__(self, logger: Logger) -> None:
        self.logger = logger

    def deserialize_cuda_engine(self, plan: bytes) -> Engine | None:
        return Engine() if plan.startswith(b"ENGINE") else None


def make(version: str = "10.3.0") -> types.ModuleType:
    """A fresh fake ``tensorrt`` module."""
    mod = types.ModuleType("tensorrt")
    mod.__version__ = version
    Builder.instances = []
    OnnxParser.fail_with = None
    for name, value in {
        "Logger": Logger, "Builder": Builder, "OnnxParser": OnnxParser, "Runtime": Runtime,
        "NetworkDefinitionCreationFlag": _enum("EXPLICIT_BATCH", "STRONGLY_TYPED"),
        "BuilderFlag": _enum("FP16", "INT8", "TF32"), "MemoryPoolType": _enum("WORKSPACE"),
        "DataType": DataType, "TensorIOMode": TensorIOMode,
    }.items():
        setattr(mod, name, value)
    return mod
