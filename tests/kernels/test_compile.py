"""Compiled mode without a GPU: every kernel variant compiles to an sm_90a cubin (Triton ships ptxas).

The interpreter runs the kernel bodies as NumPy; this checks what it cannot: that the same bodies pass
Triton's compiler (types of loop-carried values, constexpr branches, histogram/atomic lowering) and
that the loads the bandwidth goals rely on are vectorised.
"""

from __future__ import annotations

from typing import Any

import pytest

triton = pytest.importorskip("triton")

from vps.kernels.decode_panoptic import _decode_kernel  # noqa: E402
from vps.kernels.expected_bits import _expected_bits_kernel  # noqa: E402
from vps.kernels.pair_histogram import _atomic_kernel, _private_kernel  # noqa: E402


@pytest.fixture
def compile_sm90(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    try:
        from triton.backends.compiler import GPUTarget
        from triton.compiler import ASTSource
    except ImportError as exc:  # pragma: no cover - triton without the NVIDIA backend
        pytest.skip(f"no NVIDIA backend: {exc}")

    def compile_kernel(kernel: Any, signature: dict[str, str], constexprs: dict[str, Any],
                       aligned: tuple[str, ...], num_warps: int) -> Any:
        fn = kernel.jitted()
        for name in constexprs:
            signature[name] = "constexpr"
        attrs = {(fn.arg_names.index(a),): [["tt.divisibility", 16]] for a in aligned}  # as JIT specialises
        source = ASTSource(fn=fn, signature=signature, constexprs=constexprs, attrs=attrs)
        compiled = triton.compile(source, target=GPUTarget("cuda", 90, 32), options={"num_warps": num_warps})
        assert compiled.asm["cubin"], "no cubin"
        return compiled.asm["ptx"]

    return compile_kernel


@pytest.mark.parametrize(("dtype", "block_p", "num_warps"), [("fp32", 256, 2), ("bf16", 256, 1)])
def test_expected_bits_compiles_with_vector_loads(compile_sm90: Any, dtype: str, block_p: int,
                                                  num_warps: int) -> None:
    sig = {"x_ptr": f"*{dtype}", "out_ptr": "*fp32", "HW": "i32", "scale": "fp32"}
    aligned = ("x_ptr", "out_ptr", "HW")
    ptx = compile_sm90(_expected_bits_kernel, sig, {"BLOCK_P": block_p}, aligned, num_warps)
    assert "ld.global.v4" in ptx and "st.global.v4" in ptx and "ex2.approx" in ptx


@pytest.mark.parametrize(("channels", "resize"), [(512, False), (512, True), (16, True)])
def test_decode_compiles(compile_sm90: Any, channels: int, resize: bool) -> None:
    sig = {"x_ptr": "*fp16", "out_ptr": "*i32", "h": "i32", "w": "i32", "H": "i32", "W": "i32",
           "scale_y": "fp32", "scale_x": "fp32", "label_divisor": "i32"}
    consts = {"CH": channels, "RESIZE": resize, "MAX_RUN": 2 if resize else 1, "ROWS": 1, "BLOCK_W": 512}
    ptx = compile_sm90(_decode_kernel, sig, consts, ("x_ptr", "out_ptr", "w", "W"), 4)
    if not resize:  # contiguous source columns: 16-byte loads
        assert "ld.global.v4" in ptx or "ld.global.v2" in ptx


@pytest.mark.parametrize("nb", [128, 1024])
def test_private_histogram_compiles(compile_sm90: Any, nb: int) -> None:
    sig = {"a_ptr": "*i64", "b_ptr": "*u8", "out_ptr": "*i64", "N": "i32", "num_a": "i32", "num_b": "i32",
           "ignore_a": "i32", "ignore_b": "i32"}
    consts = {"HAS_IGNORE_A": True, "HAS_IGNORE_B": False, "NB": nb, "BLOCK": 1024}
    ptx = compile_sm90(_private_kernel, sig, consts, ("a_ptr", "b_ptr", "out_ptr"), 4)
    assert "atom.global" in ptx or "red.global" in ptx


def test_atomic_histogram_compiles(compile_sm90: Any) -> None:
    sig = {"a_ptr": "*i32", "b_ptr": "*i32", "out_ptr": "*i32", "N": "i32", "num_a": "i32", "num_b": "i32",
           "ignore_a": "i32", "ignore_b": "i32"}
    consts = {"HAS_IGNORE_A": False, "HAS_IGNORE_B": True, "REPLICAS": 8, "BLOCK": 1024}
    ptx = compile_sm90(_atomic_kernel, sig, consts, ("a_ptr", "b_ptr", "out_ptr"), 4)
    assert "red.global" in ptx or "atom.global" in ptx
