"""Fixtures for the kernel tests: Triton's interpreter on CPU tensors, and proof that kernel bodies ran.

The kernels are wrapped with ``vps.kernels._dispatch.lazy_jit``, which picks compiled vs interpreted mode
at launch time, so ``TRITON_INTERPRET`` can be set per test (``interpret`` fixture) instead of before the
first ``import triton``, and does not leak into other test folders sharing the worker process.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterator
from types import FrameType
from typing import Any

import pytest

KERNEL_NAMES = {"_expected_bits_kernel", "_decode_kernel", "_private_kernel", "_atomic_kernel"}


@pytest.fixture
def interpret(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run the Triton path on CPU tensors for this test (Triton's interpreter)."""
    pytest.importorskip("triton")
    monkeypatch.setenv("TRITON_INTERPRET", "1")


@pytest.fixture
def no_interpret(monkeypatch: pytest.MonkeyPatch) -> None:
    """CPU tensors take the PyTorch reference for this test."""
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)


@pytest.fixture
def kernel_calls() -> Iterator[Counter[str]]:
    """Counts executions of the kernel bodies (by function name) while the test runs."""
    calls: Counter[str] = Counter()

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        if event == "call" and frame.f_code.co_name in KERNEL_NAMES:
            calls[frame.f_code.co_name] += 1

    previous = sys.getprofile()
    sys.setprofile(profile)
    try:
        yield calls
    finally:
        sys.setprofile(previous)
