"""Where a kernel call runs (Triton or the reference twin) and the argument checks every kernel shares.

Dispatch rule (same for every public kernel):

* NumPy arrays always take the NumPy reference and get NumPy back (the ONNX Runtime path is torch-free).
* torch tensors on CUDA take the Triton kernel (the reference when Triton is not installed).
* torch tensors on the CPU take the PyTorch reference, unless ``TRITON_INTERPRET=1`` is set: then they run
  the Triton kernel bodies in Triton's interpreter (how the tests reach the kernels without a GPU).

Kernels are wrapped with :func:`lazy_jit` instead of ``triton.jit``: ``triton.jit`` picks compiled vs
interpreted mode once, at decoration time, from ``TRITON_INTERPRET``; the lazy wrapper builds (and caches)
one jitted function per mode at the first launch in that mode, so the import order of ``triton`` versus
the environment variable never matters, and importing :mod:`vps.kernels` needs neither torch nor triton.
For the same reason the kernel bodies avoid ``triton.language.standard`` helpers that are themselves
``@triton.jit`` functions (``tl.zeros``, ``tl.max``, ``tl.sum``, ...; their mode is fixed when
``triton.language`` is first imported): they use ``tl.full`` and ``tl.reduce`` with the standard combine
functions instead (``tl.standard._sum_combine`` etc., private names, but triton is pinned), which compile
to the same code and which the interpreter maps to NumPy reductions in either mode.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import numpy as np

from vps.arrays import is_torch

FLOAT_DTYPES_TORCH = ("float32", "float16", "bfloat16")
FLOAT_DTYPES_NUMPY = (np.float16, np.float32, np.float64)
INT_DTYPES_TORCH = ("uint8", "int8", "int16", "int32", "int64")
INT32_MAX = 2**31 - 1
MAX_GRID_YZ = 65535  # CUDA limit of grid dimensions 1 and 2 (batch, rows)


@functools.lru_cache(maxsize=1)
def triton_available() -> bool:
    """True when ``import triton`` works (the ``gpu`` extra is installed)."""
    try:
        import triton  # noqa: F401
    except ImportError:  # pragma: no cover - core install without the gpu extra
        return False
    return True


def interpreting() -> bool:
    """True when Triton's interpreter is on (``TRITON_INTERPRET`` = 1/true/on, read now, as triton does)."""
    if triton_available():
        import triton

        return bool(triton.knobs.runtime.interpret)
    return os.environ.get("TRITON_INTERPRET", "0").strip().lower() in ("1", "true", "on")


def use_triton(x: Any) -> bool:
    """Whether a call on ``x`` runs the Triton kernel (see the module docstring for the rule)."""
    if not is_torch(x) or not triton_available():
        return False
    if x.device.type == "cuda":
        return True
    return x.device.type == "cpu" and interpreting()


def device_guard(x: Any) -> AbstractContextManager[Any]:
    """Make ``x``'s GPU the current one for a launch (Triton launches on the current device)."""
    if x.device.type == "cuda":
        import torch

        if x.device.index is not None and x.device.index != torch.cuda.current_device():
            return torch.cuda.device(x.device)
    return nullcontext()


@functools.lru_cache(maxsize=8)
def num_sms(device_index: int | None) -> int:
    """Streaming multiprocessors of a CUDA device (sizes persistent grids); ``None``: the current one."""
    import torch

    index = torch.cuda.current_device() if device_index is None else device_index
    return int(torch.cuda.get_device_properties(index).multi_processor_count)


def next_pow2(n: int) -> int:
    """Smallest power of two >= ``max(n, 1)``."""
    return 1 << max(int(n) - 1, 0).bit_length()


class LazyKernel:
    """A Triton kernel jitted at its first launch in each mode (compiled / interpreted): ``k[grid](...)``."""

    def __init__(self, fn: Callable[..., None]) -> None:
        self.fn = fn
        self._jitted: dict[bool, Any] = {}
        functools.update_wrapper(self, fn)

    def jitted(self) -> Any:
        """The ``JITFunction`` or ``InterpretedFunction`` for the current mode."""
        mode = interpreting()
        kernel = self._jitted.get(mode)
        if kernel is None:
            import triton
            import triton.language

            # Kernel bodies name `tl` as a module global bound to the placeholder below; the real module
            # replaces it here, so `import vps.kernels` (and the torch-free runtime) never loads triton.
            self.fn.__globals__["tl"] = triton.language
            # triton.jit reads the same environment variable at this very moment, so mode matches.
            kernel = self._jitted[mode] = triton.jit(self.fn)
        return kernel

    def __getitem__(self, grid: Any) -> Any:
        return self.jitted()[grid]


class _TritonLanguagePlaceholder:
    """Stands for ``triton.language`` in kernel modules until :class:`LazyKernel` binds the real one.

    Annotations such as ``tl.constexpr`` are strings (``from __future__ import annotations``), so module
    import never touches this object; any other use before a launch is a bug and says so.
    """

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(f"triton.language.{name} used before the kernel was jitted (use lazy_jit)")


tl: Any = _TritonLanguagePlaceholder()


def lazy_jit(fn: Callable[..., None]) -> LazyKernel:
    """Decorator used instead of ``@triton.jit`` (see the module docstring for why)."""
    return LazyKernel(fn)


# ----------------------------------------------------------------------------------------------- checks


def dtype_name(x: Any) -> str:
    """``'float32'``-style dtype name of a NumPy array or torch tensor."""
    return str(x.dtype).removeprefix("torch.")


def check_array(x: Any, name: str) -> None:
    """``x`` must be a NumPy array or a torch tensor."""
    if not (isinstance(x, np.ndarray) or is_torch(x)):
        raise ValueError(f"{name} must be a NumPy array or a torch tensor, got {type(x).__name__}")


def check_float(x: Any, name: str) -> None:
    """fp16/bf16/fp32 tensors, or fp16/fp32/fp64 arrays."""
    ok = dtype_name(x) in FLOAT_DTYPES_TORCH if is_torch(x) else x.dtype.type in FLOAT_DTYPES_NUMPY
    if not ok:
        allowed = FLOAT_DTYPES_TORCH if is_torch(x) else ("float16", "float32", "float64")
        raise ValueError(f"{name} must have a float dtype in {allowed}, got {dtype_name(x)}")


def check_int(x: Any, name: str) -> None:
    """Integer ids (bool is not an id)."""
    ok = dtype_name(x) in INT_DTYPES_TORCH if is_torch(x) else x.dtype.kind in "iu"
    if not ok:
        raise ValueError(f"{name} must have an integer dtype, got {dtype_name(x)}")


def check_logits(x: Any, name: str, channels: tuple[int, ...]) -> None:
    """``[B, C, h, w]`` float maps with ``C`` in ``channels``."""
    check_array(x, name)
    if x.ndim != 4 or x.shape[1] not in channels:
        raise ValueError(f"{name} must have shape [B, C, h, w] with C in {channels}, got {tuple(x.shape)}")
    check_float(x, name)
    if x.shape[1] * x.shape[2] * x.shape[3] > INT32_MAX:
        raise ValueError(f"{name}: one image of {tuple(x.shape[1:])} exceeds 2**31 elements")


def check_size(value: Any, name: str, allow_zero: bool = True) -> int:
    """A non-negative (or positive) Python/NumPy integer."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < (0 if allow_zero else 1):
        raise ValueError(f"{name} must be {'>= 0' if allow_zero else '>= 1'}, got {value}")
    return int(value)


def check_out(out: Any, like: Any, shape: tuple[int, ...], dtype: str, name: str = "out") -> None:
    """A caller-provided output buffer must match kind, device, shape, dtype and be contiguous."""
    if is_torch(like) != is_torch(out) or not (is_torch(out) or isinstance(out, np.ndarray)):
        raise ValueError(f"{name} must be the same kind (NumPy / torch) as the input")
    if is_torch(out) and out.device != like.device:
        raise ValueError(f"{name} is on {out.device}, the input on {like.device}")
    if tuple(out.shape) != shape or dtype_name(out) != dtype:
        raise ValueError(f"{name} must be {dtype} {list(shape)}, got {dtype_name(out)} {list(out.shape)}")
    contiguous = out.is_contiguous() if is_torch(out) else out.flags.c_contiguous
    if not contiguous:
        raise ValueError(f"{name} must be contiguous")


def check_pair(a: Any, b: Any, names: tuple[str, str]) -> None:
    """Two maps of the same kind, device and shape."""
    check_array(a, names[0])
    check_array(b, names[1])
    if is_torch(a) != is_torch(b):
        raise ValueError(f"{names[0]} and {names[1]} must both be NumPy arrays or both torch tensors")
    if is_torch(a) and a.device != b.device:
        raise ValueError(f"{names[0]} is on {a.device} but {names[1]} is on {b.device}")
    if tuple(a.shape) != tuple(b.shape):
        raise ValueError(f"{names[0]} {tuple(a.shape)} and {names[1]} {tuple(b.shape)} differ in shape")


def into(out: Any, result: Any) -> Any:
    """Copy a reference result into a caller's buffer (when one was given) and return the buffer."""
    if out is None:
        return result
    if is_torch(out):
        out.copy_(result)
    else:
        np.copyto(out, result)
    return out
