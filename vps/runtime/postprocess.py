"""NumPy twin of the training code's post-processing (:func:`vps.model.postprocess.postprocess_panoptic`).

The runtime cleans every decoded frame with exactly the rules the model was evaluated with, before the
frame's bits condition the next one: instance ids on stuff are cleared, each instance takes the majority
thing class of its pixels, instances under ``min_area`` pixels lose their id (keeping the class), and with
``min_part_area > 0`` detached parts of an instance become instances of their own
(:func:`vps.components.split_instance_parts`, shared with the training code). Torch-free.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vps.components import NUM_IDS, split_instance_parts
from vps.kernels import pair_histogram
from vps.runtime import native


def postprocess_panoptic(pan: np.ndarray, thing_ids: Sequence[int], min_area: int = 0,
                         label_divisor: int = 1000, min_part_area: int = 0) -> np.ndarray:
    """Clean one ``int [h, w]`` panoptic map (``class * label_divisor + instance``); ``int32 [h, w]``."""
    out = native.postprocess_panoptic(pan, thing_ids, min_area, label_divisor, min_part_area)
    if out is not None:  # vps_core, when built (bit-exact twin)
        return out
    pan = np.asarray(pan).astype(np.int64)
    if pan.ndim != 2:
        raise ValueError(f"panoptic map must be [h, w], got shape {pan.shape}")
    cls, inst = pan // label_divisor, pan % label_divisor
    is_thing = np.zeros(NUM_IDS, bool)
    is_thing[list(thing_ids)] = True
    cls_c = np.clip(cls, 0, NUM_IDS - 1)
    inst = np.where(is_thing[cls_c], np.clip(inst, 0, NUM_IDS - 1), 0)
    hist = pair_histogram(inst.ravel(), cls_c.ravel(), NUM_IDS, NUM_IDS, validate=False)  # [256, 256]
    vote, area = hist.argmax(1), hist.sum(1)
    has_inst = inst > 0
    cls = np.where(has_inst, vote[inst], cls)
    inst = np.where(has_inst & (area[inst] < min_area), 0, inst)
    out = (cls * label_divisor + inst).astype(np.int32)
    return split_instance_parts(out, min_part_area, label_divisor) if min_part_area > 0 else out
