"""Analog bits from the denoiser's logits: softmax expectation of every bit, in one pass over the logits.

Kernel design. Grid ``(pixel blocks, 2 groups, B)``; a program owns ``BLOCK_P`` consecutive pixels of one
group and walks that group's 256 channels in tiles of 16 (``[16, BLOCK_P]`` loads, contiguous along w, so
loads coalesce; every thread holds all 16 channels of its pixels, so the reductions over the tile stay in
registers). It keeps an online softmax per pixel (running max ``m`` and sum ``s``) plus the 8 partial sums
``e_k`` of ``exp(x_c - m)`` over channels ``c`` with bit ``k`` set, rescaled by ``exp(m_old - m_new)``
whenever the max grows: one exponential per logit and no softmax in memory. Inside a 16-channel tile,
bits 0..3 vary with the channel (masked sums) and bits 4..7 are constant (the tile sum times a 0/1 flag).
Accumulation is fp32 whatever the input dtype (fp32 / fp16 / bf16). Output ``(2 * e_k / s - 1) * scale``.

Traffic: reads ``B * 512 * h * w`` logits once, writes ``B * 16 * h * w`` fp32.
Tolerance against :func:`~vps.kernels.reference.expected_bits_reference` (fp32 softmax): absolute
``2e-5 * scale`` (``2e-6`` at the default scale 0.1, where the interpreter measures <= 4e-7), checked by
the tests and by the GPU benchmark.
"""

from __future__ import annotations

import math
from typing import Any

from vps.kernels._dispatch import (
    MAX_GRID_YZ,
    check_logits,
    check_out,
    device_guard,
    interpreting,
    into,
    lazy_jit,
    next_pow2,
    tl,
    use_triton,
)
from vps.kernels.reference import expected_bits_reference

TOLERANCE = 2e-5  # absolute, times ``scale``: |kernel - reference| <= TOLERANCE * scale


@lazy_jit
def _expected_bits_kernel(x_ptr, out_ptr, HW, scale, BLOCK_P: tl.constexpr):
    pid_p = tl.program_id(0)
    group = tl.program_id(1)
    batch = tl.program_id(2).to(tl.int64)
    pix = pid_p * BLOCK_P + tl.arange(0, BLOCK_P)  # [P]
    pmask = pix < HW
    ch = tl.arange(0, 16)  # [16] channel inside a tile
    ptrs = x_ptr + batch * (512 * HW) + group * (256 * HW) + ch[:, None] * HW + pix[None, :]  # [16, P]
    bit0 = (ch & 1).to(tl.float32)[:, None]  # [16, 1]
    bit1 = ((ch >> 1) & 1).to(tl.float32)[:, None]
    bit2 = ((ch >> 2) & 1).to(tl.float32)[:, None]
    bit3 = ((ch >> 3) & 1).to(tl.float32)[:, None]
    m = tl.full([BLOCK_P], float("-inf"), tl.float32)  # running max
    s = tl.full([BLOCK_P], 0, tl.float32)  # running sum of exp(x - m)
    e0 = tl.full([BLOCK_P], 0, tl.float32)
    e1 = tl.full([BLOCK_P], 0, tl.float32)
    e2 = tl.full([BLOCK_P], 0, tl.float32)
    e3 = tl.full([BLOCK_P], 0, tl.float32)
    e4 = tl.full([BLOCK_P], 0, tl.float32)
    e5 = tl.full([BLOCK_P], 0, tl.float32)
    e6 = tl.full([BLOCK_P], 0, tl.float32)
    e7 = tl.full([BLOCK_P], 0, tl.float32)
    for c0 in range(0, 256, 16):
        x = tl.load(ptrs + c0 * HW, mask=pmask[None, :], other=0.0).to(tl.float32)  # [16, P]
        m_new = tl.maximum(m, tl.reduce(x, 0, tl.standard._elementwise_max))
        m_ref = tl.where(m_new == float("-inf"), 0.0, m_new)  # all -inf so far: keep exp() finite
        alpha = tl.exp(m - m_ref)  # [P] rescales the old sums (0 on the first tile)
        p = tl.exp(x - m_ref[None, :])  # [16, P]
        ps = tl.reduce(p, 0, tl.standard._sum_combine)
        s = s * alpha + ps
        e0 = e0 * alpha + tl.reduce(p * bit0, 0, tl.standard._sum_combine)
        e1 = e1 * alpha + tl.reduce(p * bit1, 0, tl.standard._sum_combine)
        e2 = e2 * alpha + tl.reduce(p * bit2, 0, tl.standard._sum_combine)
        e3 = e3 * alpha + tl.reduce(p * bit3, 0, tl.standard._sum_combine)
        e4 = e4 * alpha + ps * ((c0 >> 4) & 1)  # bits 4..7 are the same for the whole tile
        e5 = e5 * alpha + ps * ((c0 >> 5) & 1)
        e6 = e6 * alpha + ps * ((c0 >> 6) & 1)
        e7 = e7 * alpha + ps * ((c0 >> 7) & 1)
        m = m_new
    k = (2.0 * scale) / s  # (2 * e / s - 1) * scale == e * k - scale
    o = out_ptr + batch * (16 * HW) + group * (8 * HW) + pix  # [P] channel 8 * group
    tl.store(o, e0 * k - scale, mask=pmask)
    tl.store(o + HW, e1 * k - scale, mask=pmask)
    tl.store(o + 2 * HW, e2 * k - scale, mask=pmask)
    tl.store(o + 3 * HW, e3 * k - scale, mask=pmask)
    tl.store(o + 4 * HW, e4 * k - scale, mask=pmask)
    tl.store(o + 5 * HW, e5 * k - scale, mask=pmask)
    tl.store(o + 6 * HW, e6 * k - scale, mask=pmask)
    tl.store(o + 7 * HW, e7 * k - scale, mask=pmask)


def expected_bits(logits: Any, scale: float = 0.1, *, out: Any = None) -> Any:
    """fp32 ``[B, 16, h, w]`` analog bits from ``[B, 512, h, w]`` logits (fp32 / fp16 / bf16).

    Per group (class = channels 0..255, instance = 256..511): softmax over the 256 logits, expectation
    ``E`` of each of the 8 bits of the value (LSB first), mapped to ``(2 * E - 1) * scale``; channel order
    as :mod:`vps.bits`. Runs the Triton kernel on CUDA tensors (and on CPU tensors under
    ``TRITON_INTERPRET=1``), the reference otherwise; NumPy in, NumPy out. ``out``: optional fp32
    buffer of the output shape on the input's device. Bad arguments raise ``ValueError``.
    """
    check_logits(logits, "logits", (512,))
    if isinstance(scale, bool) or not isinstance(scale, int | float) or not 0 < scale < math.inf:
        raise ValueError(f"scale must be a positive finite number, got {scale!r}")
    B, _, h, w = logits.shape
    if out is not None:
        check_out(out, logits, (B, 16, h, w), "float32")
    if not use_triton(logits):
        return into(out, expected_bits_reference(logits, float(scale)))
    return _launch(logits, float(scale), out)


def _launch(logits: Any, scale: float, out: Any = None, block_p: int | None = None,
            num_warps: int | None = None) -> Any:
    """Run the kernel on a torch tensor (arguments already valid); block size overridable for tuning."""
    import torch

    x = logits.contiguous()  # [B, 512, h, w]
    B, _, h, w = x.shape
    if B > MAX_GRID_YZ:
        raise ValueError(f"expected_bits: batch {B} exceeds {MAX_GRID_YZ} per GPU call")
    if out is None:
        out = torch.empty((B, 16, h, w), dtype=torch.float32, device=x.device)
    HW = h * w
    if B == 0 or HW == 0:
        return out
    # GPU: each thread holds 16 channels x one 16-byte vector of pixels (4 fp32 / 8 fp16-bf16; <= 255
    # registers, no spills for sm_90a). Interpreter: one wide block (fewer, larger NumPy operations).
    if block_p is None:
        block_p = min(next_pow2(HW), 2048) if interpreting() else 256
    num_warps = num_warps or (1 if x.element_size() == 2 else 2)
    grid = ((HW + block_p - 1) // block_p, 2, B)
    with device_guard(x):
        _expected_bits_kernel[grid](x, out, HW, scale, BLOCK_P=block_p, num_warps=num_warps)
    return out
