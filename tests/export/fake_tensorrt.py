"""A stand-in ``tensorrt`` module that fails like the real one (no TensorRT or GPU needed).

Only the TensorRT 10/11 Python API that :mod:`vps.export.trt_build` and the TensorRT backend use, with
the documented names, argument types and failure values:

* the builder side (this file): ``create_network`` (flags are ints; 11.x is always strongly typed and has
  no ``BuilderFlag.FP16/INT8``), ``OnnxParser.parse_from_file`` (a ``str`` path; the network's I/O come
  from the ONNX file), ``IOptimizationProfile.set_shape`` (``ValueError`` on inconsistent shapes),
  ``add_optimization_profile`` (``-1`` for an invalid profile), timing caches whose header names the GPU
  (``set_timing_cache(cache, False)`` returns ``False`` for another GPU's cache, after which
  ``get_timing_cache()`` is ``None``), ``build_serialized_network`` (``None`` on failure);
* the runtime side (:mod:`tests.export.fake_tensorrt_runtime`): engines modelled from the graphs' export
  contracts (names, symbolic dims, profile), so output shapes follow the inputs like the real engines.

``state.fail`` names calls that must return their documented failure value; ``state.loggers`` counts
``Logger`` objects. Engines are plans serialised by this module, so a plan from another fake "GPU" or
"version" is refused at deserialisation like a real one.
"""

from __future__ import annotations

import json
import types
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.export import fake_tensorrt_runtime as rt

PLAN_MAGIC = b"FAKETRT1"
CACHE_MAGIC = b"FAKECACHE:"
Spec = tuple[str, tuple[Any, ...], str]  # (name, dims: ints or "batch"/"height/2"/..., dtype)


@dataclass
class State:
    """What one fake module records and how it is told to fail."""

    version: str
    device: str
    specs: dict[str, tuple[list[Spec], list[Spec]]]  # graph name -> (inputs, outputs)
    ops: Any = None  # tests.runtime.fake_cuda.FakeCudaOps: device work is submitted through it
    fail: set[str] = field(default_factory=set)
    loggers: list[Any] = field(default_factory=list)
    builders: list[Any] = field(default_factory=list)
    contexts: list[Any] = field(default_factory=list)
    default_stream_syncs: int = 0  # enqueues on stream 0 (TensorRT adds device-wide syncs there)

    @property
    def major(self) -> int:
        return int(self.version.split(".")[0])


class Enum:
    def __init__(self, name: str, value: int) -> None:
        self.name, self.value = name, value

    def __int__(self) -> int:
        return self.value

    def __repr__(self) -> str:
        return self.name


def _enum(*names: str) -> type:
    return type("Enum", (), {n: Enum(n, i) for i, n in enumerate(names)})


def _ints(values: Any, what: str) -> tuple[int, ...]:
    if isinstance(values, str | bytes) or not isinstance(values, Sequence):
        raise TypeError(f"{what}: expected a sequence of ints, got {type(values).__name__}")
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        raise TypeError(f"{what}: expected ints, got {values!r}")
    return tuple(values)


class Logger:
    state: State
    WARNING = 2

    def __init__(self, min_severity: int = 2) -> None:
        self.min_severity = min_severity
        self.state.loggers.append(self)


def _check_logger(state: State, logger: Any) -> None:
    if not isinstance(logger, Logger):
        raise TypeError(f"expected a tensorrt.ILogger, got {type(logger).__name__}")


class Profile:
    def __init__(self) -> None:
        self.shapes: dict[str, tuple[tuple[int, ...], ...]] = {}

    def set_shape(self, input: str, min: Any, opt: Any, max: Any) -> None:  # noqa: A002 - documented names
        lo, mid, hi = (_ints(v, f"set_shape({input!r})") for v in (min, opt, max))
        if not len(lo) == len(mid) == len(hi) or not all(
                0 <= a <= b <= c for a, b, c in zip(lo, mid, hi, strict=True)):
            raise ValueError(f"inconsistent profile shapes for {input}: {lo} {mid} {hi}")
        self.shapes[input] = (lo, mid, hi)

    def __bool__(self) -> bool:
        return bool(self.shapes)


class TimingCache:
    def __init__(self, device: str, entries: int) -> None:
        self.device, self.entries = device, entries

    def serialize(self) -> bytes:
        return CACHE_MAGIC + f"{self.device};{self.entries}".encode()


class Config:
    state: State

    def __init__(self) -> None:
        self.flags: set[str] = {"TF32"}
        self.pools: dict[str, int] = {}
        self.profiles: list[Profile] = []
        self.cache: TimingCache | None = None
        self.created_cache_from: bytes | None = None

    def set_memory_pool_limit(self, pool: Any, pool_size: int) -> None:
        self.pools[repr(pool)] = _ints([pool_size], "set_memory_pool_limit")[0]

    def set_flag(self, flag: Enum) -> None:
        self.flags.add(repr(flag))

    def clear_flag(self, flag: Enum) -> None:
        self.flags.discard(repr(flag))

    def add_optimization_profile(self, profile: Profile) -> int:
        if "add_optimization_profile" in self.state.fail or not profile:
            return -1
        self.profiles.append(profile)
        return len(self.profiles) - 1

    def create_timing_cache(self, serialized_timing_cache: bytes) -> TimingCache:
        data = bytes(serialized_timing_cache)
        self.created_cache_from = data
        if not data:
            return TimingCache(self.state.device, 0)
        device, entries = data[len(CACHE_MAGIC):].decode().split(";")
        return TimingCache(device, int(entries))

    def set_timing_cache(self, cache: TimingCache, ignore_mismatch: bool) -> bool:
        if not isinstance(ignore_mismatch, bool):
            raise TypeError("ignore_mismatch must be a bool")
        if cache.device != self.state.device and not ignore_mismatch:
            return False  # documented: a cache from another device is refused
        self.cache = cache
        return True

    def get_timing_cache(self) -> TimingCache | None:
        return self.cache  # documented: None if no timing cache is set


@dataclass
class Tensor:
    name: str
    shape: tuple[int, ...]  # -1 for dynamic axes, as the parser reports them


class Network:
    def __init__(self, flags: int, strongly_typed: bool) -> None:
        self.flags, self.strongly_typed = flags, strongly_typed
        self.inputs: list[Tensor] = []
        self.outputs: list[Tensor] = []
        self.graph = ""

    @property
    def num_inputs(self) -> int:
        return len(self.inputs)

    def get_input(self, index: int) -> Tensor:
        return self.inputs[index]


class Builder:
    state: State

    def __init__(self, logger: Logger) -> None:
        _check_logger(self.state, logger)
        self.logger = logger
        self.network: Network | None = None
        self.config: Config | None = None
        self.state.builders.append(self)

    def create_network(self, flags: int = 0) -> Network:
        _ints([flags], "create_network")
        typed_bit = 1 << int(self._module.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
        self.network = Network(flags, self.state.major >= 11 or bool(flags & typed_bit))
        return self.network

    def create_builder_config(self) -> Config:
        self.config = self._module.Config()
        return self.config

    def create_optimization_profile(self) -> Profile:
        return Profile()

    def build_serialized_network(self, network: Network, config: Config) -> bytes | None:
        if "build_serialized_network" in self.state.fail or not config.profiles:
            return None
        profile = config.profiles[0]
        for t in network.inputs:  # the profile must cover every input and agree with its fixed dims
            lo, _, hi = profile.shapes[t.name]
            if len(lo) != len(t.shape) or any(d not in (-1, a) or d not in (-1, b)
                                              for d, a, b in zip(t.shape, lo, hi, strict=True)):
                return None
        if config.cache is not None:
            config.cache.entries += 1
        ins, outs = self.state.specs[network.graph]
        return plan_bytes(self.state, network.graph, ins, outs, {n: [list(s) for s in p]
                                                                   for n, p in profile.shapes.items()})


class OnnxParser:
    state: State
    fail_with: str | None = None

    def __init__(self, network: Network, logger: Logger) -> None:
        _check_logger(self.state, logger)
        self.network = network
        self.errors: list[str] = []

    def parse_from_file(self, model: str) -> bool:
        import onnx

        if not isinstance(model, str):
            raise TypeError(f"parse_from_file(): model must be a str path, got {type(model).__name__}")
        if OnnxParser.fail_with:
            self.errors = [OnnxParser.fail_with]
            return False
        graph = onnx.load(model, load_external_data=False).graph
        inits = {t.name for t in graph.initializer}

        def tensor(v: Any) -> Tensor:
            return Tensor(v.name, tuple(d.dim_value if d.HasField("dim_value") else -1
                                        for d in v.type.tensor_type.shape.dim))

        self.network.graph = Path(model).stem
        self.network.inputs = [tensor(i) for i in graph.input if i.name not in inits]
        self.network.outputs = [tensor(o) for o in graph.output]
        return True

    @property
    def num_errors(self) -> int:
        return len(self.errors)

    def get_error(self, index: int) -> str:
        return self.errors[index]


def plan_bytes(state: State, name: str, inputs: Iterable[Spec], outputs: Iterable[Spec],
               profile: Mapping[str, Any]) -> bytes:
    """A serialised fake engine: the graph's I/O contract, its profile, the device and version."""
    body = {"name": name, "device": state.device, "version": state.version, "profile": dict(profile),
            "inputs": [list(s) for s in inputs], "outputs": [list(s) for s in outputs]}
    return PLAN_MAGIC + json.dumps(body).encode()


def specs_of(graphs: Iterable[Any]) -> dict[str, tuple[list[Spec], list[Spec]]]:
    """I/O specs from export contracts (``tensor_specs()``) or manifest :class:`GraphSpec`s."""
    out = {}
    for g in graphs:
        ins, outs = g.tensor_specs() if hasattr(g, "tensor_specs") else (g.inputs, g.outputs)
        out[g.name] = ([(t.name, tuple(t.shape), t.dtype) for t in ins],
                       [(t.name, tuple(t.shape), t.dtype) for t in outs])
    return out


def make(version: str = "10.3.0", graphs: Iterable[Any] = (), device: str = "GPU-0 sm90",
         ops: Any = None) -> types.ModuleType:
    """A fresh fake ``tensorrt`` module; ``graphs``: contracts or manifest graph specs it can build/run."""
    state = State(version, device, specs_of(graphs), ops)
    mod = types.ModuleType("tensorrt")
    mod.__version__ = version
    mod.state = state
    OnnxParser.fail_with = None
    major = state.major
    creation = ("EXPLICIT_BATCH", "STRONGLY_TYPED") if major < 11 else ("STRONGLY_TYPED",)
    flags = ("FP16", "INT8", "DEBUG", "GPU_FALLBACK", "REFIT", "DISABLE_TIMING_CACHE", "TF32")
    if major >= 11:  # removed in 11.x: every precision-enabling flag
        flags = tuple(f for f in flags if f not in ("FP16", "INT8"))
    classes = {"Logger": Logger, "Builder": Builder, "OnnxParser": OnnxParser, "Config": Config,
               "Runtime": rt.Runtime, "ICudaEngine": rt.Engine, "IExecutionContext": rt.Context}
    for name, base in classes.items():
        setattr(mod, name, type(name, (base,), {"state": state, "_module": mod}))
    for name, value in {"NetworkDefinitionCreationFlag": _enum(*creation), "BuilderFlag": _enum(*flags),
                        "MemoryPoolType": _enum("WORKSPACE"), "DataType": rt.DataType,
                        "TensorIOMode": rt.TensorIOMode}.items():
        setattr(mod, name, value)
    return mod
