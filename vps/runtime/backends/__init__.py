"""Inference backends behind one small protocol (:class:`~vps.runtime.backends.base.Backend`).

* ``onnxruntime`` (:mod:`.onnxruntime`): exported ONNX graphs on CPU or CUDA; torch-free.
* ``tensorrt`` (:mod:`.tensorrt`): TensorRT 10 engines on a CUDA GPU (device buffers are torch tensors).
* ``torch`` (:mod:`.torch`): the PyTorch module itself (the verification reference).

Importing this package loads none of them: :func:`open_backend` imports the one asked for, so a machine
with only ONNX Runtime never touches torch or TensorRT.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vps.runtime.backends.base import (
    CONTEXT,
    DENOISER,
    ENCODER,
    GRAPH_NAMES,
    Backend,
    BackendUnavailableError,
    ctx_names,
)
from vps.runtime.manifest import Manifest, load_manifest

KINDS = ("auto", "onnxruntime", "tensorrt")


def open_backend(folder: str | Path, kind: str = "auto", device: str = "cpu",
                 manifest: Manifest | None = None, **options: Any) -> Backend:
    """The backend for an export folder (its manifest is loaded and its files verified unless given).

    ``kind="auto"`` picks TensorRT for ``trt`` engines and ONNX Runtime for ONNX graphs. ``options`` go to
    the backend's constructor (e.g. ``threads``, ``io_binding``, ``cuda_graph``).
    """
    if kind not in KINDS:
        raise ValueError(f"backend kind must be one of {KINDS}, got {kind!r}")
    manifest = load_manifest(folder) if manifest is None else manifest
    engines = {g.engine for g in manifest.graphs}
    if kind == "auto":
        kind = "tensorrt" if engines == {"trt"} else "onnxruntime"
    if kind == "tensorrt":
        from vps.runtime.backends.tensorrt import TensorRTBackend

        return TensorRTBackend(manifest, folder, **options)
    from vps.runtime.backends.onnxruntime import OnnxRuntimeBackend

    return OnnxRuntimeBackend(manifest, folder, device=device, **options)


__all__ = ["CONTEXT", "DENOISER", "ENCODER", "GRAPH_NAMES", "KINDS", "Backend", "BackendUnavailableError",
           "ctx_names", "open_backend"]
