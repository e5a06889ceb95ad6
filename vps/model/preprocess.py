"""Image normalisation and resizing to the model input (training; the runtime has its own frame handling).

Images: ``uint8 [B, H, W, 3]`` RGB (numpy or tensor; a single ``[H, W, 3]`` image is accepted too) ->
``float32 [B, 3, H, W]`` normalised with the ImageNet mean/std (what torchvision ResNet weights expect),
then bilinearly resized (half-pixel centres, no antialias: the same sampling as OpenCV ``INTER_LINEAR``).
Predicted labels go back to the frame size in the runtime's frame engine
(:func:`vps.runtime.frames.restore_labels`).
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
