"""Export contract of Video K-Net's one graph per frame, ``knet_frame`` (the module's ``forward``).

``image [B, 3, H, W], prev_kernels [B, K, E], has_prev [B]`` ->
``scores [B, K, C], masks [B, K, H/s, W/s], embeds [B, N, D], kernels [B, K, E]`` with ``N`` thing kernels,
``K = N + S`` kernels, ``E`` kernel channels, ``D`` embedding channels, ``C`` classes and ``s`` the mask
stride (:mod:`vps.runtime.video_knet` runs it). Dynamic axes: the batch and the input size (multiples of
:attr:`KNetGeometry.multiple`: the stride-16 backbone and the mask stride).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from vps.export.contracts import BATCH, GraphContract, Shape, SizeRules, Sym
from vps.runtime.backends.base import (
    EMBEDS,
    HAS_PREV,
    IMAGE,
    KERNELS,
    KNET_FRAME,
    MASKS,
    PREV_KERNELS,
    SCORES,
)


@dataclass(frozen=True)
class KNetGeometry(SizeRules):
    """The sizes a Video K-Net network implies (enough to describe its graph without torch)."""

    image_size: tuple[int, int]
    mask_stride: int
    num_things: int  # N
    num_kernels: int  # K
    kernel_dim: int  # E
    embed_dim: int  # D
    num_classes: int  # C

    @classmethod
    def from_model(cls, model: Any) -> KNetGeometry:
        """Geometry of a :class:`vps.model.knet.VideoKNet`."""
        sizes = (model.num_things, model.num_kernels, model.kernel_dim, model.embed_dim, model.num_classes)
        return cls(tuple(model.image_size), int(model.mask_stride), *(int(v) for v in sizes))

    @property
    def multiple(self) -> int:
        """Input sides must be multiples of this (stride-16 backbone, masks at the mask stride)."""
        return math.lcm(16, self.mask_stride)


class KNetFrameContract(GraphContract):
    name = KNET_FRAME

    def inputs(self) -> tuple[tuple[str, Shape], ...]:
        g = self.geometry
        return ((IMAGE, (BATCH, 3, Sym("height"), Sym("width"))),
                (PREV_KERNELS, (BATCH, g.num_kernels, g.kernel_dim)), (HAS_PREV, (BATCH,)))

    def outputs(self) -> tuple[tuple[str, Shape], ...]:
        g, s = self.geometry, self.geometry.mask_stride
        return ((SCORES, (BATCH, g.num_kernels, g.num_classes)),
                (MASKS, (BATCH, g.num_kernels, Sym("height", s), Sym("width", s))),
                (EMBEDS, (BATCH, g.num_things, g.embed_dim)), (KERNELS, (BATCH, g.num_kernels, g.kernel_dim)))

    def wrapper(self, model: Any) -> Any:
        from torch import nn

        class Frame(nn.Module):  # positional (image, *rest), as every contract's dynamic shapes expect
            def __init__(self) -> None:
                super().__init__()
                self.model = model

            def forward(self, image: Any, *rest: Any) -> Any:
                return tuple(self.model(image, *rest))

        return Frame().eval()


def knet_contracts(geometry: KNetGeometry) -> tuple[GraphContract, ...]:
    """The family's one contract."""
    return (KNetFrameContract(geometry),)
