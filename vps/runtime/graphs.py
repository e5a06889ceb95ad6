"""Device-side execution helpers of :class:`vps.runtime.segmenter.Segmenter`.

:class:`ConstantCache` keeps the per-step ``gamma`` inputs on the device (no host->device copy inside the
sampling loop); :class:`FrameGraphs` captures one frame's device work as CUDA graphs for the torch backend.
Importing this module imports neither torch nor an inference library.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from vps.runtime.backends.base import Backend
from vps.runtime.manifest import Manifest
from vps.runtime.sampling import NUM_COND_FRAMES, StepPlan, run_denoiser


class ConstantCache:
    """Backend wrapper serving small host arrays (the per-step ``gamma [B]``) from device copies made once.

    :func:`~vps.runtime.sampling.run_denoiser` uploads each step's gamma with ``asarray``; on a GPU backend
    that is a pageable host->device copy per step (a possible stream sync, and illegal inside CUDA-graph
    capture). After the first frame every gamma is a cache hit. Consumers never write to their inputs.
    """

    MAX_CACHED = 64  # elements: gammas are [B]; images, bits and noise always pass through

    def __init__(self, backend: Backend) -> None:
        self.inner, self.name = backend, backend.name
        self.device = getattr(backend, "device", "cpu")
        self._cache: dict[tuple[tuple[int, ...], bytes], Any] = {}

    def encode(self, images: Any) -> Any:
        return self.inner.encode(images)

    def context(self, cond: Any, feats: Any) -> list[Any]:
        return self.inner.context(cond, feats)

    def denoise(self, x_t: Any, ctx: Sequence[Any], gamma: Any) -> Any:
        return self.inner.denoise(x_t, ctx, gamma)

    def asarray(self, array: np.ndarray) -> Any:
        if array.size > self.MAX_CACHED:
            return self.inner.asarray(array)
        key = (array.shape, np.ascontiguousarray(array, np.float32).tobytes())
        if key not in self._cache:
            self._cache[key] = self.inner.asarray(array)
        return self._cache[key]

    def to_numpy(self, array: Any) -> np.ndarray:
        return self.inner.to_numpy(array)


class FrameGraphs:
    """CUDA-graph replay of one frame's device work (torch backend on CUDA; not run in CI: no GPU there).

    One graph per schedule (cold, warm) captures encode -> context -> ``steps`` x (denoise, expected bits,
    DDIM move) -> decoded ids, i.e. exactly :meth:`Segmenter._eager`'s calls, on static input buffers.
    Shapes are static (the manifest's input and mask sizes), the gammas come from the
    :class:`ConstantCache` filled by two warm-up runs on a side stream (which also compile the Triton
    kernels), and nothing in the captured region reads a value back to the host. Per frame the host copies
    image, conditioning bits, noise (and the warm-start bits) in, replays, and reads the ``int32 [h, w]`` ids
    back: the frame's one synchronisation, which the tracker needs anyway.
    """

    def __init__(self, backend: ConstantCache, cold: StepPlan, warm: StepPlan, manifest: Manifest) -> None:
        import torch

        self.torch, self.backend, self.layout = torch, backend, manifest.layout
        self.plans = {False: cold, True: warm}
        (H, W), (h, w), nb = manifest.input_size, manifest.mask_size, manifest.layout.num_bits
        shapes = {"image": (1, 3, H, W), "cond": (1, NUM_COND_FRAMES * nb, h, w), "noise": (1, nb, h, w),
                  "x_init": (1, nb, h, w)}
        self.inputs = {k: torch.zeros(s, device=backend.device) for k, s in shapes.items()}
        self.graphs: dict[bool, tuple[Any, Any]] = {}

    def _body(self, warm: bool) -> Any:
        from vps.kernels import decode_panoptic

        be, buf = self.backend, self.inputs
        feats = be.encode(buf["image"])
        logits = run_denoiser(be, feats, buf["cond"], self.plans[warm], buf["noise"], self.layout.scale,
                              buf["x_init"] if warm else None)
        return decode_panoptic(logits, None, self.layout.label_divisor)  # int32 [1, h, w] on the device

    def _capture(self, warm: bool) -> tuple[Any, Any]:
        torch = self.torch
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(2):
                self._body(warm)
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            out = self._body(warm)
        return graph, out

    def run(self, x: np.ndarray, cond: np.ndarray, noise: np.ndarray,
            x_init: np.ndarray | None) -> np.ndarray:
        """Ids ``int32 [h, w]`` of one frame (``x_init`` given: the warm-start graph)."""
        warm = x_init is not None
        feeds = {"image": x, "cond": cond, "noise": noise, **({"x_init": x_init} if warm else {})}
        for name, array in feeds.items():
            self.inputs[name].copy_(self.torch.from_numpy(np.ascontiguousarray(array)))
        if warm not in self.graphs:
            self.graphs[warm] = self._capture(warm)
        graph, out = self.graphs[warm]
        graph.replay()
        return out[0].cpu().numpy()
