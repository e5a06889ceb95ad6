"""The backend protocol the frame engine (:class:`vps.runtime.Segmenter`) runs graphs through.

A backend runs a model family's exported graphs by name, whatever executes them (ONNX Runtime, TensorRT
engines, the PyTorch module): ``run(graph, *inputs) -> [outputs]``, inputs positional in the graph spec's
order (a list input, such as the context levels, expands to consecutive inputs), outputs in the spec's
order. Pix2Seq-D's graphs (:mod:`vps.export.contracts`):

* ``encoder(image [B, 3, H, W]) -> [feats [B, C, h, w]]``: once per frame;
* ``context(cond [B, 32, h, w], feats) -> [ctx_0, ..., ctx_{L-1}]``: the per-frame denoiser context, one
  tensor per U-Net level (``ctx_i [B, c_i, h / 2**i, w / 2**i]``);
* ``denoiser_step(x_t [B, 16, h, w], ctx, gamma [B], coef [B, 2]) -> [x_next [B, 16, h, w]]``: every step
  but the last (bit expectation and DDIM move inside the graph);
* ``denoiser_final(x_t, ctx, gamma) -> [ids int32 [B, h, w]]``: the last step (argmax per byte inside).

Video K-Net's one graph per frame (:mod:`vps.runtime.video_knet`):

* ``knet_frame(image [B, 3, H, W], prev_kernels [B, K, E], has_prev [B]) -> [scores [B, K, C],
  masks [B, K, h, w], embeds [B, N, D], kernels [B, K, E]]``: sigmoid class and mask probabilities of every
  kernel (things first), the thing kernels' tracking embeddings and this frame's kernels (the next frame's
  ``prev_kernels``; ``has_prev = 0`` makes the outputs independent of ``prev_kernels``).

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
ENCODER, CONTEXT, DENOISER_STEP, DENOISER_FINAL = "encoder", "context", "denoiser_step", "denoiser_final"
GRAPH_NAMES = (ENCODER, CONTEXT, DENOISER_STEP, DENOISER_FINAL)
IMAGE, FEATS, COND, X_T, GAMMA, COEF = "image", "feats", "cond", "x_t", "gamma", "coef"
X_NEXT, IDS = "x_next", "ids"
KNET_FRAME = "knet_frame"
KNET_GRAPH_NAMES = (KNET_FRAME,)
PREV_KERNELS, HAS_PREV = "prev_kernels", "has_prev"
SCORES, MASKS, EMBEDS, KERNELS = "scores", "masks", "embeds", "kernels"
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

    def run(self, graph: str, *inputs: Any) -> list[Any]: ...

    def asarray(self, array: np.ndarray) -> Any: ...

    def to_numpy(self, array: Any) -> np.ndarray: ...


def check_float32(array: np.ndarray, name: str) -> np.ndarray:
    """``array`` as a C-contiguous float32 array (inputs of every exported graph are float32)."""
    if not isinstance(array, np.ndarray):
        raise ValueError(f"{name} must be a numpy array, got {type(array).__name__}")
    if array.dtype != np.float32:
        raise ValueError(f"{name} must be float32, got {array.dtype}")
    return np.ascontiguousarray(array)
