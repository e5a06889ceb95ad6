"""Panoptic ids from logits (argmax per group) or analog bits (threshold), resized nearest in the same pass.

Kernel design. Grid ``(column blocks, row blocks, B)`` over the *output*; a program owns ``ROWS`` output
rows x ``BLOCK_W`` output columns (on a GPU one row of 512 columns; under the interpreter the whole image).
Each output column reads its nearest source column ``sx`` (contiguous, vectorised loads when there is no
resize). Rows are de-duplicated when upsampling: only the *first* output row of a run that maps to the
same source row (the "leader", ``src(oy - 1) != src(oy)``) loads and decodes; it then stores its ids to
every row of the run (at most ``MAX_RUN`` rows, computed on the host). Other programs load nothing, so
every logit is read from memory once. Logits: a running ``(best value, index)`` per group over the 256
channels, replaced only on a strictly greater value (ties keep the lowest index) or on the first NaN
(NaN wins, as in ``torch.argmax``); compared in fp32 (exact for fp16 / bf16). Bits: ``value > 0``.
Output ``class * label_divisor + instance`` as int32.

Resize convention: PyTorch's ``interpolate(mode="nearest")``, see :mod:`vps.kernels.reference`.
Traffic: reads ``B * C * h * w`` once (C = 512 or 16), writes ``B * H * W`` int32.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from vps.bits import BitLayout
from vps.kernels._dispatch import (
    INT32_MAX,
    MAX_GRID_YZ,
    check_logits,
    check_out,
    check_size,
    device_guard,
    interpreting,
    into,
    is_torch,
    lazy_jit,
    next_pow2,
    tl,
    use_triton,
)
from vps.kernels.reference import decode_panoptic_reference, nearest_scale, nearest_source_index


@lazy_jit
def _decode_kernel(x_ptr, out_ptr, h, w, H, W, scale_y, scale_x, label_divisor, CH: tl.constexpr,
                   RESIZE: tl.constexpr, MAX_RUN: tl.constexpr, ROWS: tl.constexpr, BLOCK_W: tl.constexpr):
    batch = tl.program_id(2).to(tl.int64)
    oy = tl.program_id(1) * ROWS + tl.arange(0, ROWS)  # [R] output rows
    ox = tl.program_id(0) * BLOCK_W + tl.arange(0, BLOCK_W)  # [BW] output columns
    if RESIZE:  # src = min(floor(float32(dst) * scale), n_in - 1), as torch's nearest
        sy = tl.minimum(tl.floor(oy.to(tl.float32) * scale_y).to(tl.int32), h - 1)
        sy_prev = tl.minimum(tl.floor((oy - 1).to(tl.float32) * scale_y).to(tl.int32), h - 1)
        lead = (oy < H) & ((oy == 0) | (sy_prev != sy))  # first row of its run decodes for the run
        sx = tl.minimum(tl.floor(ox.to(tl.float32) * scale_x).to(tl.int32), w - 1)
    else:
        sy = oy
        lead = oy < H
        sx = ox
    load_mask = lead[:, None] & (ox < W)[None, :]  # [R, BW]
    plane = h * w  # channel stride
    src = x_ptr + batch * (CH * plane) + sy[:, None] * w + sx[None, :]  # [R, BW] -> channel 0
    if CH == 16:  # analog bits: bit k of class / instance is channel k / 8 + k, set where > 0
        cls = tl.full([ROWS, BLOCK_W], 0, tl.int32)
        inst = tl.full([ROWS, BLOCK_W], 0, tl.int32)
        for k in tl.static_range(8):
            cls = cls | ((tl.load(src + k * plane, mask=load_mask, other=0.0) > 0).to(tl.int32) << k)
            inst = inst | ((tl.load(src + (8 + k) * plane, mask=load_mask, other=0.0) > 0).to(tl.int32) << k)
    else:  # logits: running argmax per group, first index wins ties, first NaN wins everything
        best_c = tl.full([ROWS, BLOCK_W], float("-inf"), tl.float32)
        best_i = tl.full([ROWS, BLOCK_W], float("-inf"), tl.float32)
        cls = tl.full([ROWS, BLOCK_W], 0, tl.int32)
        inst = tl.full([ROWS, BLOCK_W], 0, tl.int32)
        for c0 in range(0, 256, 16):
            for j in tl.static_range(16):  # unrolled: 32 independent loads in flight per element
                xc = tl.load(src + (c0 + j) * plane, mask=load_mask, other=0.0).to(tl.float32)
                xi = tl.load(src + (256 + c0 + j) * plane, mask=load_mask, other=0.0).to(tl.float32)
                take_c = (xc > best_c) | ((xc != xc) & (best_c == best_c))
                take_i = (xi > best_i) | ((xi != xi) & (best_i == best_i))
                best_c = tl.where(take_c, xc, best_c)
                best_i = tl.where(take_i, xi, best_i)
                cls = tl.where(take_c, c0 + j, cls)
                inst = tl.where(take_i, c0 + j, inst)
    pan = cls * label_divisor + inst  # [R, BW] int32
    dst = out_ptr + batch * H * W + ox[None, :]
    for r in tl.static_range(MAX_RUN):  # the leader writes its whole run of output rows
        ty = oy + r
        keep = ty < H
        if RESIZE:
            keep = keep & (tl.minimum(tl.floor(ty.to(tl.float32) * scale_y).to(tl.int32), h - 1) == sy)
        tl.store(dst + ty[:, None] * W, pan, mask=load_mask & keep[:, None])


def decode_panoptic(logits_or_bits: Any, out_size: Sequence[int] | None = None, label_divisor: int = 1000,
                    *, out: Any = None) -> Any:
    """int32 ``[B, H, W]`` panoptic ids ``class * label_divisor + instance``.

    ``logits_or_bits``: ``[B, 512, h, w]`` logits (argmax per group of 256; ties -> lowest index, NaN
    wins, like ``torch.argmax``) or ``[B, 16, h, w]`` analog bits (bit set where > 0), fp32/fp16/bf16.
    ``out_size=(H, W)`` resizes nearest in the same pass (PyTorch's convention, see
    :mod:`vps.kernels.reference`); ``None`` keeps ``(h, w)``. Triton on CUDA tensors (and CPU tensors
    under ``TRITON_INTERPRET=1``), the reference otherwise; NumPy in, NumPy out. ``out``: optional int32
    buffer. Bad arguments raise ``ValueError``.
    """
    check_logits(logits_or_bits, "logits_or_bits", (512, 16))
    B, _, h, w = logits_or_bits.shape
    H, W = _check_out_size(out_size, h, w)
    divisor = check_size(label_divisor, "label_divisor")
    if not 256 <= divisor <= (INT32_MAX - 255) // 255:
        raise ValueError(f"label_divisor must lie in 256..{(INT32_MAX - 255) // 255} (8-bit instance "
                         f"ids, int32 output), got {divisor}")
    if out is not None:
        check_out(out, logits_or_bits, (B, H, W), "int32")
    if not use_triton(logits_or_bits):
        return into(out, _host_decode(logits_or_bits, (H, W), (h, w), divisor))
    return _launch(logits_or_bits, (H, W), divisor, out)


def _host_decode(x: Any, out_hw: tuple[int, int], hw: tuple[int, int], divisor: int) -> Any:
    """The reference, or the native core's twin (bit-exact) for host float32 arrays at their own size once
    the runtime has loaded its switch (:mod:`vps.runtime.native`)."""
    native = sys.modules.get("vps.runtime.native")
    if native is not None and out_hw == hw and not is_torch(x):
        ids = native.decode_logits(x, BitLayout(label_divisor=divisor))
        if ids is not None:
            return ids
    return decode_panoptic_reference(x, out_hw, divisor)


def _check_out_size(out_size: Sequence[int] | None, h: int, w: int) -> tuple[int, int]:
    if out_size is None:
        return h, w
    if isinstance(out_size, str | bytes) or not isinstance(out_size, Sequence) or len(out_size) != 2:
        raise ValueError(f"out_size must be None or (H, W), got {out_size!r}")
    H, W = (check_size(v, "out_size", allow_zero=False) for v in out_size)
    if (h, w) != (H, W) and h * w == 0:
        raise ValueError(f"cannot resize an empty {h}x{w} map to {H}x{W}")
    if H * W > INT32_MAX:
        raise ValueError(f"out_size {H}x{W} exceeds 2**31 pixels")
    return H, W


@functools.lru_cache(maxsize=64)
def _max_run(n_in: int, n_out: int) -> int:
    """Longest run of output indices sharing one source index (rows a leader writes)."""
    return int(np.bincount(nearest_source_index(n_in, n_out)).max())


def _launch(x: Any, out_size: tuple[int, int], label_divisor: int, out: Any = None,
            block_w: int | None = None, num_warps: int | None = None, rows: int | None = None) -> Any:
    """Run the kernel on a torch tensor (arguments already valid); block sizes overridable (tests, tuning)."""
    import torch

    x = x.contiguous()  # [B, C, h, w]
    B, C, h, w = x.shape
    H, W = out_size
    if B > MAX_GRID_YZ or H > MAX_GRID_YZ:
        raise ValueError(f"decode_panoptic: batch {B} or height {H} exceeds {MAX_GRID_YZ} per GPU call")
    if out is None:
        out = torch.empty((B, H, W), dtype=torch.int32, device=x.device)
    if out.numel() == 0:
        return out
    resize = (h, w) != (H, W)
    if interpreting():  # default: the whole image in one program (few, large NumPy operations)
        rows, block_w = rows or next_pow2(H), block_w or next_pow2(W)
    else:
        rows, block_w = rows or 1, block_w or 512
    grid = ((W + block_w - 1) // block_w, (H + rows - 1) // rows, B)
    with device_guard(x):
        _decode_kernel[grid](
            x, out, h, w, H, W, nearest_scale(h, H), nearest_scale(w, W), label_divisor,
            CH=C, RESIZE=resize, MAX_RUN=_max_run(h, H) if resize else 1, ROWS=rows, BLOCK_W=block_w,
            num_warps=num_warps or 4,
        )
    return out
