"""Deterministic clean-up of a decoded panoptic mask, after sampling and before the next frame conditions
on it. One implementation for NumPy arrays (the runtime, on the host) and torch tensors (training, on the
accelerator), over :mod:`vps.arrays`.

For each image of ``pan [B, h, w]`` or ``[h, w]`` (``class * divisor + instance``):

1. instance ids on stuff classes are cleared (stuff has no instances);
2. each remaining instance takes the majority class of its pixels (votes among thing classes; one
   :func:`vps.kernels.pair_histogram` call for the whole batch, ties to the smallest class id), so one
   object never mixes e.g. car and truck;
3. instances smaller than ``min_area`` pixels lose their instance id but keep their (voted) class: they
   become "thing without identity" pixels, which STQ / PQ treat as crowd-like rather than as a false
   object, and the semantic prediction there is kept instead of being replaced by a guess;
4. with ``min_part_area > 0``, detached parts of an instance become instances of their own
   (:func:`vps.components.split_instance_parts`; it runs on the host, so for a device tensor this step
   costs a device -> host -> device copy of the ``[h, w]`` map per image).

Steps 1-3 are whole-array code (the histogram kernel aside): no per-pixel Python loops. On the host, the
native core (``cmake/``, :mod:`vps.runtime.native`) runs the same rule when it is built and switched on.
Torch-free.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from vps.arrays import as_int32, is_torch, like, namespace, to_host
from vps.bits import split_panoptic
from vps.components import NUM_IDS, split_instance_parts


def postprocess_panoptic(pan: Any, thing_ids: Sequence[int], min_area: int = 0, label_divisor: int = 1000,
                         min_part_area: int = 0) -> Any:
    """Clean ``int [B, h, w]`` (or ``[h, w]``) panoptic ids; ``int32`` of the same shape and kind."""
    from vps.kernels import pair_histogram

    squeeze = pan.ndim == 2
    pan = pan[None] if squeeze else pan
    if pan.ndim != 3:
        raise ValueError(f"panoptic map must be [B, h, w] or [h, w], got shape {tuple(pan.shape)}")
    native = _native(pan, thing_ids, min_area, label_divisor, min_part_area)
    if native is not None:
        return native[0] if squeeze else native
    xp, B = namespace(pan), int(pan.shape[0])
    cls, inst = split_panoptic(pan, label_divisor)  # int64 [B, h, w]
    is_thing = np.zeros(NUM_IDS, bool)
    is_thing[list(thing_ids)] = True
    cls_c = xp.clip(cls, 0, NUM_IDS - 1)
    inst = xp.where(like(pan, is_thing)[cls_c], xp.clip(inst, 0, NUM_IDS - 1), 0)  # step 1
    key = inst + like(pan, np.arange(B, dtype=np.int64).reshape(B, 1, 1) * NUM_IDS)  # per-image slot
    hist = like(pan, pair_histogram(key.reshape(-1), cls_c.reshape(-1), B * NUM_IDS, NUM_IDS,
                                    validate=False))  # int64 [B*256, 256]
    vote, area = hist.argmax(1), hist.sum(1)  # [B*256]: majority class (ties: smallest id), pixels
    has_inst = inst > 0
    cls = xp.where(has_inst, vote[key], cls)  # step 2
    inst = xp.where(has_inst & (area[key] < min_area), 0, inst)  # step 3
    out = as_int32(cls * label_divisor + inst)
    if min_part_area > 0:  # step 4, on the host
        host = to_host(out)
        out = like(out, np.stack([split_instance_parts(m, min_part_area, label_divisor) for m in host]))
    return out[0] if squeeze else out


def _native(pan: Any, thing_ids: Sequence[int], min_area: int, label_divisor: int,
            min_part_area: int) -> np.ndarray | None:
    """The native core's twin (``vps_core``, bit-exact) for host ``[B, h, w]`` maps once the runtime has
    loaded its switch (:mod:`vps.runtime.native`); ``None``: run the array code."""
    native = None if is_torch(pan) else sys.modules.get("vps.runtime.native")
    if native is None:
        return None
    maps = [native.postprocess_panoptic(m, thing_ids, min_area, label_divisor, min_part_area) for m in pan]
    return None if any(m is None for m in maps) else np.stack(maps)
