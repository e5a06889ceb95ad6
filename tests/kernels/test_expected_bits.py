"""expected_bits: Triton (interpreted) vs the references, channel order vs vps.bits, argument errors."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from vps.bits import panoptic_to_bits  # noqa: E402
from vps.kernels import expected_bits  # noqa: E402
from vps.kernels.expected_bits import TOLERANCE  # noqa: E402
from vps.kernels.reference import expected_bits_reference  # noqa: E402


def _logits(shape: tuple[int, ...], seed: int = 0, magnitude: float = 4.0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed)) * magnitude


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_triton_matches_reference(interpret: None, dtype: str) -> None:
    x = _logits((2, 512, 7, 13)).to(getattr(torch, dtype))  # odd sizes: masked tail of the pixel block
    got = expected_bits(x)
    assert got.dtype == torch.float32 and got.shape == (2, 16, 7, 13)
    torch.testing.assert_close(got, expected_bits_reference(x), rtol=0, atol=TOLERANCE * 0.1)


@pytest.mark.parametrize("magnitude", [0.01, 100.0])
def test_flat_and_peaked_softmax(interpret: None, magnitude: float) -> None:
    x = _logits((1, 512, 3, 5), seed=1, magnitude=magnitude)
    torch.testing.assert_close(expected_bits(x, 0.5), expected_bits_reference(x, 0.5), rtol=0,
                               atol=TOLERANCE * 0.5)


def test_minus_infinity_logits_are_excluded(interpret: None) -> None:
    x = _logits((1, 512, 2, 3), seed=2)
    x[:, :200] = float("-inf")  # first tiles of the class group all -inf: the running max starts at -inf
    x[:, 256 + 17] = float("-inf")
    got = expected_bits(x)
    assert torch.isfinite(got).all()
    torch.testing.assert_close(got, expected_bits_reference(x), rtol=0, atol=TOLERANCE * 0.1)


def test_one_hot_logits_give_the_bits_of_vps_bits(interpret: None) -> None:
    """Channel order and LSB-first bits agree with vps.bits; edge values 0 and 255 in both groups."""
    pan = np.array([[[0, 255 * 1000 + 255, 255 * 1000, 255], [1000 * 37 + 200, 0, 5, 1000 * 128]]])
    sem, inst = pan // 1000, pan % 1000
    x = torch.full((1, 512, 2, 4), -30.0)
    for y in range(2):
        for xx in range(4):
            x[0, sem[0, y, xx], y, xx] = 30.0
            x[0, 256 + inst[0, y, xx], y, xx] = 30.0
    np.testing.assert_allclose(expected_bits(x).numpy(), panoptic_to_bits(pan), rtol=0, atol=1e-6)


def test_out_buffer_is_fully_written(interpret: None) -> None:
    x = _logits((2, 512, 3, 7), seed=3)
    out = torch.full((2, 16, 3, 7), float("nan"))  # poisoned
    assert expected_bits(x, out=out) is out
    assert not out.isnan().any()
    torch.testing.assert_close(out, expected_bits_reference(x), rtol=0, atol=TOLERANCE * 0.1)


def test_numpy_in_numpy_out() -> None:
    x = _logits((1, 512, 3, 4), seed=4)
    got = expected_bits(x.numpy().astype(np.float16), 0.2)
    assert isinstance(got, np.ndarray) and got.dtype == np.float32
    np.testing.assert_allclose(got, expected_bits_reference(x.half(), 0.2).numpy(), rtol=0, atol=1e-6)
    out = np.full((1, 16, 3, 4), np.nan, np.float32)
    assert expected_bits(x.numpy(), 0.2, out=out) is out and np.isfinite(out).all()


def test_cpu_tensor_without_interpreter_takes_reference(no_interpret: None) -> None:
    x = _logits((1, 512, 2, 2), seed=5)
    torch.testing.assert_close(expected_bits(x), expected_bits_reference(x), rtol=0, atol=0)


def test_empty_batch(interpret: None) -> None:
    assert expected_bits(torch.zeros(0, 512, 3, 3)).shape == (0, 16, 3, 3)


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        ((torch.zeros(512, 3, 3),), {}, "shape"),
        ((torch.zeros(1, 16, 3, 3),), {}, "shape"),
        ((torch.zeros(1, 512, 3, 3, dtype=torch.int32),), {}, "dtype"),
        ((torch.zeros(1, 512, 3, 3, dtype=torch.float64),), {}, "dtype"),
        ((np.zeros((1, 512, 3, 3), np.int64),), {}, "dtype"),
        (([[1.0]],), {}, "NumPy array or a torch tensor"),
        ((torch.zeros(1, 512, 3, 3), 0.0), {}, "scale"),
        ((torch.zeros(1, 512, 3, 3), float("nan")), {}, "scale"),
        ((torch.zeros(1, 512, 3, 3),), {"out": torch.zeros(1, 16, 3, 4)}, "out"),
        ((torch.zeros(1, 512, 3, 3),), {"out": torch.zeros(1, 16, 3, 3, dtype=torch.float16)}, "out"),
        ((torch.zeros(1, 512, 3, 3),), {"out": np.zeros((1, 16, 3, 3), np.float32)}, "same kind"),
        ((torch.zeros(1, 512, 3, 3),), {"out": torch.zeros(1, 16, 3, 6)[..., ::2]}, "contiguous"),
        ((torch.zeros(1, 512, 3, 3),), {"out": torch.zeros(1, 16, 3, 3, device="meta")}, "is on"),
    ],
)
def test_bad_arguments(args: tuple, kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        expected_bits(*args, **kwargs)


def test_gpu_block_size_with_several_blocks_and_a_tail(interpret: None) -> None:
    from vps.kernels.expected_bits import _launch

    x = _logits((1, 512, 7, 13), seed=6).half()  # 91 pixels: 3 blocks of 32, the last one partial
    torch.testing.assert_close(_launch(x, 0.1, block_p=32), expected_bits_reference(x), rtol=0,
                               atol=TOLERANCE * 0.1)
