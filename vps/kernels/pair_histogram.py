"""Dense pair histogram of two id maps: how many pixels carry each (a, b) id pair.

Serves the tracker (previous vs current frame ids), the majority-vote post-process (instance vs class)
and the metrics (ground truth vs prediction); :func:`vps.kernels.mask_iou` turns it into IoUs.

Kernel design. Each pixel's key is ``a * num_b + b``; out-of-range pixels (not ignored) go to one extra
slot ``num_a * num_b`` that the host reads to raise ``ValueError`` (one device->host sync, skipped with
``validate=False``); ignored pixels and the tail of the last block are masked out.

* Few bins (``num_a * num_b + 1 <= PRIVATE_MAX_BINS``): a persistent grid (2 programs per SM) where each
  program privatises the whole histogram in registers, adding ``tl.histogram`` of every 1024-pixel chunk
  (a warp-ballot histogram, no atomics), then flushes its non-zero bins with one int64 global atomic each.
* Many bins: one program per 1024 pixels does one relaxed int32 global atomic per pixel into one of
  ``R`` replicas of the histogram (replica = pixel index mod R, so neighbouring pixels, which usually
  share a key, hit different addresses instead of serialising), then ``sum(0)`` folds the replicas.

Counts are int64 on every path (int32 in the replicas, <= 2**31 pixels per call) and equal, value for
value, to :func:`~vps.kernels.reference.pair_histogram_reference`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vps.kernels._dispatch import (
    INT32_MAX,
    check_int,
    check_pair,
    check_size,
    device_guard,
    interpreting,
    lazy_jit,
    next_pow2,
    num_sms,
    tl,
    use_triton,
)
from vps.kernels.reference import pair_histogram_reference

PRIVATE_MAX_BINS = 1024  # largest per-program register histogram (bins incl. the out-of-range slot)
BLOCK = 1024  # pixels per chunk
MAX_PIXELS = 2**30  # per GPU call (int32 offsets)


@lazy_jit
def _private_kernel(a_ptr, b_ptr, out_ptr, N, num_a, num_b, ignore_a, ignore_b, HAS_IGNORE_A: tl.constexpr,
                    HAS_IGNORE_B: tl.constexpr, NB: tl.constexpr, BLOCK: tl.constexpr):
    total = num_a * num_b  # the out-of-range slot
    acc = tl.full([NB], 0, tl.int32)  # this program's histogram, in registers
    step = tl.num_programs(0) * BLOCK
    for start in range(tl.program_id(0) * BLOCK, N, step):
        offs = start + tl.arange(0, BLOCK)
        keep = offs < N
        a = tl.load(a_ptr + offs, mask=keep, other=0).to(tl.int64)
        b = tl.load(b_ptr + offs, mask=keep, other=0).to(tl.int64)
        if HAS_IGNORE_A:
            keep = keep & (a != ignore_a)
        if HAS_IGNORE_B:
            keep = keep & (b != ignore_b)
        ok = (a >= 0) & (a < num_a) & (b >= 0) & (b < num_b)
        key = tl.where(ok & keep, a * num_b + b, tl.where(keep, total, 0)).to(tl.int32)
        acc += tl.histogram(key, NB, mask=keep)
    bins = tl.arange(0, NB)
    tl.atomic_add(out_ptr + bins, acc.to(tl.int64), mask=(bins <= total) & (acc > 0), sem="relaxed")


@lazy_jit
def _atomic_kernel(a_ptr, b_ptr, out_ptr, N, num_a, num_b, ignore_a, ignore_b, HAS_IGNORE_A: tl.constexpr,
                   HAS_IGNORE_B: tl.constexpr, REPLICAS: tl.constexpr, BLOCK: tl.constexpr):
    total = num_a * num_b
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    keep = offs < N
    a = tl.load(a_ptr + offs, mask=keep, other=0).to(tl.int64)
    b = tl.load(b_ptr + offs, mask=keep, other=0).to(tl.int64)
    if HAS_IGNORE_A:
        keep = keep & (a != ignore_a)
    if HAS_IGNORE_B:
        keep = keep & (b != ignore_b)
    ok = (a >= 0) & (a < num_a) & (b >= 0) & (b < num_b)
    key = tl.where(ok, a * num_b + b, total).to(tl.int32)
    replica = (offs % REPLICAS) * (total + 1)
    tl.atomic_add(out_ptr + replica + key, 1, mask=keep, sem="relaxed")


def pair_histogram(a_ids: Any, b_ids: Any, num_a: int | None = None, num_b: int | None = None, *,
                   ignore_a: int | None = None, ignore_b: int | None = None, validate: bool = True) -> Any:
    """Counts ``[num_a, num_b]`` int64 of (a, b) id pairs over all pixels of two same-shape id maps.

    Rows are a-ids, columns b-ids. Pixels whose a-id is ``ignore_a`` or b-id is ``ignore_b`` are skipped
    (neither of their ids needs to be in range); sizes default to the largest id + 1 over the other
    pixels. Any other id outside ``[0, num)`` raises ``ValueError`` (with ``validate=False`` such pixels
    are silently dropped and, on a GPU, the device->host sync of the check is saved). Pass ``num_a`` /
    ``num_b`` on a GPU: the defaults need a max-reduction and a sync. NumPy in, NumPy out; torch tensors
    give a tensor on their device (Triton on CUDA, and on CPU under ``TRITON_INTERPRET=1``).
    """
    check_pair(a_ids, b_ids, ("a_ids", "b_ids"))
    check_int(a_ids, "a_ids")
    check_int(b_ids, "b_ids")
    ignore_a, ignore_b = _check_ignore(ignore_a, "ignore_a"), _check_ignore(ignore_b, "ignore_b")
    if num_a is None or num_b is None:
        kept_a, kept_b = _kept(a_ids, b_ids, ignore_a, ignore_b)
        num_a, num_b = _size(kept_a, num_a, "num_a"), _size(kept_b, num_b, "num_b")
    num_a, num_b = check_size(num_a, "num_a"), check_size(num_b, "num_b")
    if num_a * num_b + 1 > INT32_MAX:
        raise ValueError(f"pair_histogram: {num_a}x{num_b} bins exceed 2**31")
    if use_triton(a_ids):
        if a_ids.numel() > MAX_PIXELS:
            raise ValueError(f"pair_histogram: {a_ids.numel()} pixels exceed {MAX_PIXELS} per call")
        hist, bad = _launch(a_ids, b_ids, num_a, num_b, ignore_a, ignore_b)
        n_bad = int(bad) if validate else 0
    else:
        hist = pair_histogram_reference(a_ids, b_ids, num_a, num_b, ignore_a, ignore_b)
        n_bad = _count_bad(a_ids, b_ids, num_a, num_b, ignore_a, ignore_b) if validate else 0
    if n_bad:
        kept_a, kept_b = _kept(a_ids, b_ids, ignore_a, ignore_b)
        raise ValueError(f"pair_histogram: {n_bad} pixel(s) have ids outside a in [0, {num_a}) x "
                         f"b in [0, {num_b}) (a_ids span {_span(kept_a)}, b_ids span {_span(kept_b)})")
    return hist


def _check_ignore(value: int | None, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or not -(2**63) <= value < 2**63:
        raise ValueError(f"{name} must be None or an int64 id, got {value!r}")
    return int(value)


def _kept(a: Any, b: Any, ignore_a: int | None, ignore_b: int | None) -> tuple[Any, Any]:
    """The (a, b) ids of the pixels that are counted (neither id ignored), flattened."""
    a, b = a.reshape(-1), b.reshape(-1)
    if ignore_a is None and ignore_b is None:
        return a, b
    keep = (a != ignore_a) & (b != ignore_b)  # an ignore of None compares unequal to every id
    return a[keep], b[keep]


def _size(ids: Any, num: int | None, name: str) -> int:
    if num is not None:
        return check_size(num, name)
    return max(int(ids.max()) + 1, 0) if ids.shape[0] else 0


def _span(ids: Any) -> str:
    return f"[{int(ids.min())}, {int(ids.max())}]" if ids.shape[0] else "[]"


def _count_bad(a: Any, b: Any, num_a: int, num_b: int, ignore_a: int | None, ignore_b: int | None) -> int:
    """Pixels that are not ignored but have an id out of range (reference path; NumPy or torch)."""
    a, b = a.reshape(-1), b.reshape(-1)
    bad = (a < 0) | (a >= num_a) | (b < 0) | (b >= num_b)
    if ignore_a is not None:
        bad = bad & (a != ignore_a)
    if ignore_b is not None:
        bad = bad & (b != ignore_b)
    return int(bad.sum())


def _launch(a_ids: Any, b_ids: Any, num_a: int, num_b: int, ignore_a: int | None, ignore_b: int | None,
            strategy: str | None = None) -> tuple[Any, Any]:
    """Run a kernel on torch tensors (arguments already valid) -> (int64 counts, out-of-range count).

    ``strategy`` ("private" / "atomic") overrides the bin-count heuristic (tests, benchmark sweeps).
    """
    import torch

    a, b = a_ids.reshape(-1), b_ids.reshape(-1)  # views when contiguous
    a, b = a.contiguous(), b.contiguous()
    N, total = a.shape[0], num_a * num_b
    args = (N, num_a, num_b, ignore_a or 0, ignore_b or 0)
    flags = {"HAS_IGNORE_A": ignore_a is not None, "HAS_IGNORE_B": ignore_b is not None}
    nb = max(next_pow2(total + 1), 128)
    strategy = strategy or ("private" if nb <= PRIVATE_MAX_BINS else "atomic")
    if N == 0:
        counts = torch.zeros(total + 1, dtype=torch.int64, device=a.device)
    elif strategy == "private":
        counts = torch.zeros(total + 1, dtype=torch.int64, device=a.device)
        programs = 2 if interpreting() else 2 * num_sms(a.device.index)
        grid = (min((N + BLOCK - 1) // BLOCK, programs),)
        with device_guard(a):
            _private_kernel[grid](a, b, counts, *args, **flags, NB=nb, BLOCK=BLOCK, num_warps=4)
    else:
        replicas = 4 if interpreting() else max(1, min(32, (1 << 20) // (total + 1)))
        partial = torch.zeros((replicas, total + 1), dtype=torch.int32, device=a.device)
        with device_guard(a):
            _atomic_kernel[((N + BLOCK - 1) // BLOCK,)](a, b, partial, *args, **flags, REPLICAS=replicas,
                                                         BLOCK=BLOCK, num_warps=4)
        counts = partial.sum(0)  # int64 [total + 1]
    return counts[:total].view(num_a, num_b), counts[total]
