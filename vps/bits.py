"""Analog-bit layout of a panoptic mask (Pix2Seq-D), torch-free so the runtime can use it.

A panoptic id ``class * divisor + instance`` becomes ``num_bits = class_bits + instance_bits`` channels:
channels ``[0, class_bits)`` hold the class byte, least-significant bit first, channels
``[class_bits, num_bits)`` the instance byte, least-significant bit first. A 1 bit is ``+scale``, a 0 bit is
``-scale``. The denoiser predicts ``2**class_bits + 2**instance_bits`` logits per pixel: first the class
group, then the instance group.

Every function takes NumPy arrays or torch tensors (one implementation over :mod:`vps.arrays`): the training
code runs them on the accelerator, the runtime on the host.

Instance ids must fit in ``instance_bits`` (0..255 by default): the model sees a sliding window of ids,
and the runtime maps them to 32-bit track ids.
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from vps.arrays import as_float32, as_int32, as_int64, is_torch, like, namespace, to_host


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
NUM_COND_FRAMES = 2  # Pix2Seq-D conditions on the previous two masks: [t-1 bits, t-2 bits] channels


def split_panoptic(panoptic: Any, label_divisor: int = 1000) -> tuple[Any, Any]:
    """``int [...]`` panoptic ids to (class ids, instance ids), both int64 of the input's kind."""
    pan = as_int64(panoptic)
    return pan // label_divisor, pan % label_divisor


def _int_to_bits(values: Any, nbits: int) -> Any:
    """``int64 [..., h, w]`` -> ``{0, 1}`` int64 ``[..., nbits, h, w]``, least-significant bit first."""
    shifts = like(values, np.arange(nbits, dtype=np.int64).reshape(nbits, 1, 1))
    return (values[..., None, :, :] >> shifts) & 1


def panoptic_to_bits(panoptic: Any, layout: BitLayout = DEFAULT_LAYOUT, validate: bool | None = None) -> Any:
    """``int [..., H, W]`` panoptic ids to ``float32 [..., num_bits, H, W]`` bits in {-scale, +scale}.

    NumPy in, NumPy out; a tensor in, a tensor on its device out (no host sync). ``validate`` (default: for
    NumPy input only, since a device check would synchronise) refuses class or instance ids that do not fit
    the layout.
    """
    if panoptic.ndim < 2:
        raise ValueError(f"panoptic must have at least 2 dims [..., h, w], got shape {tuple(panoptic.shape)}")
    native = None if is_torch(panoptic) else sys.modules.get("vps.runtime.native")  # vps_core's twin, once
    if native is not None and (out := native.panoptic_to_bits(panoptic, layout)) is not None:  # imported
        return out
    sem, inst = split_panoptic(panoptic, layout.label_divisor)
    if (not is_torch(sem)) if validate is None else validate:
        _check_fits(to_host(sem), to_host(inst), layout)
    bits = namespace(sem).concatenate([_int_to_bits(sem, layout.class_bits),
                                       _int_to_bits(inst, layout.instance_bits)], axis=-3)
    return (as_float32(bits) * 2.0 - 1.0) * layout.scale


def _check_fits(sem: np.ndarray, inst: np.ndarray, layout: BitLayout) -> None:
    if sem.min(initial=0) < 0 or sem.max(initial=0) >= 2**layout.class_bits:
        raise ValueError(f"class ids must lie in 0..{2**layout.class_bits - 1}")
    if inst.max(initial=0) >= 2**layout.instance_bits:
        raise ValueError(f"instance ids must lie in 0..{2**layout.instance_bits - 1}; got {inst.max()}")


def bits_to_panoptic(bits: Any, layout: BitLayout = DEFAULT_LAYOUT) -> Any:
    """``float [..., num_bits, H, W]`` analog bits to ``int32 [..., H, W]`` panoptic ids (threshold at 0)."""
    if bits.ndim < 3 or bits.shape[-3] != layout.num_bits:
        raise ValueError(f"expected {layout.num_bits} bit channels at dim -3, got shape {tuple(bits.shape)}")
    on = as_int64(bits > 0)
    cb, ib = layout.class_bits, layout.instance_bits
    weights = like(on, (1 << np.arange(8, dtype=np.int64)).reshape(8, 1, 1))
    sem = (on[..., :cb, :, :] * weights[:cb]).sum(-3)
    inst = (on[..., cb:, :, :] * weights[:ib]).sum(-3)
    return as_int32(sem * layout.label_divisor + inst)
