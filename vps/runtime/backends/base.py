"""The backend protocol the frame engine (:class:`vps.runtime.Segmenter`) runs graphs through.

A backend runs the three exported sub-networks of Pix2Seq-D, whatever executes them (ONNX Runtime,
TensorRT engines, the PyTorch module):

* ``encode(images [B, 3, H, W] float32) -> feats [B, C, h, w]``: once per frame;
* ``context(cond [B, 32, h, w], feats) -> ctx``: the per-frame denoiser context, one tensor per U-Net
  level (``ctx_i [B, c_i, h / 2**i, w / 2**i]``), once per frame;
* ``denoise(x_t [B, 16, h, w], ctx, gamma [B]) -> logits [B, 512, h, w]``: ``steps`` times per frame.

Arrays are the backend's own kind: NumPy arrays for ONNX Runtime, CUDA tensors for TensorRT, tensors on
the module's device for PyTorch. ``asarray`` moves a host NumPy array in, ``to_numpy`` brings one back,
so the frame program (:mod:`vps.runtime.pix2seq_d`) never needs to know which kind it holds. This module and
the package import neither torch nor any inference library.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

# Graph and tensor names: the contract between the exporter (vps.export.contracts) and every backend.
ENCODER, CONTEXT, DENOISER = "encoder", "context", "denoiser"
GRAPH_NAMES = (ENCODER, CONTEXT, DENOISER)
IMAGE, FEATS, COND, X_T, GAMMA, LOGITS = "image", "feats", "cond", "x_t", "gamma", "logits"


def ctx_names(levels: int) -> tuple[str, ...]:
    """Names of the per-level context tensors: ``ctx0`` (mask resolution) .. ``ctx{levels-1}``."""
    return tuple(f"ctx{i}" for i in range(levels))


class BackendUnavailableError(ImportError):
    """A backend cannot run here (library or device missing); the message is one line saying the fix."""


@runtime_checkable
class Backend(Protocol):
    """What the host loop needs from an inference backend (see the module docstring)."""

    name: str

    def encode(self, images: Any) -> Any: ...

    def context(self, cond: Any, feats: Any) -> list[Any]: ...

    def denoise(self, x_t: Any, ctx: Sequence[Any], gamma: Any) -> Any: ...

    def asarray(self, array: np.ndarray) -> Any: ...

    def to_numpy(self, array: Any) -> np.ndarray: ...


def check_float32(array: np.ndarray, name: str) -> np.ndarray:
    """``array`` as a C-contiguous float32 array (inputs of every exported graph are float32)."""
    if not isinstance(array, np.ndarray):
        raise ValueError(f"{name} must be a numpy array, got {type(array).__name__}")
    if array.dtype != np.float32:
        raise ValueError(f"{name} must be float32, got {array.dtype}")
    return np.ascontiguousarray(array)
