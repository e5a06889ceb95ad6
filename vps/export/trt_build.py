"""TensorRT engines from the exported ONNX graphs, with the TensorRT 10.x / 11.x Python API.

Per graph: ``trt.Builder`` -> network -> ``trt.OnnxParser.parse_from_file`` -> builder config (workspace
limit, one optimisation profile whose min/opt/max come from the graph's export contract, a timing cache)
-> ``build_serialized_network`` -> ``{name}.engine``. The source ONNX per precision: fp32 export for fp32,
the fp16 export (fp16 weights/activations, fp32 I/O) for fp16, the Q/DQ-annotated fp32 export
(:mod:`vps.export.quantize`) for int8.

Typing: the ONNX graph's types are the precision. fp16 and int8 networks are created ``STRONGLY_TYPED``
(TensorRT 10.x; 11.x is always strongly typed and ignores the flag); no precision builder flag is ever
set (``BuilderFlag.FP16/INT8`` no longer exist in 11.x). fp32 is built with TF32 switched off so fp32
means fp32 (weakly typed on 10.x, strongly typed on 11.x: the same fp32 graph either way).

The timing cache (``timing.cache``, persisted next to the engines and reused by the next build in the same
folder) makes rebuilds fast; it is specific to the GPU, CUDA and TensorRT versions. A cache from another
GPU is refused by ``set_timing_cache(cache, False)`` (it returns False); the build then starts a fresh
cache, which is what gets written. Every TensorRT object shares the process's one logger
(:func:`vps.runtime.backends.tensorrt.shared_logger`). The manifest records the ``tensorrt`` version and
the GPU compute capability, which the runtime checks at load
(:func:`vps.runtime.backends.tensorrt.check_engine_compat`). Nothing here shells out to ``trtexec``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vps.runtime.backends.tensorrt import cuda_capability, import_tensorrt, shared_logger
from vps.runtime.manifest import ShapeProfile

TIMING_CACHE = "timing.cache"
log = logging.getLogger(__name__)


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
    """``create_network`` flags: STRONGLY_TYPED for fp16/int8 (10.x needs it; 11.x ignores it)."""
    if precision == "fp32":
        return 0
    flag = getattr(trt.NetworkDefinitionCreationFlag, "STRONGLY_TYPED", None)
    if flag is None:  # present from 10.0 through 11.x (deprecated, ignored, in 11.x)
        raise RuntimeError(f"TensorRT {trt.__version__} has no STRONGLY_TYPED networks: {precision} engines "
                           f"need TensorRT 10.x or 11.x")
    return 1 << int(flag)


def _strongly_typed(trt: Any, flags: int) -> bool:
    return bool(flags) or _major(trt) >= 11


def _major(trt: Any) -> int:
    return int(str(trt.__version__).split(".")[0])


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
        try:
            profile.set_shape(n, p.min, p.opt, p.max)
        except ValueError as e:  # documented: inconsistent min/opt/max
            raise ValueError(f"{onnx_path.name}.{n}: TensorRT refused the profile min {p.min} opt {p.opt} "
                             f"max {p.max}: {e}") from None
    return profile


def _add_profile(config: Any, profile: Any, onnx_path: Path) -> None:
    """``add_optimization_profile`` returns the profile's index, or -1 if TensorRT finds it invalid."""
    if config.add_optimization_profile(profile) < 0:
        raise RuntimeError(f"{onnx_path.name}: TensorRT refused the optimisation profile "
                           f"(add_optimization_profile returned -1; see the TensorRT log above)")


def _attach_timing_cache(config: Any, path: Path | None, onnx_path: Path) -> str:
    """Attach the cache at ``path`` (``reused``), a fresh one (``new``, or ``rejected`` when the file came
    from another GPU / TensorRT: ``set_timing_cache(..., False)`` returned False), or none (``off``)."""
    if path is None:
        return "off"
    data = path.read_bytes() if path.is_file() else b""
    if config.set_timing_cache(config.create_timing_cache(data), False):
        return "reused" if data else "new"
    log.warning("%s: TensorRT refused %s (made on another GPU or TensorRT version); building with a fresh "
                "timing cache, which replaces it", onnx_path.name, path)
    if config.set_timing_cache(config.create_timing_cache(b""), False):
        return "rejected"
    return "off"


def _save_timing_cache(config: Any, path: Path | None, onnx_path: Path) -> bool:
    """Write the config's timing cache to ``path``; ``get_timing_cache()`` is None when none is set."""
    if path is None:
        return False
    cache = config.get_timing_cache()
    if cache is None:
        log.warning("%s: TensorRT has no timing cache to save; %s left as it was", onnx_path.name, path)
        return False
    path.write_bytes(bytes(cache.serialize()))
    return True


def build_engine(trt: Any, onnx_path: str | Path, engine_path: str | Path, profiles: dict[str, ShapeProfile],
                 settings: BuildSettings) -> dict[str, Any]:
    """Build and write one serialized engine; returns a small report (sizes, typing, cache use)."""
    onnx_path, engine_path = Path(onnx_path), Path(engine_path)
    logger = shared_logger(trt)
    builder = trt.Builder(logger)
    flags = _network_flags(trt, settings.precision)
    network = builder.create_network(flags)
    parser = _parse(trt, network, logger, onnx_path)  # keep the parser alive until the build is done
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(settings.workspace_bytes))
    if settings.precision == "fp32" and hasattr(trt.BuilderFlag, "TF32"):
        config.clear_flag(trt.BuilderFlag.TF32)
    _add_profile(config, _profile(builder, network, profiles, onnx_path), onnx_path)
    cache_state = _attach_timing_cache(config, settings.timing_cache, onnx_path)
    plan = builder.build_serialized_network(network, config)
    if plan is None:
        raise RuntimeError(f"{onnx_path.name}: TensorRT failed to build an engine (see the log above)")
    data = bytes(plan)
    engine_path.write_bytes(data)
    saved = _save_timing_cache(config, settings.timing_cache, onnx_path)
    del parser
    return {"onnx": onnx_path.name, "engine": engine_path.name, "bytes": len(data),
            "strongly_typed": _strongly_typed(trt, flags), "timing_cache": cache_state,
            "timing_cache_reused": cache_state == "reused", "timing_cache_saved": saved}
