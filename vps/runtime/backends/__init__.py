"""Inference backends behind one small protocol (:class:`~vps.runtime.backends.base.Backend`), and the one
registry that opens them.

* ``onnxruntime`` (:mod:`.onnxruntime`): exported ONNX graphs on CPU or CUDA; torch-free.
* ``tensorrt`` (:mod:`.tensorrt`): TensorRT 10.x/11.x engines on a CUDA GPU (torch tensors as buffers).
* ``torch`` (:mod:`.torch`): the checkpoint's PyTorch module itself (the verification reference, the
  naive baseline, ``vps-predict`` and training's evaluation).

``auto`` (:func:`resolve_backend`, the one rule): TensorRT if the folder holds engines and TensorRT is
importable; else PyTorch if a checkpoint is at hand and CUDA is available; else ONNX Runtime (its CUDA
provider if installed). Importing this package loads none of them: :func:`open_backend` imports the one
asked for, so a machine with only ONNX Runtime never touches torch or TensorRT.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vps.runtime.backends.base import Backend, BackendUnavailableError
from vps.runtime.manifest import Manifest


def _open_onnxruntime(folder: Path | None, manifest: Manifest | None, device: str | None,
                      **options: Any) -> Backend:
    from vps.runtime.backends.onnxruntime import OnnxRuntimeBackend, best_device

    if folder is None or manifest is None:
        raise ValueError("the onnxruntime backend runs an export folder (artifacts)")
    if options.pop("cuda_graph", None):
        raise ValueError("cuda_graph=True: CUDA graphs are an option of TensorRT and of torch on CUDA, "
                         "not of ONNX Runtime")
    return OnnxRuntimeBackend(manifest, folder, device=device or best_device(), **options)


def _open_tensorrt(folder: Path | None, manifest: Manifest | None, device: str | None,
                   **options: Any) -> Backend:
    from vps.runtime.backends.tensorrt import TensorRTBackend

    if folder is None or manifest is None:
        raise ValueError("the tensorrt backend runs an export folder of engines (vps-export --engine trt)")
    options.setdefault("cuda_graph", True)  # replay the denoiser step (TensorRT needs no eager fallback)
    return TensorRTBackend(manifest, folder, **options)


def _open_torch(folder: Path | None, manifest: Manifest | None, device: str | None, checkpoint: Any = None,
                precision: str | None = None, cuda_graph: bool | None = None, threads: int = 0) -> Backend:
    from vps.runtime.backends.torch import TorchBackend

    if checkpoint is None:
        raise ValueError("the torch backend runs the training checkpoint: pass checkpoint=PATH "
                         "(vps-run --checkpoint)")
    if threads > 0:
        import torch

        torch.set_num_threads(threads)
    return TorchBackend.from_checkpoint(checkpoint, device, precision, cuda_graph)


# name -> opener(folder, manifest, device, **options); "auto" resolves to one of these.
OPENERS: dict[str, Callable[..., Backend]] = {
    "onnxruntime": _open_onnxruntime, "tensorrt": _open_tensorrt, "torch": _open_torch}
BACKENDS = ("auto", *OPENERS)


def resolve_backend(kind: str, manifest: Manifest | None = None, checkpoint: str | Path | None = None) -> str:
    """The concrete backend ``kind`` stands for (``auto``: see the module docstring)."""
    if kind not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {kind!r}")
    if kind != "auto":
        return kind
    if manifest is not None and manifest.engine == "trt" and _importable("tensorrt"):
        return "tensorrt"
    if checkpoint is not None and Path(checkpoint).is_file() and _importable("torch"):
        import torch

        if torch.cuda.is_available() or manifest is None:
            return "torch"
    return "onnxruntime"


def open_backend(folder: str | Path | None, kind: str = "auto", device: str | None = None,
                 manifest: Manifest | None = None, checkpoint: str | Path | None = None,
                 precision: str | None = None, **options: Any) -> Backend:
    """Open backend ``kind`` (after :func:`resolve_backend`) for an export folder or a checkpoint.

    The folder's manifest is loaded and its files verified unless ``manifest`` is given.

    ``device``: ``cpu``/``cuda`` (default: the best available). ``checkpoint`` and ``precision``
    (``fp32``/``fp16``/``bf16`` autocast): the torch backend. ``options`` go to the backend's constructor
    (``threads``, ``io_binding``, ``cuda_graph``).
    """
    folder = None if folder is None else Path(folder)
    if folder is not None and manifest is None:
        from vps.runtime.manifest import load_manifest

        manifest = load_manifest(folder)
    kind = resolve_backend(kind, manifest, checkpoint)
    if kind == "torch":
        return _open_torch(folder, manifest, device, checkpoint, precision, **options)
    return OPENERS[kind](folder, manifest, device, **options)


def _importable(name: str) -> bool:
    """Whether ``import name`` would find the module (without importing it)."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


__all__ = ["BACKENDS", "OPENERS", "Backend", "BackendUnavailableError", "open_backend", "resolve_backend"]
