"""Image normalisation and resizing to the model / mask resolution (labels: nearest only).

Images: ``uint8 [B, H, W, 3]`` RGB (numpy or tensor; a single ``[H, W, 3]`` image is accepted too) ->
``float32 [B, 3, H, W]`` normalised with the ImageNet mean/std (what torchvision ResNet weights expect),
then bilinearly resized (half-pixel centres, no antialias: the same sampling as OpenCV ``INTER_LINEAR``).
Labels are resized with the exact index rule of ``torch.nn.functional.interpolate(mode="nearest")`` so ids
are never blended, for any integer dtype.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _as_tensor(x: np.ndarray | Tensor, device: torch.device | str | None = None) -> Tensor:
    t = torch.from_numpy(np.ascontiguousarray(x)) if isinstance(x, np.ndarray) else x
    return t if device is None else t.to(device, non_blocking=True)


def normalize_images(images: np.ndarray | Tensor, device: torch.device | str | None = None) -> Tensor:
    """``uint8 [B, H, W, 3]`` (or ``[H, W, 3]``) RGB -> ``float32 [B, 3, H, W]`` ImageNet-normalised."""
    t = _as_tensor(images, device)
    if t.dim() == 3:
        t = t.unsqueeze(0)
    if t.dim() != 4 or t.shape[-1] != 3:
        raise ValueError(f"images must be [B, H, W, 3] (or [H, W, 3]) RGB, got shape {tuple(t.shape)}")
    if t.dtype != torch.uint8:
        raise ValueError(f"images must be uint8, got {t.dtype}")
    x = t.permute(0, 3, 1, 2).float().div_(255.0)  # [B, 3, H, W]
    mean = torch.tensor(IMAGENET_MEAN, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=x.device).view(1, 3, 1, 1)
    return ((x - mean) / std).contiguous()


def resize_images(images: Tensor, size: tuple[int, int]) -> Tensor:
    """Bilinear resize of ``float [B, C, H, W]`` to ``size = (H', W')`` (no-op when already that size)."""
    if images.dim() != 4:
        raise ValueError(f"images must be [B, C, H, W], got shape {tuple(images.shape)}")
    if tuple(images.shape[-2:]) == tuple(size):
        return images
    return F.interpolate(images, size=tuple(size), mode="bilinear", align_corners=False, antialias=False)


def nearest_indices(n_in: int, n_out: int, device: torch.device | str | None = None) -> Tensor:
    """Source index per output index, exactly as ``F.interpolate(mode="nearest")`` picks them."""
    src = torch.arange(n_in, device=device, dtype=torch.float32).view(1, 1, n_in)
    return F.interpolate(src, size=n_out, mode="nearest").view(n_out).long()


def resize_labels_nearest(labels: np.ndarray | Tensor, size: tuple[int, int]) -> np.ndarray | Tensor:
    """Nearest resize of integer labels ``[..., h, w]`` to ``size`` (numpy in -> numpy out, same dtype)."""
    is_np = isinstance(labels, np.ndarray)
    t = _as_tensor(labels)
    if t.dim() < 2:
        raise ValueError(f"labels must be [..., h, w], got shape {tuple(t.shape)}")
    if t.is_floating_point():
        raise ValueError(f"labels must be integers, got {t.dtype}")
    h, w = t.shape[-2:]
    if (h, w) != tuple(size):
        rows = nearest_indices(h, size[0], t.device)
        cols = nearest_indices(w, size[1], t.device)
        t = t.index_select(-2, rows).index_select(-1, cols)
    return t.numpy() if is_np else t
