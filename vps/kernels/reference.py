"""Reference twins of the Triton kernels, written with whole-array NumPy / PyTorch operations.

Each ``*_reference`` function takes a NumPy array (computes with NumPy, returns NumPy) or a torch tensor
(computes with PyTorch on the tensor's device, returns a tensor). They are the ground truth the kernels
are tested against and the baseline the benchmark compares with; they assume valid arguments (the
public functions validate). ``torch`` is imported only when a tensor is passed.

Nearest-neighbour convention (shared by the kernel and its twin, see :func:`nearest_source_index`):
``src = min(floor(float32(dst) * scale), n_in - 1)`` with ``scale = float32(n_in) / float32(n_out)``
computed in float32. This is exactly ``torch.nn.functional.interpolate(mode="nearest")`` (checked on
the CPU over 6,763 size pairs; ATen's CUDA kernel uses the same float32 formula). OpenCV
``INTER_NEAREST`` uses the same formula in float64 (``floor(dst * (1 / (n_out / n_in)))``) and agrees
at the KITTI-STEP sizes (192 <-> 375, 624 <-> 1242, also with the exact integer ``dst * n_in // n_out``),
but not always: for 8 -> 82, dst 41 (source exactly 4.0 in real arithmetic) is source 3 in torch
(float32 rounding) and 4 in OpenCV (see the tests). "Nearest" here therefore means PyTorch's, bit for bit.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vps.arrays import as_int64, is_torch, like, namespace

CLASS_LOGITS = 256  # logits per group: class group = channels 0..255, instance group = 256..511
GROUP_BITS = 8  # analog bits per group (LSB first)


def nearest_scale(n_in: int, n_out: int) -> float:
    """The float32 ``n_in / n_out`` that PyTorch's nearest resize multiplies destination indices by."""
    return float(np.float32(n_in) / np.float32(n_out))


def nearest_source_index(n_in: int, n_out: int) -> np.ndarray:
    """``int64 [n_out]`` source index of every destination index (the convention in the module doc)."""
    dst = np.arange(n_out, dtype=np.float32)
    src = np.floor(dst * np.float32(nearest_scale(n_in, n_out))).astype(np.int64)
    return np.minimum(src, n_in - 1)


def _group_softmax(logits: Any) -> Any:
    """``[B, 512, h, w]`` -> fp32 ``[B, 2, 256, h, w]`` softmax over each group's 256 logits."""
    B, _, h, w = logits.shape
    if is_torch(logits):
        return logits.float().reshape(B, 2, CLASS_LOGITS, h, w).softmax(2)
    x = logits.astype(np.float32).reshape(B, 2, CLASS_LOGITS, h, w)
    e = np.exp(x - x.max(axis=2, keepdims=True))
    return e / e.sum(axis=2, keepdims=True)


def expected_bits_reference(logits: Any, scale: float = 0.1) -> Any:
    """fp32 ``[B, 16, h, w]`` analog bits ``(2 * E[bit_k] - 1) * scale`` from ``[B, 512, h, w]`` logits.

    ``E[bit_k]`` of a group is the softmax mass of the values whose bit ``k`` is set; channels are
    class bits 0..7 then instance bits 0..7 (LSB first), as in :mod:`vps.bits`.
    """
    B, _, h, w = logits.shape
    p = _group_softmax(logits)  # [B, 2, 256, h, w]
    # Values with bit k set: view 256 as [2**(7-k), 2, 2**k] and take index 1 of the middle axis.
    planes = [p.reshape(B, 2, 2 ** (7 - k), 2, 2**k, h, w)[:, :, :, 1].sum(axis=(2, 3)) for k in range(8)]
    xp = namespace(logits)
    e = xp.stack(planes, 2)  # [B, 2, 8, h, w]
    return ((2 * e - 1) * scale).reshape(B, 2 * GROUP_BITS, h, w)


def decode_panoptic_reference(x: Any, out_size: tuple[int, int] | None = None,
                              label_divisor: int = 1000) -> Any:
    """int32 ``[B, H, W]`` panoptic ids from ``[B, 512, h, w]`` logits or ``[B, 16, h, w]`` analog bits.

    Logits: argmax per group (ties and NaN as ``argmax``: first index wins, NaN beats everything).
    Bits: bit set where the value is > 0. Then ``class * label_divisor + instance``, resized to
    ``out_size`` with :func:`nearest_source_index` along each axis.
    """
    B, C, h, w = x.shape
    if C == 2 * CLASS_LOGITS:
        values = x.reshape(B, 2, CLASS_LOGITS, h, w).argmax(2)  # int64 [B, 2, h, w]
    else:
        on = as_int64(x.reshape(B, 2, GROUP_BITS, h, w) > 0)
        weights = like(x, (1 << np.arange(GROUP_BITS, dtype=np.int64)).reshape(1, 1, GROUP_BITS, 1, 1))
        values = (on * weights).sum(2)  # [B, 2, h, w]
    pan = values[:, 0] * label_divisor + values[:, 1]  # int64 [B, h, w]
    if out_size is not None and tuple(out_size) != (h, w):
        rows = like(x, nearest_source_index(h, out_size[0]))
        cols = like(x, nearest_source_index(w, out_size[1]))
        pan = pan[:, rows][:, :, cols]
    return pan.int() if is_torch(pan) else pan.astype(np.int32)


def pair_histogram_reference(a_ids: Any, b_ids: Any, num_a: int, num_b: int, ignore_a: int | None = None,
                             ignore_b: int | None = None) -> Any:
    """int64 ``[num_a, num_b]`` counts of (a, b) id pairs over all pixels of two same-shape id maps.

    Pixels whose a-id equals ``ignore_a`` or b-id equals ``ignore_b`` are not counted; neither are pixels
    with an id outside ``[0, num_a) x [0, num_b)`` (the public function rejects those before counting).
    """
    a, b = as_int64(a_ids).reshape(-1), as_int64(b_ids).reshape(-1)
    valid = (a >= 0) & (a < num_a) & (b >= 0) & (b < num_b)
    if ignore_a is not None:
        valid = valid & (a != ignore_a)
    if ignore_b is not None:
        valid = valid & (b != ignore_b)
    total = num_a * num_b
    keys = namespace(a).where(valid, a * num_b + b, total)  # invalid pixels -> one spare bin
    counts = keys.bincount(minlength=total + 1) if is_torch(keys) else np.bincount(keys, minlength=total + 1)
    return counts[:total].reshape(num_a, num_b)
