"""pair_histogram (both GPU strategies, interpreted) and mask_iou vs references; argument errors."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from vps.kernels import mask_iou, pair_histogram  # noqa: E402
from vps.kernels.pair_histogram import _launch  # noqa: E402
from vps.kernels.reference import pair_histogram_reference  # noqa: E402


def _ids(shape: tuple[int, ...], high: int, seed: int, dtype: torch.dtype = torch.int64) -> torch.Tensor:
    return torch.randint(0, high, shape, generator=torch.Generator().manual_seed(seed)).to(dtype)


def _numpy_hist(a: np.ndarray, b: np.ndarray, num_a: int, num_b: int) -> np.ndarray:
    """Independent check: the placeholder's formula (bincount of a * num_b + b)."""
    keys = a.ravel().astype(np.int64) * num_b + b.ravel().astype(np.int64)
    return np.bincount(keys, minlength=num_a * num_b).reshape(num_a, num_b)


@pytest.mark.parametrize("strategy", ["private", "atomic"])
@pytest.mark.parametrize(("num_a", "num_b", "dtype"), [(5, 7, torch.int32), (256, 19, torch.uint8),
                                                       (3, 300, torch.int16), (1, 1, torch.int64)])
def test_strategies_match_reference(interpret: None, strategy: str, num_a: int, num_b: int,
                                    dtype: torch.dtype) -> None:
    a, b = _ids((2, 7, 13), num_a, 1, dtype), _ids((2, 7, 13), num_b, 2, dtype)
    a.view(-1)[0], b.view(-1)[1] = num_a - 1, num_b - 1  # ids at the top of their range
    hist, bad = _launch(a, b, num_a, num_b, None, None, strategy)
    assert hist.dtype == torch.int64 and int(bad) == 0
    assert np.array_equal(hist.numpy(), _numpy_hist(a.numpy(), b.numpy(), num_a, num_b))


def test_many_chunks_per_program(interpret: None) -> None:
    a, b = _ids((5000,), 6, 3), _ids((5000,), 5, 4)  # 5 chunks of 1024 over 2 programs, partial tail
    for strategy in ("private", "atomic"):
        hist, _ = _launch(a, b, 6, 5, None, None, strategy)
        assert np.array_equal(hist.numpy(), _numpy_hist(a.numpy(), b.numpy(), 6, 5)), strategy


def test_public_function_picks_both_paths(interpret: None) -> None:
    a, b = _ids((9, 11), 40, 5), _ids((9, 11), 30, 6)
    for num_a, num_b in ((40, 30), (40, 8 + 22)):  # 1200 bins > 1024: atomic; then private below
        got = pair_histogram(a, b, num_a, num_b)
        assert np.array_equal(got.numpy(), _numpy_hist(a.numpy(), b.numpy(), num_a, num_b))
    small_a, small_b = a % 4, b % 3
    assert torch.equal(pair_histogram(small_a, small_b), pair_histogram_reference(small_a, small_b, 4, 3))


def test_sizes_default_to_largest_id(interpret: None) -> None:
    a, b = torch.tensor([[0, 3], [3, 1]]), torch.tensor([[2, 0], [0, 0]])
    assert pair_histogram(a, b).tolist() == [[0, 0, 1], [1, 0, 0], [0, 0, 0], [2, 0, 0]]
    assert pair_histogram(a, b, 6, 4).shape == (6, 4)


def test_ignore(interpret: None) -> None:
    a = torch.tensor([0, 1, 255, 2, 1, 255])
    b = torch.tensor([0, 1, 9, 1, -5, 0])  # -5 and 9 only on ignored pixels
    expected = [[1, 0], [0, 1], [0, 1]]
    kwargs = {"ignore_a": 255, "ignore_b": -5}
    assert pair_histogram(a, b, 3, 2, **kwargs).tolist() == expected
    assert pair_histogram(a, b, **kwargs).tolist() == expected  # sizes from the kept ids
    assert pair_histogram(a.numpy(), b.numpy(), **kwargs).tolist() == expected
    hist, _ = _launch(a, b, 3, 2, 255, -5, "atomic")
    assert hist.tolist() == expected


def test_empty_masks(interpret: None) -> None:
    empty = torch.zeros(0, 5, dtype=torch.int32)
    assert torch.equal(pair_histogram(empty, empty, 3, 2), torch.zeros(3, 2, dtype=torch.int64))
    assert pair_histogram(empty, empty).shape == (0, 0)
    assert pair_histogram(np.zeros((0,), np.int64), np.zeros((0,), np.int64), 2, 2).tolist() == [[0, 0]] * 2


def test_numpy_in_numpy_out_keeps_the_placeholder_semantics() -> None:
    a = np.random.default_rng(0).integers(0, 6, (7, 13)).astype(np.int32)
    b = np.random.default_rng(1).integers(0, 4, (7, 13)).astype(np.uint8)
    got = pair_histogram(a, b, 6, 4)
    assert isinstance(got, np.ndarray) and got.dtype == np.int64
    assert np.array_equal(got, _numpy_hist(a, b, 6, 4))
    assert np.array_equal(pair_histogram(a, b), _numpy_hist(a, b, int(a.max()) + 1, int(b.max()) + 1))


def test_out_of_range_without_validation_is_dropped(interpret: None) -> None:
    a, b = torch.tensor([0, 1, 7, 1]), torch.tensor([0, -1, 0, 1])
    for x, y in ((a, b), (a.numpy(), b.numpy())):
        assert pair_histogram(x, y, 2, 2, validate=False).tolist() == [[1, 0], [0, 1]]


A = torch.zeros(3, 4, dtype=torch.int64)


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        ((A.float(), A), {}, "integer dtype"),
        ((A, A.bool()), {}, "integer dtype"),
        ((A, A[:, :3]), {}, "differ in shape"),
        ((A, A.numpy()), {}, "NumPy arrays or both torch"),
        ((A, A.to("meta")), {}, "is on"),
        ((A.tolist(), A), {}, "NumPy array or a torch tensor"),
        ((A - 1, A), {}, "outside"),
        ((A, A + 5, 1, 5), {}, "outside"),
        ((A.numpy() - 1, A.numpy()), {}, "outside"),
        ((A, A, -1, 2), {}, "num_a"),
        ((A, A, 2, 2.0), {}, "num_b"),
        ((A, A, 2**20, 2**20), {}, "exceed"),
        ((A, A), {"ignore_a": 1.5}, "ignore_a"),
    ],
)
def test_bad_arguments(interpret: None, args: tuple, kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        pair_histogram(*args, **kwargs)


# ------------------------------------------------------------------------------------------- mask_iou


def test_mask_iou_values() -> None:
    hist = np.array([[2, 1, 0], [0, 3, 0], [0, 0, 0]])  # id 2 of a and id 2 of b are absent
    iou = mask_iou(hist)
    assert iou.dtype == np.float64 and iou.shape == (3, 3)
    expected = np.array([[2 / 3, 1 / 6, 0], [0, 3 / 4, 0], [0, 0, 0]])  # areas a (3, 3, 0), b (2, 4, 0)
    np.testing.assert_allclose(iou, expected)
    torch_iou = mask_iou(torch.from_numpy(hist))
    assert torch_iou.dtype == torch.float32
    np.testing.assert_allclose(torch_iou.numpy(), expected, rtol=1e-6)


def test_mask_iou_ignore_equals_ignoring_pixels(interpret: None) -> None:
    a, b = _ids((6, 9), 4, 7), _ids((6, 9), 3, 8)
    full = pair_histogram(a, b, 4, 3)
    for ig_a, ig_b in ((1, None), (None, 2), (0, 0)):
        skipped = pair_histogram(a, b, 4, 3, ignore_a=ig_a, ignore_b=ig_b)
        torch.testing.assert_close(mask_iou(full, ignore_a=ig_a, ignore_b=ig_b), mask_iou(skipped))
        np.testing.assert_allclose(mask_iou(full.numpy(), ignore_a=ig_a, ignore_b=ig_b),
                                   mask_iou(skipped.numpy()))


def test_mask_iou_slice_matches_a_no_segment_convention() -> None:
    """The tracker's use: ids 0 = "no segment", IoUs of segments 1.. are the slice [1:, 1:]."""
    hist = np.array([[5, 2, 0], [1, 4, 0], [0, 3, 6]])
    area_a, area_b = hist.sum(1)[1:, None], hist.sum(0)[None, 1:]
    inter = hist[1:, 1:]
    np.testing.assert_allclose(mask_iou(hist)[1:, 1:], inter / (area_a + area_b - inter))


@pytest.mark.parametrize(
    ("hist", "kwargs", "match"),
    [
        (np.zeros(3, np.int64), {}, "2-D"),
        (np.zeros((2, 2)), {}, "integer"),
        (np.zeros((2, 2), np.int64), {"ignore_a": 2}, "ignore_a"),
        (np.zeros((2, 2), np.int64), {"ignore_b": -1}, "ignore_b"),
        ([[1]], {}, "NumPy array or a torch tensor"),
    ],
)
def test_mask_iou_bad_arguments(hist: object, kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        mask_iou(hist, **kwargs)
