"""decode_panoptic: Triton (interpreted) vs the references, the nearest convention, argument errors."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

from vps.bits import bits_to_panoptic, panoptic_to_bits  # noqa: E402
from vps.kernels import decode_panoptic  # noqa: E402
from vps.kernels.reference import decode_panoptic_reference, nearest_source_index  # noqa: E402


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _tied_logits(shape: tuple[int, ...], seed: int = 0) -> torch.Tensor:
    """Logits drawn from 3 values: every pixel has ties, so the lowest-index rule is exercised."""
    return torch.randint(0, 3, shape, generator=_gen(seed)).float()


@pytest.mark.parametrize("out_size", [None, (7, 13), (15, 29), (5, 8), (3, 40)])
def test_logits_match_reference(interpret: None, out_size: tuple[int, int] | None) -> None:
    x = _tied_logits((2, 512, 7, 13))
    got = decode_panoptic(x, out_size)
    assert got.dtype == torch.int32
    assert torch.equal(got, decode_panoptic_reference(x, out_size))


def test_resize_is_torch_nearest(interpret: None) -> None:
    """Up and down along each axis at once: equals decode-then-F.interpolate(nearest)."""
    bits = torch.randn(2, 16, 9, 11, generator=_gen(1))
    base = decode_panoptic_reference(bits)[:, None].double()  # ids < 2**53: exact in float64
    for size in ((20, 5), (4, 31), (17, 23), (2, 2)):
        expected = F.interpolate(base, size=size, mode="nearest")[:, 0].int()
        assert torch.equal(decode_panoptic(bits, size), expected), size


def test_gpu_launch_config_one_row_per_program(interpret: None) -> None:
    """ROWS=1 programs as on a GPU: leaders write their runs of rows, non-leaders write nothing."""
    from vps.kernels.decode_panoptic import _launch

    bits = torch.randn(1, 16, 4, 6, generator=_gen(2)).half()
    for size in ((9, 13), (3, 4)):
        out = torch.full((1, *size), -1, dtype=torch.int32)
        got = _launch(bits, size, 1000, out=out, block_w=8, rows=1)
        assert torch.equal(got, decode_panoptic_reference(bits, size)), size
    x = _tied_logits((1, 512, 2, 3), seed=3)
    assert torch.equal(_launch(x, (4, 5), 1000, block_w=8, rows=1), decode_panoptic_reference(x, (4, 5)))


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_logits(interpret: None, dtype: str) -> None:
    x = torch.randn(1, 512, 3, 5, generator=_gen(4)).to(getattr(torch, dtype))
    assert torch.equal(decode_panoptic(x, (4, 9)), decode_panoptic_reference(x, (4, 9)))


def test_edge_ids_and_label_divisor(interpret: None) -> None:
    pan = np.array([[[0, 255 * 1000 + 255], [255 * 1000, 255]]])
    bits = torch.from_numpy(panoptic_to_bits(pan))
    assert decode_panoptic(bits).tolist() == pan.tolist()
    logits = torch.zeros(1, 512, 2, 2)
    logits[0, 255, 0, 1] = logits[0, 511, 0, 1] = 1.0  # class 255, instance 255
    logits[0, 0, 1, 0] = logits[0, 256, 1, 0] = -1.0  # the max (0) ties on 1..255: lowest index 1 wins
    expected = decode_panoptic_reference(logits, label_divisor=256)
    assert torch.equal(decode_panoptic(logits, label_divisor=256), expected)
    assert expected[0, 0, 1] == 255 * 256 + 255 and expected[0, 1, 0] == 1 * 256 + 1


def test_nan_wins_like_torch_argmax(interpret: None) -> None:
    x = torch.randn(1, 512, 2, 3, generator=_gen(5))
    x[0, 7, 0, 0] = x[0, 200, 0, 0] = float("nan")  # first NaN (7) wins
    x[0, 256 + 3, 1, 2] = float("nan")
    x[0, :256, 0, 1] = float("-inf")  # all -inf -> index 0
    got = decode_panoptic(x)
    assert torch.equal(got, decode_panoptic_reference(x))
    assert got[0, 0, 0] // 1000 == 7 and got[0, 1, 2] % 1000 == 3 and got[0, 0, 1] // 1000 == 0


def test_bits_agree_with_vps_bits(interpret: None) -> None:
    bits = torch.randn(2, 16, 7, 13, generator=_gen(6))
    bits[0, 3, 0, 0] = 0.0  # exactly 0 is "not set"
    expected = bits_to_panoptic(bits.numpy())
    assert np.array_equal(decode_panoptic(bits).numpy(), expected)
    assert np.array_equal(decode_panoptic(bits.numpy()), expected)  # NumPy in, NumPy out


def test_out_buffer_is_fully_written(interpret: None) -> None:
    x = _tied_logits((1, 512, 5, 6), seed=7)
    out = torch.full((1, 11, 13), -1, dtype=torch.int32)  # poisoned; ids are >= 0
    assert decode_panoptic(x, (11, 13), out=out) is out
    assert (out >= 0).all() and torch.equal(out, decode_panoptic_reference(x, (11, 13)))


def test_numpy_in_numpy_out() -> None:
    x = _tied_logits((1, 512, 3, 4), seed=8)
    got = decode_panoptic(x.numpy(), (5, 7))
    assert isinstance(got, np.ndarray) and got.dtype == np.int32
    assert np.array_equal(got, decode_panoptic_reference(x, (5, 7)).numpy())


def test_empty_inputs(interpret: None) -> None:
    assert decode_panoptic(torch.zeros(0, 16, 3, 3), (5, 5)).shape == (0, 5, 5)
    assert decode_panoptic(torch.zeros(2, 16, 0, 3)).shape == (2, 0, 3)


def test_nearest_convention_vs_opencv() -> None:
    """torch's float32 nearest, which OpenCV INTER_NEAREST matches at the KITTI-STEP sizes but not always."""
    cv2 = pytest.importorskip("cv2")

    def cv_index(n_in: int, n_out: int) -> np.ndarray:
        src = np.arange(n_in, dtype=np.float32)[:, None].repeat(2, 1)
        return cv2.resize(src, (2, n_out), interpolation=cv2.INTER_NEAREST)[:, 0].astype(np.int64)

    for n_in, n_out in ((192, 375), (624, 1242), (375, 192), (1242, 624)):
        assert np.array_equal(nearest_source_index(n_in, n_out), cv_index(n_in, n_out))
        assert np.array_equal(nearest_source_index(n_in, n_out), np.arange(n_out) * n_in // n_out)
    assert nearest_source_index(8, 82)[41] == 3 and cv_index(8, 82)[41] == 4  # documented difference
    torch_index = F.interpolate(torch.arange(8.0).view(1, 1, 8), size=82, mode="nearest").view(-1)
    assert np.array_equal(nearest_source_index(8, 82), torch_index.long().numpy())


X = torch.zeros(1, 16, 3, 3)


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        ((torch.zeros(1, 17, 3, 3),), {}, "shape"),
        ((torch.zeros(16, 3, 3),), {}, "shape"),
        ((torch.zeros(1, 512, 3, 3, dtype=torch.int64),), {}, "dtype"),
        ((X, (0, 4)), {}, "out_size"),
        ((X, (-2, 4)), {}, "out_size"),
        ((X, (2, 4, 1)), {}, "out_size"),
        ((X, "ab"), {}, "out_size"),
        ((X, (2.5, 4)), {}, "out_size"),
        ((torch.zeros(1, 16, 0, 3), (2, 2)), {}, "empty"),
        ((X, None, 255), {}, "label_divisor"),
        ((X, None, 10**7), {}, "label_divisor"),
        ((X, None, 1000.0), {}, "label_divisor"),
        ((X,), {"out": torch.zeros(1, 3, 3, dtype=torch.int64)}, "out"),
        ((X, (4, 4)), {"out": torch.zeros(1, 3, 3, dtype=torch.int32)}, "out"),
    ],
)
def test_bad_arguments(args: tuple, kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        decode_panoptic(*args, **kwargs)
