"""Analog-bit layout of a panoptic mask (Pix2Seq-D), torch-free so the runtime can use it.

A panoptic id ``class * divisor + instance`` becomes ``num_bits = class_bits + instance_bits`` channels:
channels ``[0, class_bits)`` hold the class byte, least-significant bit first, channels
``[class_bits, num_bits)`` the instance byte, least-significant bit first. A 1 bit is ``+scale``, a 0 bit is
``-scale``. The denoiser predicts ``2**class_bits + 2**instance_bits`` logits per pixel: first the class
group, then the instance group.

Instance ids must fit in ``instance_bits`` (0..255 by default): the model sees a sliding window of ids,
and the runtime maps them to 32-bit track ids.
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class BitLayout:
    """How panoptic ids are written as analog bits and read back."""

    class_bits: int = 8
    instance_bits: int = 8
    scale: float = 0.1
    label_divisor: int = 1000

    def __post_init__(self) -> None:
        if not (1 <= self.class_bits <= 8 and 1 <= self.instance_bits <= 8):
            raise ValueError("class_bits and instance_bits must lie in 1..8")
        if self.scale <= 0:
            raise ValueError(f"bit scale must be positive, got {self.scale}")
        if 2**self.instance_bits > self.label_divisor:
            raise ValueError("label_divisor must exceed the largest instance id")

    @property
    def num_bits(self) -> int:
        return self.class_bits + self.instance_bits

    @property
    def num_logits(self) -> int:
        return 2**self.class_bits + 2**self.instance_bits

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BitLayout:
        return cls(**{k: d[k] for k in ("class_bits", "instance_bits", "scale", "label_divisor") if k in d})


DEFAULT_LAYOUT = BitLayout()


def int_to_bits(values: np.ndarray, nbits: int) -> np.ndarray:
    """``int [...]`` in 0..2**nbits-1 to ``uint8 [..., nbits]`` bits, least-significant first."""
    shifts = np.arange(nbits, dtype=np.int64)
    return ((values.astype(np.int64)[..., None] >> shifts) & 1).astype(np.uint8)


def panoptic_to_bits(panoptic: np.ndarray, layout: BitLayout = DEFAULT_LAYOUT) -> np.ndarray:
    """``int [..., H, W]`` panoptic ids to ``float32 [..., num_bits, H, W]`` bits in {-scale, +scale}."""
    native = sys.modules.get("vps.runtime.native")  # vps_core's twin once the runtime is imported
    if native is not None and (out := native.panoptic_to_bits(panoptic, layout)) is not None:
        return out
    panoptic = np.asarray(panoptic).astype(np.int64)
    sem, inst = panoptic // layout.label_divisor, panoptic % layout.label_divisor
    if sem.min(initial=0) < 0 or sem.max(initial=0) >= 2**layout.class_bits:
        raise ValueError(f"class ids must lie in 0..{2**layout.class_bits - 1}")
    if inst.max(initial=0) >= 2**layout.instance_bits:
        raise ValueError(f"instance ids must lie in 0..{2**layout.instance_bits - 1}; got {inst.max()}")
    bits = np.concatenate([int_to_bits(sem, layout.class_bits), int_to_bits(inst, layout.instance_bits)], -1)
    analog = (bits.astype(np.float32) * 2.0 - 1.0) * np.float32(layout.scale)
    return np.moveaxis(analog, -1, -3)  # [..., H, W, nb] -> [..., nb, H, W]


def bits_to_panoptic(bits: np.ndarray, layout: BitLayout = DEFAULT_LAYOUT) -> np.ndarray:
    """``float [..., num_bits, H, W]`` analog bits to ``int32 [..., H, W]`` panoptic ids (threshold at 0)."""
    bits = np.asarray(bits)
    if bits.shape[-3] != layout.num_bits:
        raise ValueError(f"expected {layout.num_bits} bit channels at dim -3, got shape {bits.shape}")
    on = (bits > 0).astype(np.int64)
    weights = 1 << np.arange(8, dtype=np.int64)
    cb, ib = layout.class_bits, layout.instance_bits
    sem = np.tensordot(weights[:cb], np.moveaxis(on[..., :cb, :, :], -3, 0), axes=1)
    inst = np.tensordot(weights[:ib], np.moveaxis(on[..., cb:, :, :], -3, 0), axes=1)
    return (sem * layout.label_divisor + inst).astype(np.int32)
