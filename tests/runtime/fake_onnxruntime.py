"""A stand-in ``onnxruntime`` module with the CUDA provider installed, on a machine without a GPU.

``make(cuda_loads=False)`` behaves like onnxruntime-gpu whose CUDA provider library fails to load:
``get_available_providers()`` still lists ``CUDAExecutionProvider`` (the package has it), the session is
created anyway and runs on the CPU, and only its ``get_providers()`` shows the fallback. With
``cuda_loads=True`` the session reports the CUDA provider (it still computes on the CPU here). Sessions
are real CPU sessions of the real onnxruntime underneath, so graphs, names and outputs are genuine.
"""

from __future__ import annotations

import types
from collections.abc import Sequence
from typing import Any

import onnxruntime as real

CUDA, CPU = "CUDAExecutionProvider", "CPUExecutionProvider"


class Session:
    """A real CPU session that reports the providers a CUDA build would (with or without fallback)."""

    cuda_loads = True
    created: list[Session] = []

    def __init__(self, path: str, sess_options: Any = None, providers: Sequence[str] | None = None) -> None:
        self.inner = real.InferenceSession(path, sess_options=sess_options, providers=[CPU])
        asked = list(providers or [CPU])
        self.providers = asked if self.cuda_loads else [p for p in asked if p != CUDA]
        self.fallback_enabled = True
        Session.created.append(self)

    def get_providers(self) -> list[str]:
        return list(self.providers)

    def disable_fallback(self) -> None:
        self.fallback_enabled = False

    def __getattr__(self, name: str) -> Any:  # run, get_inputs, get_outputs, io_binding, ...
        return getattr(self.inner, name)


def make(cuda_loads: bool) -> types.ModuleType:
    """A fake ``onnxruntime`` module whose CUDA provider does (or does not) load."""
    mod = types.ModuleType("onnxruntime")
    session = type("InferenceSession", (Session,), {"cuda_loads": cuda_loads})
    Session.created = []
    names = {"InferenceSession": session, "SessionOptions": real.SessionOptions,
             "GraphOptimizationLevel": real.GraphOptimizationLevel, "OrtValue": real.OrtValue,
             "get_available_providers": lambda: [CUDA, CPU], "__version__": real.__version__}
    for name, value in names.items():
        setattr(mod, name, value)
    return mod
