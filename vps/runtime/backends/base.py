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

# Graph and tensor names, declared once for the exporter's contracts (vps.export.contracts). Backends read
# the names from the manifest's graph specs instead (io_names), which the exporter wrote from the contracts.
ENCODER, CONTEXT, DENOISER = "encoder", "context", "denoiser"
GRAPH_NAMES = (ENCODER, CONTEXT, DENOISER)
IMAGE, FEATS, COND, X_T, GAMMA, LOGITS = "image", "feats", "cond", "x_t", "gamma", "logits"
IONames = tuple[tuple[str, ...], tuple[str, ...]]  # (input names, output names) in call order


def io_names(graphs: Sequence[Any]) -> dict[str, IONames]:
    """Graph name -> (input names, output names) in call order, from a manifest's graph specs: the one spec
    per graph, which the exporter wrote from its contract."""
    return {g.name: (tuple(t.name for t in g.inputs), tuple(t.name for t in g.outputs)) for g in graphs}


def name_inputs(names: Sequence[str], inputs: Sequence[Any]) -> dict[str, Any]:
    """A graph call's positional inputs keyed by the spec's input ``names`` (a list input, such as the
    context levels of the denoiser, expands to consecutive names)."""
    flat = [v for x in inputs for v in (x if isinstance(x, list | tuple) else [x])]
    if len(flat) != len(names):
        raise ValueError(f"{len(flat)} inputs for a graph that takes {list(names)}")
    return dict(zip(names, flat, strict=True))


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
