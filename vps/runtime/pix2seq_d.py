"""Pix2Seq-D's frame program: encode, context, ``steps`` denoiser calls with DDIM moves, decode.

Per frame, with ``h x w`` the mask size and ``nb = 16`` analog bits:

1. the noise ``[1, nb, h, w]`` is drawn first (:class:`NoiseSource`, seeded, restarted with every sequence:
   the same frames and seed give the same noise on every backend);
2. ``feats = encoder(image)``; ``ctx = context(cond, feats)`` with ``cond [1, 2 * nb, h, w]`` the analog bits
   of the two previous cleaned predictions (t-1, then t-2; zeros where there is none);
3. ``x`` starts as the noise (cold plan) or, from the second frame of a sequence with the warm start, as the
   previous prediction's bits noised to the warm plan's signal level ``g``:
   ``sqrt(g) * bits + sqrt(1 - g) * noise``;
4. every call ``i`` of the plan but the last: ``x = denoiser_step(x, ctx, gamma_i, coef_i)``, inside which
   the x0 estimate is the softmax expectation of the bits and ``x_next = a_i * x0 + b_i * x`` with the
   plan's precomputed coefficients ``coef_i = (a_i, b_i)``;
5. the last call: ``ids = denoiser_final(x, ctx, gamma)``, the argmax per byte ``int32 [1, h, w]``, which
   stays on the backend's device for post-processing. No logits cross the graph boundary.

Steps 2-5 are pure device work (:meth:`Pix2SeqDFrame._frame`). A backend that offers ``frame_graphs`` (the
torch backend on CUDA, ``cuda_graph=True``) captures them as one CUDA graph per plan through the toolkit's
one mechanism (:class:`vps.runtime.backends.cuda_graph.GraphCache`), and each frame copies the host inputs
in and replays (stage ``device``); a failed first capture warns and runs eagerly from then on.

The plans' gammas and coefficients come from the :class:`~vps.program.FrameProgram` (the manifest): no
schedule algebra runs here. Arithmetic uses operators NumPy arrays and torch tensors share, so the program
runs on host arrays (ONNX Runtime) and device tensors (TensorRT, PyTorch) alike. Torch-free.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from vps.bits import NUM_COND_FRAMES, panoptic_to_bits
from vps.runtime.family import FrameModel


class NoiseSource:
    """Standard-normal float32 noise from ``numpy.random.default_rng(seed)``; :meth:`reset` restarts it."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = int(seed)
        self._rng = np.random.default_rng(self.seed)

    def reset(self) -> None:
        self._rng = np.random.default_rng(self.seed)

    def __call__(self, shape: Sequence[int]) -> np.ndarray:
        return self._rng.standard_normal(tuple(shape), dtype=np.float32)


@dataclass
class DiffusionCarry:
    """What Pix2Seq-D carries between frames: ``prev_bits float32 [2, nb, h, w]`` (index 0 = t-1, 1 = t-2;
    a missing frame is zeros, what the model saw for a dropped conditioning in training), ``None`` before
    the first frame. The warm-start sample is ``prev_bits[:1]``."""

    prev_bits: np.ndarray | None = None

    def push(self, bits: np.ndarray) -> None:
        """Make ``bits`` (``float [nb, h, w]``, the frame just predicted) the t-1 conditioning."""
        bits = np.asarray(bits, np.float32)
        if bits.ndim != 3:
            raise ValueError(f"bits must be [num_bits, h, w], got shape {bits.shape}")
        if self.prev_bits is None:
            self.prev_bits = np.zeros((NUM_COND_FRAMES, *bits.shape), np.float32)
        elif self.prev_bits.shape[1:] != bits.shape:
            raise ValueError(f"bits shape {bits.shape} differs from the stream's {self.prev_bits.shape[1:]}; "
                             f"start a new sequence first")
        else:
            self.prev_bits[1] = self.prev_bits[0]
        self.prev_bits[0] = bits


class Pix2SeqDFrame(FrameModel):
    """The diffusion family (see the module docstring)."""

    family = "pix2seq_d"
    graphs = ("encoder", "context", "denoiser_step", "denoiser_final")

    def __init__(self, program: Any, calls: Any, seed: int = 0, warm_start: bool = True) -> None:
        super().__init__(program, calls, seed, warm_start)
        self.layout = program.layout
        self.noise = NoiseSource(seed)
        if program.sampler is None:
            raise ValueError("a pix2seq_d program needs its denoising plans (program.sampler)")
        self.plans = {False: program.sampler.cold, True: program.sampler.warm}
        be = calls.backend  # per-call gammas and coefficients uploaded once (no host->device copy per step)
        self._gammas = {warm: [be.asarray(np.full((1,), g, np.float32)) for g in plan.gammas]
                        for warm, plan in self.plans.items()}
        self._coefs = {warm: [be.asarray(np.array([ab], np.float32)) for ab in plan.coefficients]
                       for warm, plan in self.plans.items()}  # [1, 2] (a, b) per call
        h, w = program.mask_size
        self._zeros_cond = np.zeros((1, NUM_COND_FRAMES * self.layout.num_bits, h, w), np.float32)
        self._static: dict[str, Any] | None = None  # CUDA-graph input buffers
        frame_graphs = getattr(be, "frame_graphs", None)  # whole-frame capture (torch backend on CUDA)
        self._graphs = frame_graphs(self._setup_graph) if frame_graphs is not None else None

    def new_carry(self) -> DiffusionCarry:
        self.noise.reset()
        return DiffusionCarry()

    def warm(self, carry: DiffusionCarry) -> bool:
        return self.warm_start and carry.prev_bits is not None

    def infer(self, x: np.ndarray, carry: DiffusionCarry) -> Any:
        warm = self.warm(carry)
        h, w = self.program.mask_size
        noise = self.noise((1, self.layout.num_bits, h, w))  # drawn first: same order on every backend
        cond = self._zeros_cond if carry.prev_bits is None else carry.prev_bits.reshape(1, -1, h, w)
        feeds = {"image": x, "cond": cond, "noise": noise}
        if warm:
            assert carry.prev_bits is not None
            feeds["x_init"] = carry.prev_bits[:1]  # [1, nb, h, w]: the previous prediction's bits
        if self._graphs is not None:
            ids = self._replay(feeds, warm)
            if ids is not None:
                return ids
        be = self.calls.backend
        return self._frame({k: be.asarray(v) for k, v in feeds.items()}, warm)

    def _frame(self, feeds: dict[str, Any], warm: bool) -> Any:
        """The frame's device work on backend arrays -> ids ``int32 [1, h, w]`` (no host reads)."""
        call = self.calls
        feats = call("encoder", feeds["image"])[0]  # [1, C, h, w]
        ctx = call("context", feeds["cond"], feats)  # one tensor per U-Net level
        plan, gammas, coefs = self.plans[warm], self._gammas[warm], self._coefs[warm]
        x_t = feeds["noise"]
        if warm:
            assert plan.start_gamma is not None
            g = plan.start_gamma
            x_t = feeds["x_init"] * math.sqrt(g) + x_t * math.sqrt(1.0 - g)
        last = plan.steps - 1
        for i in range(last):
            # [1, nb, h, w]: the next sample
            x_t = call("denoiser_step", x_t, ctx, gammas[i], coefs[i], stage=f"denoise_{i}")[0]
        return call("denoiser_final", x_t, ctx, gammas[last], stage=f"denoise_{last}")[0]  # int32 [1, h, w]

    # ---- CUDA graphs (backends that offer frame_graphs: torch on CUDA) ------------------------------
    def _setup_graph(self, warm: Any, feeds: Any) -> Any:
        """One graph per plan (cold, warm) over static input buffers shared by both."""
        from vps.runtime.backends.cuda_graph import Prepared

        if self._static is None:
            be, (h, w), nb = self.calls.backend, self.program.mask_size, self.layout.num_bits
            shapes = {"image": (1, 3, *self.program.input_size), "cond": (1, NUM_COND_FRAMES * nb, h, w),
                      "noise": (1, nb, h, w), "x_init": (1, nb, h, w)}
            self._static = {k: be.asarray(np.zeros(s, np.float32)) for k, s in shapes.items()}
        static = self._static
        return Prepared(inputs=static, body=lambda _stream: self._frame(static, bool(warm)))

    def _replay(self, feeds: dict[str, np.ndarray], warm: bool) -> Any:
        """The frame from its CUDA graph (lap ``device``), or None after a failed first capture (warned)."""
        assert self._graphs is not None
        try:
            ids = self._graphs.run(warm, feeds)
        except RuntimeError as e:
            if len(self._graphs):  # capture worked before: a real failure
                raise
            warnings.warn(f"CUDA-graph capture failed ({str(e).splitlines()[0] if str(e) else e!r}); "
                          f"running frames eagerly from now on", RuntimeWarning, stacklevel=4)
            self._graphs = None
            return None
        self.calls.timer.lap("device")
        return ids

    def observe(self, ids: np.ndarray, carry: DiffusionCarry) -> None:
        carry.push(panoptic_to_bits(ids, self.layout))  # [nb, h, w]: t-1 <- this frame
