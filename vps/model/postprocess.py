"""Deterministic clean-up of a decoded panoptic mask (after sampling, before the next frame conditions on it).

For each image of ``pan [B, h, w]`` (``class * divisor + instance``):

1. instance ids on stuff classes are cleared (stuff has no instances);
2. each remaining instance takes the majority class of its pixels (votes among thing classes; one
   ``vps.kernels.pair_histogram`` call for the whole batch), so one object never mixes e.g. car and truck;
3. instances smaller than ``min_area`` pixels lose their instance id but keep their (voted) class: they
   become "thing without identity" pixels, which STQ / PQ treat as crowd-like rather than as a false
   object, and the semantic prediction there is kept instead of being replaced by a guess;
4. with ``min_part_area > 0``, detached parts of an instance become instances of their own
   (:func:`vps.components.split_instance_parts`, the one implementation the runtime uses too; it runs on
   the host, so this step costs a device -> host -> device copy of the ``[h, w]`` map per image).

Steps 1-3 are pure tensor code (the histogram kernel aside): no per-pixel Python loops.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from vps.components import NUM_IDS, split_instance_parts
from vps.model.bits import split_panoptic


def _pair_histogram(a: Tensor, b: Tensor, num_a: int, num_b: int) -> Tensor:
    """``vps.kernels.pair_histogram`` on tensors: int64 counts ``[num_a, num_b]`` on ``a``'s device.

    Ids are in range by construction (clamped), so the kernel's validation (a device sync) is skipped.
    """
    from vps.kernels import pair_histogram

    counts = pair_histogram(a, b, num_a, num_b, validate=False)
    return counts if isinstance(counts, Tensor) else torch.as_tensor(np.asarray(counts), device=a.device)


def postprocess_panoptic(pan: Tensor, thing_ids: Sequence[int], min_area: int = 0,
                         label_divisor: int = 1000, min_part_area: int = 0) -> Tensor:
    """Clean ``int [B, h, w]`` (or ``[h, w]``) panoptic ids; returns ``int32`` of the same shape."""
    squeeze = pan.dim() == 2
    pan = pan.unsqueeze(0) if squeeze else pan
    if pan.dim() != 3:
        raise ValueError(f"panoptic map must be [B, h, w] or [h, w], got shape {tuple(pan.shape)}")
    B = pan.shape[0]
    cls, inst = split_panoptic(pan, label_divisor)  # int64 [B, h, w]
    is_thing = torch.zeros(NUM_IDS, dtype=torch.bool, device=pan.device)
    if len(thing_ids):
        is_thing[torch.as_tensor(list(thing_ids), device=pan.device)] = True
    cls_c = cls.clamp(0, NUM_IDS - 1)
    inst = torch.where(is_thing[cls_c], inst.clamp(0, NUM_IDS - 1), torch.zeros_like(inst))  # step 1
    key = inst + torch.arange(B, device=pan.device).view(B, 1, 1) * NUM_IDS  # per-image instance slot
    hist = _pair_histogram(key.flatten(), cls_c.flatten(), B * NUM_IDS, NUM_IDS)  # [B*256, 256]
    vote = hist.argmax(1)  # [B*256] majority class (ties: smallest id)
    area = hist.sum(1)  # [B*256]
    has_inst = inst > 0
    cls = torch.where(has_inst, vote[key], cls)  # step 2
    small = area[key] < min_area
    inst = torch.where(has_inst & small, torch.zeros_like(inst), inst)  # step 3
    out = (cls * label_divisor + inst).to(torch.int32)
    if min_part_area > 0:  # step 4
        out = _split_parts(out, min_part_area, label_divisor)
    return out[0] if squeeze else out


def _split_parts(pan: Tensor, min_part_area: int, label_divisor: int) -> Tensor:
    """Step 4 for ``int32 [B, h, w]``, image by image on the host; same device and dtype back."""
    host = pan.cpu().numpy()
    split = np.stack([split_instance_parts(m, min_part_area, label_divisor) for m in host])
    return torch.from_numpy(split).to(pan.device)
