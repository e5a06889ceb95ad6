"""Analog bits in torch: the same layout as the numpy :mod:`vps.bits` (see its docstring).

``panoptic_to_bits`` turns ``int [..., h, w]`` panoptic ids (``class * divisor + instance``) into
``float [..., num_bits, h, w]`` analog bits in ``{-scale, +scale}`` (class byte then instance byte, least
significant bit first); ``bits_to_panoptic`` thresholds at zero and reassembles the ids. Both are pure tensor
functions (no host syncs) so they run on the accelerator inside the sampling loop.
"""

from __future__ import annotations

import torch
from torch import Tensor

from vps.bits import DEFAULT_LAYOUT, BitLayout

__all__ = ["BitLayout", "DEFAULT_LAYOUT", "panoptic_to_bits", "bits_to_panoptic", "split_panoptic"]


def split_panoptic(panoptic: Tensor, label_divisor: int = 1000) -> tuple[Tensor, Tensor]:
    """``int [...]`` panoptic ids to (class ids, instance ids), both int64 ``[...]``."""
    pan = panoptic.long()
    return torch.div(pan, label_divisor, rounding_mode="floor"), torch.remainder(pan, label_divisor)


def _int_to_bits(values: Tensor, nbits: int) -> Tensor:
    """``int64 [..., h, w]`` -> ``{0, 1}`` float ``[..., nbits, h, w]``, least-significant bit first."""
    shifts = torch.arange(nbits, device=values.device, dtype=torch.int64).view(nbits, 1, 1)
    return torch.bitwise_and(torch.bitwise_right_shift(values.unsqueeze(-3), shifts), 1)


def panoptic_to_bits(panoptic: Tensor, layout: BitLayout = DEFAULT_LAYOUT,
                     dtype: torch.dtype = torch.float32) -> Tensor:
    """``int [..., h, w]`` panoptic ids to analog bits ``[..., num_bits, h, w]`` in ``{-scale, +scale}``.

    Ids outside the layout are not checked here (no host sync); callers validate inputs once upstream.
    """
    if panoptic.dim() < 2:
        raise ValueError(f"panoptic must have at least 2 dims [..., h, w], got shape {tuple(panoptic.shape)}")
    sem, inst = split_panoptic(panoptic, layout.label_divisor)
    bits = torch.cat([_int_to_bits(sem, layout.class_bits), _int_to_bits(inst, layout.instance_bits)], dim=-3)
    return (bits.to(dtype) * 2.0 - 1.0) * layout.scale


def bits_to_panoptic(bits: Tensor, layout: BitLayout = DEFAULT_LAYOUT) -> Tensor:
    """Analog bits ``[..., num_bits, h, w]`` to ``int32 [..., h, w]`` panoptic ids (threshold at 0)."""
    if bits.dim() < 3 or bits.shape[-3] != layout.num_bits:
        raise ValueError(f"expected {layout.num_bits} bit channels at dim -3, got shape {tuple(bits.shape)}")
    on = (bits > 0).long()
    cb, ib = layout.class_bits, layout.instance_bits
    w_c = (1 << torch.arange(cb, device=bits.device, dtype=torch.int64)).view(cb, 1, 1)
    w_i = (1 << torch.arange(ib, device=bits.device, dtype=torch.int64)).view(ib, 1, 1)
    sem = (on[..., :cb, :, :] * w_c).sum(-3)
    inst = (on[..., cb:, :, :] * w_i).sum(-3)
    return (sem * layout.label_divisor + inst).to(torch.int32)
