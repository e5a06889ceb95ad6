"""Image normalisation and nearest label resizing."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from vps.model.preprocess import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    normalize_images,
    resize_images,
    resize_labels_nearest,
)


def test_normalize_images_numpy_and_tensor() -> None:
    img = np.zeros((2, 4, 5, 3), np.uint8)
    img[..., 0] = 255
    out = normalize_images(img)
    assert out.shape == (2, 3, 4, 5) and out.dtype == torch.float32
    assert out[0, 0, 0, 0].item() == pytest.approx((1 - IMAGENET_MEAN[0]) / IMAGENET_STD[0], rel=1e-6)
    assert out[0, 2, 0, 0].item() == pytest.approx(-IMAGENET_MEAN[2] / IMAGENET_STD[2], rel=1e-6)
    torch.testing.assert_close(normalize_images(torch.from_numpy(img[0])), out[:1])
    with pytest.raises(ValueError, match="uint8"):
        normalize_images(img.astype(np.float32))
    with pytest.raises(ValueError, match="RGB"):
        normalize_images(np.zeros((4, 5), np.uint8))


@pytest.mark.parametrize("size", [(7, 9), (24, 40), (10, 10)])
def test_resize_labels_matches_torch_nearest(size: tuple[int, int]) -> None:
    rng = np.random.default_rng(0)
    lab = rng.integers(0, 255_255, (2, 10, 10)).astype(np.int32)
    out = resize_labels_nearest(lab, size)
    assert isinstance(out, np.ndarray) and out.dtype == np.int32 and out.shape == (2, *size)
    ref = F.interpolate(torch.from_numpy(lab)[:, None].double(), size=size, mode="nearest")[:, 0]
    np.testing.assert_array_equal(out, ref.numpy().astype(np.int32))
    big = torch.full((3, 3), 2**40, dtype=torch.int64)
    assert bool((resize_labels_nearest(big, (5, 4)) == 2**40).all())  # exact beyond float precision
    with pytest.raises(ValueError, match="integers"):
        resize_labels_nearest(torch.zeros(3, 3), (2, 2))


def test_resize_images() -> None:
    x = torch.arange(16.0).view(1, 1, 4, 4)
    assert resize_images(x, (4, 4)) is x
    assert resize_images(x, (2, 8)).shape == (1, 1, 2, 8)
