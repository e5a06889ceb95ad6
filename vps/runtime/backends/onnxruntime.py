"""ONNX Runtime backend (torch-free): one ``InferenceSession`` per exported graph, CPU or CUDA.

Arrays are NumPy arrays on the host. ONNX Runtime falls back to the CPU, with only a log line, when
the CUDA provider's libraries (CUDA, cuDNN) fail to load, and ``get_available_providers()`` does not
see that: on CUDA each session's actual providers (``get_providers()``) are checked, and a session
without the CUDA provider is refused with one line naming the graph; its run-time fallback is disabled
(``disable_fallback()``), so a CUDA backend never runs on the CPU unnoticed. The providers each session
really uses are in :attr:`OnnxRuntimeBackend.session_providers`.

On CUDA (``device="cuda"``, needs ``onnxruntime-gpu``) the backend uses IO binding so the per-frame
context stays on the GPU across the ``steps`` denoiser calls: the ``context`` graph's outputs are
``OrtValue``s bound to the device and the denoiser graphs bind them as inputs, so only ``x_t`` goes up and
the next sample (or the ids) comes down per step. On the CPU plain ``run`` is as fast (IO binding can be
forced with ``io_binding=True``, which the tests use to exercise that path without a GPU).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vps.runtime.backends.base import (
    CONTEXT,
    BackendUnavailableError,
    check_float32,
    io_names,
    name_inputs,
)
from vps.runtime.manifest import GraphSpec, Manifest

DEVICES = ("cpu", "cuda")


def _import_ort() -> Any:
    try:
        import onnxruntime
    except ImportError:  # pragma: no cover - onnxruntime is a core dependency
        raise BackendUnavailableError("ONNX Runtime is not installed: pip install vps-toolkit") from None
    return onnxruntime


def providers_for(device: str, available: Sequence[str]) -> list[str]:
    """Execution providers for ``device``; a one-line :class:`BackendUnavailableError` if it cannot run."""
    if device not in DEVICES:
        raise ValueError(f"device must be one of {DEVICES}, got {device!r}")
    if device == "cpu":
        return ["CPUExecutionProvider"]
    if "CUDAExecutionProvider" not in available:
        raise BackendUnavailableError("ONNX Runtime has no CUDA execution provider here (available: "
                                 f"{', '.join(available)}): install onnxruntime-gpu instead of onnxruntime "
                                 "(make gpu-ort) on a machine with a CUDA GPU")
    return ["CUDAExecutionProvider", "CPUExecutionProvider"]


def best_device() -> str:
    """``cuda`` where ONNX Runtime has its CUDA provider (``onnxruntime-gpu``), else ``cpu``."""
    return "cuda" if "CUDAExecutionProvider" in _import_ort().get_available_providers() else "cpu"


class OnnxRuntimeBackend:
    """The graphs of an export folder in ONNX Runtime sessions (one per graph the manifest lists)."""

    name = "onnxruntime"

    def __init__(self, manifest: Manifest, folder: str | Path, device: str = "cpu", threads: int = 0,
                 io_binding: bool | None = None) -> None:
        ort = _import_ort()
        self.ort = ort
        self.manifest = manifest
        self.device = device
        self.providers = providers_for(device, ort.get_available_providers())
        self.io_binding = device == "cuda" if io_binding is None else bool(io_binding)
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads > 0:
            opts.intra_op_num_threads = threads
        self.sessions: dict[str, Any] = {}
        self.session_providers: dict[str, list[str]] = {}  # graph -> providers the session really uses
        for spec in manifest.graphs:
            name = spec.name
            if spec.engine != "onnx":
                raise ValueError(f"graph {name!r} is a {spec.engine!r} file ({spec.file}); "
                                 f"the ONNX Runtime backend runs ONNX graphs")
            session = ort.InferenceSession(str(Path(folder) / spec.file), sess_options=opts,
                                           providers=self.providers)
            self.session_providers[name] = _check_providers(session, spec, device)
            _check_io(session, spec)
            self.sessions[name] = session
        self.io = io_names(manifest.graphs)
        self.ctx_names = self.io[CONTEXT][1] if CONTEXT in self.io else ()  # Pix2Seq-D's per-frame context
        self._ort_device = "cuda" if device == "cuda" else "cpu"

    # ---- the Backend protocol ---------------------------------------------------------------------
    def run(self, graph: str, *inputs: Any) -> list[Any]:
        """``graph`` on positional inputs (names from the manifest's spec); outputs in the spec's order."""
        ins, outs = self.io[graph]
        named = name_inputs(ins, inputs)
        session = self.sessions[graph]
        if not self.io_binding:
            feeds = {n: check_float32(self._host(v), n) for n, v in named.items()}
            return list(session.run(list(outs), feeds))
        binding = session.io_binding()
        for name, value in named.items():
            if isinstance(value, np.ndarray):
                binding.bind_cpu_input(name, check_float32(value, name))
            else:
                binding.bind_ortvalue_input(name, value)  # the frame's context, already on the device
        for name in outs:  # the context stays on the device for the steps; the rest comes to the host
            binding.bind_output(name, self._ort_device if name in self.ctx_names else "cpu")
        session.run_with_iobinding(binding)
        values = binding.get_outputs()
        return [v if n in self.ctx_names else v.numpy() for n, v in zip(outs, values, strict=True)]

    def asarray(self, array: np.ndarray) -> np.ndarray:
        return check_float32(array, "input")

    def to_numpy(self, array: Any) -> np.ndarray:
        return self._host(array)

    def _host(self, value: Any) -> np.ndarray:
        return value if isinstance(value, np.ndarray) else np.asarray(value.numpy())


def _check_providers(session: Any, spec: GraphSpec, device: str) -> list[str]:
    """The session's actual providers; on CUDA, refuse a session that fell back to the CPU."""
    actual = list(session.get_providers())
    if device == "cuda":
        if "CUDAExecutionProvider" not in actual:
            raise BackendUnavailableError(
                f"{spec.file}: ONNX Runtime fell back to the CPU (session providers: {', '.join(actual)}): "
                f"the CUDA provider failed to load, see its error above (CUDA/cuDNN libraries that "
                f"onnxruntime-gpu needs); use --device cpu to run on the CPU deliberately")
        session.disable_fallback()  # no silent switch to the CPU at run time either
    return actual


def _check_io(session: Any, spec: GraphSpec) -> None:
    """The session's input/output names must be the manifest's (a mismatched file is refused early)."""
    have = ([i.name for i in session.get_inputs()], [o.name for o in session.get_outputs()])
    want = ([t.name for t in spec.inputs], [t.name for t in spec.outputs])
    if sorted(have[0]) != sorted(want[0]) or sorted(have[1]) != sorted(want[1]):
        raise ValueError(f"{spec.file}: graph inputs/outputs {have} differ from the manifest's {want}")
