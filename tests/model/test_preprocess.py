"""Image normalisation and resizing (training)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vps.model.preprocess import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    normalize_images,
    resize_images,
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


def test_resize_images() -> None:
    x = torch.arange(16.0).view(1, 1, 4, 4)
    assert resize_images(x, (4, 4)) is x
    assert resize_images(x, (2, 8)).shape == (1, 1, 2, 8)
