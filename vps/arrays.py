"""One array namespace over NumPy arrays and torch tensors, so each host/device twin is written once.

Functions spelled the same in both libraries (``where``, ``clip``, ``stack``, ``concatenate``, operators)
are taken from :func:`namespace`; the few that differ are here. ``torch`` is never imported by this module:
if torch is not loaded, nothing can be a tensor.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np


def is_torch(x: Any) -> bool:
    """True for a torch tensor; never imports torch (if torch is not loaded, ``x`` cannot be a tensor)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def namespace(x: Any) -> Any:
    """The array module of ``x`` (torch or numpy) for functions spelled the same in both."""
    return sys.modules["torch"] if is_torch(x) else np


def as_int64(x: Any) -> Any:
    """``x`` as int64 of its own kind (a tensor stays on its device)."""
    return x.long() if is_torch(x) else np.asarray(x).astype(np.int64)


def as_int32(x: Any) -> Any:
    return x.int() if is_torch(x) else np.asarray(x).astype(np.int32)


def as_float32(x: Any) -> Any:
    return x.float() if is_torch(x) else np.asarray(x).astype(np.float32)


def like(x: Any, values: np.ndarray) -> Any:
    """NumPy ``values`` as an array of ``x``'s kind (and device)."""
    if is_torch(x):
        return sys.modules["torch"].as_tensor(values, device=x.device)
    return values


def to_host(x: Any) -> np.ndarray:
    """``x`` as a NumPy array on the host (a copy only when it lives elsewhere)."""
    return x.detach().cpu().numpy() if is_torch(x) else np.asarray(x)
