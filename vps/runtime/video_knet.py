"""Video K-Net's frame program (family ``video_knet``): one graph per frame, fusion and association on host.

Per frame, with ``K`` kernels (``N`` things, then one per stuff class) of ``E`` channels (sizes and thresholds
from the program's :class:`~vps.program.KernelPlan`):

1. ``scores, masks, embeds, kernels = knet_frame(image, prev_kernels, has_prev)`` through the engine's
   graph calls (stage ``knet_frame``; hooks see it). ``prev_kernels [1, K, E]`` are the previous frame's
   kernels as the backend returned them (they stay on its device), ``has_prev [1]`` is 1 from the second
   frame of a sequence on; on the first frame it is 0 with zero kernels, which the graph ignores;
2. the four outputs come to the host and K-Net's panoptic fusion (:mod:`vps.runtime.knet_fusion`: score,
   mask and overlap thresholds; stuff by the highest stuff mask) lays out the frame (stage ``fusion``);
3. association (:mod:`vps.runtime.knet_tracks`: bi-softmax of the kept things' embeddings against a memory
   of recent tracks, same class, momentum update) gives each kept thing an 8-bit id kept across frames
   (stage ``association``);
4. the ids ``int32 [1, h, w]`` (``class * label_divisor + id``, ids ``1..255``) go back to the engine, whose
   post-processing and track table (never-reused 32-bit ids) are those of every family.

The carry (:class:`KernelCarry`) is the previous kernels and the track memory; a new sequence starts a new
one (ids restart). The temporal link is part of the model, so the engine's ``warm_start`` option does not
apply: :meth:`VideoKNetFrame.warm` says whether a frame was conditioned on the previous one. The cleaned ids
the engine hands back (:meth:`~VideoKNetFrame.observe`) are not needed: the model conditions on kernels.
Torch-free.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vps.program import KernelPlan
from vps.runtime.backends.base import KNET_FRAME
from vps.runtime.family import FrameModel
from vps.runtime.knet_fusion import Fusion, fuse
from vps.runtime.knet_tracks import TrackMemory, associate


@dataclass
class KernelCarry:
    """What Video K-Net carries between frames: the previous frame's kernels (a backend array
    ``[1, K, E]``; ``None`` before the first frame) and the association's track memory."""

    kernels: Any = None
    memory: TrackMemory = field(default_factory=TrackMemory)

    @property
    def has_prev(self) -> bool:
        return self.kernels is not None


class VideoKNetFrame(FrameModel):
    """The kernel family (see the module docstring)."""

    family = "video_knet"
    graphs = (KNET_FRAME,)

    def __init__(self, program: Any, calls: Any, seed: int = 0, warm_start: bool = True) -> None:
        super().__init__(program, calls, seed, warm_start)
        if program.kernels is None:
            raise ValueError("a video_knet program needs its kernel plan (program.kernels)")
        self.plan: KernelPlan = program.kernels
        self.thing_classes = tuple(program.meta.thing_ids)
        self.label_divisor = int(program.layout.label_divisor)
        be = calls.backend  # first-frame kernels and the has_prev flags uploaded once
        self._no_kernels = be.asarray(np.zeros((1, self.plan.num_kernels, self.plan.kernel_dim), np.float32))
        self._has_prev = {flag: be.asarray(np.full((1,), float(flag), np.float32)) for flag in (False, True)}

    def new_carry(self) -> KernelCarry:
        return KernelCarry()

    def warm(self, carry: KernelCarry) -> bool:
        return carry.has_prev

    def infer(self, x: np.ndarray, carry: KernelCarry) -> np.ndarray:
        calls, be = self.calls, self.calls.backend
        prev = carry.kernels if carry.has_prev else self._no_kernels
        has_prev = self._has_prev[carry.has_prev]
        scores, masks, embeds, kernels = calls(KNET_FRAME, be.asarray(x), prev, has_prev)
        carry.kernels = kernels  # [1, K, E] stays on the backend's device for the next frame
        fusion = self.fuse(be.to_numpy(scores), be.to_numpy(masks))
        calls.timer.lap("fusion")
        embeds = be.to_numpy(embeds)[0]  # [N, D]
        ids = associate(carry.memory, embeds[fusion.kept], fusion.classes, self.plan)  # [n]
        calls.timer.lap("association")
        return fusion.panoptic(ids, self.label_divisor)[None]  # int32 [1, h, w]

    def fuse(self, scores: np.ndarray, masks: np.ndarray) -> Fusion:
        """The panoptic fusion of one frame's host outputs ``scores [1, K, C]``, ``masks [1, K, h, w]``."""
        h, w = self.program.mask_size
        if masks.shape[-2:] != (h, w):
            raise ValueError(f"knet_frame returned masks of size {masks.shape[-2:]}, the program's mask size "
                             f"is {(h, w)}")
        return fuse(scores[0], masks[0], self.plan, self.thing_classes)

    def observe(self, ids: np.ndarray, carry: KernelCarry) -> None:
        """Nothing to keep: the next frame conditions on the kernels (kept by :meth:`infer`)."""
