"""Dispatch rules, the lazy jit wrapper, and proof that the interpreter really runs the kernel bodies."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from collections import Counter

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("triton")

from vps.kernels import _dispatch, decode_panoptic, expected_bits, pair_histogram  # noqa: E402
from vps.kernels.expected_bits import _expected_bits_kernel  # noqa: E402

# The package re-exports functions under the modules' names, so fetch the modules themselves.
bits_module = importlib.import_module("vps.kernels.expected_bits")
decode_module = importlib.import_module("vps.kernels.decode_panoptic")
hist_module = importlib.import_module("vps.kernels.pair_histogram")


def test_use_triton_rules(interpret: None) -> None:
    assert _dispatch.use_triton(torch.zeros(1))
    assert not _dispatch.use_triton(np.zeros(1))  # NumPy always takes the reference


def test_cpu_tensors_take_reference_without_interpreter(no_interpret: None) -> None:
    assert not _dispatch.interpreting()
    assert not _dispatch.use_triton(torch.zeros(1))


def test_lazy_jit_builds_one_kernel_per_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    from triton.runtime.interpreter import InterpretedFunction
    from triton.runtime.jit import JITFunction

    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    assert isinstance(_expected_bits_kernel.jitted(), JITFunction)  # compiled mode: never launched here
    monkeypatch.setenv("TRITON_INTERPRET", "1")
    interpreted = _expected_bits_kernel.jitted()
    assert isinstance(interpreted, InterpretedFunction)
    assert _expected_bits_kernel.jitted() is interpreted  # cached


def test_interpreter_runs_every_kernel_body(interpret: None, kernel_calls: Counter[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("the reference must not run on the Triton path")

    for module in (bits_module, decode_module, hist_module):
        name = module.__name__.rsplit(".", 1)[1] + "_reference"
        monkeypatch.setattr(module, name, boom)
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(1, 512, 2, 3, generator=gen)
    assert expected_bits(logits).shape == (1, 16, 2, 3)
    assert decode_panoptic(torch.randn(1, 16, 2, 3, generator=gen), (3, 5)).shape == (1, 3, 5)
    ids = torch.randint(0, 3, (5, 7), generator=gen)
    assert int(pair_histogram(ids, ids, 3, 3).sum()) == 35
    assert int(pair_histogram(ids, ids, 40, 40).sum()) == 35  # many bins: the atomic kernel
    for name in ("_expected_bits_kernel", "_decode_kernel", "_private_kernel", "_atomic_kernel"):
        assert kernel_calls[name] >= 1, name


def test_import_needs_no_torch() -> None:
    code = "import sys, vps.kernels; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_next_pow2() -> None:
    assert [_dispatch.next_pow2(n) for n in (0, 1, 2, 3, 91, 128, 129)] == [1, 1, 2, 4, 128, 128, 256]


def test_interpreter_set_before_importing_triton() -> None:
    """The other route: TRITON_INTERPRET=1 in the environment of a fresh process from the start."""
    code = """
import torch
from vps.kernels import decode_panoptic, expected_bits, pair_histogram
from vps.kernels.reference import expected_bits_reference
x = torch.randn(1, 512, 2, 3)
assert (expected_bits(x) - expected_bits_reference(x)).abs().max() < 1e-6
assert torch.equal(decode_panoptic(x, (3, 4)), torch.from_numpy(decode_panoptic(x.numpy(), (3, 4))))
ids = torch.arange(6).view(2, 3) % 4
assert torch.equal(pair_histogram(ids, ids), torch.eye(4, dtype=torch.int64) * torch.tensor([2, 2, 1, 1]))
print("ok")
"""
    env = {**os.environ, "TRITON_INTERPRET": "1"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]
