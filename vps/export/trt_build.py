"""TensorRT engines from the exported ONNX graphs, with the TensorRT (>= 10) Python API.

Per graph: ``trt.Builder`` -> network (``STRONGLY_TYPED`` for fp16 and int8: the ONNX graph's types are
the precision, as TensorRT recommends for explicit quantization; fp32 is weakly typed with TF32 switched
off so fp32 means fp32) -> ``trt.OnnxParser.parse_from_file`` -> builder config (workspace limit, one
optimisation profile whose min/opt/max come from the graph's export contract, a timing cache) ->
``build_serialized_network`` -> ``{name}.engine``. The source ONNX per precision: fp32 export for fp32,
the fp16 export (fp16 weights/activations, fp32 I/O) for fp16, the Q/DQ-annotated fp32 export
(:mod:`vps.export.quantize`) for int8.

The timing cache (``timing.cache``, persisted next to the engines and reused by the next build in the same
folder) makes rebuilds fast; it is specific to the GPU, CUDA and TensorRT versions. Nothing here shells
out to ``trtexec``. The manifest records ``tensorrt`` version and the GPU compute capability, which the
runtime checks at load (:func:`vps.runtime.backends.tensorrt.check_engine_compat`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vps.runtime.backends.tensorrt import cuda_capability, import_tensorrt
from vps.runtime.manifest import ShapeProfile

TIMING_CACHE = "timing.cache"


def require_tensorrt() -> tuple[Any, str]:
    """``(tensorrt module, compute capability)``; :class:`BackendUnavailableError` if either is missing."""
    trt = import_tensorrt()
    return trt, cuda_capability()


@dataclass(frozen=True)
class BuildSettings:
    """How to build one engine."""

    precision: str  # fp32 | fp16 | int8
    workspace_bytes: int = 4 << 30
    timing_cache: Path | None = None  # read if present, written after the build


def _network_flags(trt: Any, precision: str) -> int:
    if precision == "fp32":
        return 0
    flag = getattr(trt.NetworkDefinitionCreationFlag, "STRONGLY_TYPED", None)
    return 0 if flag is None else 1 << int(flag)


def _parse(trt: Any, network: Any, logger: Any, onnx_path: Path) -> Any:
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = [str(parser.get_error(i)) for i in range(parser.num_errors)]
        first = errors[0].splitlines()[0] if errors else "unknown error"
        raise RuntimeError(f"{onnx_path.name}: the TensorRT ONNX parser failed ({len(errors)} error(s)); "
                           f"first: {first}. Run vps-export --check-trt for a lint of the graph")
    return parser


def _profile(builder: Any, network: Any, profiles: dict[str, ShapeProfile], onnx_path: Path) -> Any:
    profile = builder.create_optimization_profile()
    names = [network.get_input(i).name for i in range(network.num_inputs)]
    missing = [n for n in names if n not in profiles]
    if missing:
        raise ValueError(f"{onnx_path.name}: no shape profile for inputs {missing} (contract/graph mismatch)")
    for n in names:
        p = profiles[n]
        profile.set_shape(n, p.min, p.opt, p.max)
    return profile


def build_engine(trt: Any, onnx_path: str | Path, engine_path: str | Path, profiles: dict[str, ShapeProfile],
                 settings: BuildSettings) -> dict[str, Any]:
    """Build and write one serialized engine; returns a small report (sizes, flags, cache use)."""
    onnx_path, engine_path = Path(onnx_path), Path(engine_path)
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    flags = _network_flags(trt, settings.precision)
    network = builder.create_network(flags)
    parser = _parse(trt, network, logger, onnx_path)  # keep the parser alive until the build is done
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(settings.workspace_bytes))
    if settings.precision == "fp32" and hasattr(trt.BuilderFlag, "TF32"):
        config.clear_flag(trt.BuilderFlag.TF32)
    if settings.precision != "fp32" and not flags:  # TensorRT without strong typing: precision flags
        config.set_flag(trt.BuilderFlag.FP16)
        if settings.precision == "int8":
            config.set_flag(trt.BuilderFlag.INT8)
    config.add_optimization_profile(_profile(builder, network, profiles, onnx_path))
    cache_in = b""
    if settings.timing_cache is not None and settings.timing_cache.is_file():
        cache_in = settings.timing_cache.read_bytes()
    cache = config.create_timing_cache(cache_in)
    config.set_timing_cache(cache, False)  # ignore_mismatch=False: a cache from another GPU is not used
    plan = builder.build_serialized_network(network, config)
    if plan is None:
        raise RuntimeError(f"{onnx_path.name}: TensorRT failed to build an engine (see the log above)")
    data = bytes(plan)
    engine_path.write_bytes(data)
    if settings.timing_cache is not None:
        settings.timing_cache.write_bytes(bytes(config.get_timing_cache().serialize()))
    del parser
    return {"onnx": onnx_path.name, "engine": engine_path.name, "bytes": len(data),
            "strongly_typed": bool(flags), "timing_cache_reused": bool(cache_in)}
