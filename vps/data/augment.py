"""Clip augmentation: one random draw per clip, applied identically to all its frames (numpy + OpenCV).

Video panoptic training conditions each frame on the previous ones, so the frames of a clip must stay
geometrically consistent: scale, crop window, flip and colour jitter are drawn once per clip
(:meth:`ClipAugment.sample`) and then applied to every frame (:meth:`ClipAugment.apply`). Panoptic maps
are only ever resampled with nearest neighbour, so no new (interpolated) panoptic id can appear; padding
uses ``ignore_label * label_divisor``. Order: scale -> crop -> photometric (real pixels only) -> pad -> flip.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np

from vps.data.clip import Clip
from vps.data.meta import KITTI_STEP, DatasetMeta

if TYPE_CHECKING:
    from vps.config import DataConfig

# RGB -> YIQ; rotating/scaling the (I, Q) chroma plane shifts hue / saturation while keeping luma.
_YIQ = np.array([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]], np.float64)
_YIQ_INV = np.linalg.inv(_YIQ)


@dataclass(frozen=True)
class AugmentParams:
    """One draw of the clip augmentation (identity: scale 1, no crop offset, no flip, factors 1, hue 0)."""

    scaled_hw: tuple[int, int]  # (H, W) after scaling
    crop_top: int
    crop_left: int
    flip: bool
    brightness: float = 1.0  # multiplicative
    contrast: float = 1.0  # around the clip's mean luma
    saturation: float = 1.0  # chroma scale
    hue: float = 0.0  # chroma rotation in radians


def resize_images(images: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """``uint8 [T, H, W, 3]`` -> ``[T, h, w, 3]`` (area filter when shrinking, bilinear otherwise)."""
    h, w = hw
    if images.shape[1:3] == (h, w):
        return images
    shrink = h <= images.shape[1] and w <= images.shape[2]
    interp = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    return np.stack([cv2.resize(im, (w, h), interpolation=interp) for im in images])


def nearest_index(n_in: int, n_out: int) -> np.ndarray:
    """Source index of each of ``n_out`` output pixels for a nearest resize (pixel-centre aligned)."""
    return np.minimum(((np.arange(n_out) + 0.5) * (n_in / n_out)).astype(np.int64), n_in - 1)


def resize_labels(panoptic: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize of ``[T, H, W]`` ids to ``[T, h, w]`` (a gather: never blends ids)."""
    rows, cols = nearest_index(panoptic.shape[1], hw[0]), nearest_index(panoptic.shape[2], hw[1])
    return panoptic[:, rows[:, None], cols[None, :]]


def resize_clip(clip: Clip, size: tuple[int, int]) -> Clip:
    """Deterministic resize of a whole clip to ``size = (H, W)`` (evaluation / network input size)."""
    if len(size) != 2 or min(size) < 1:
        raise ValueError(f"resize_clip: size must be (H, W) with positive entries, got {size}")
    hw = (int(size[0]), int(size[1]))
    images = resize_images(clip.images, hw) if clip.images is not None else None
    panoptic = resize_labels(clip.panoptic, hw) if clip.panoptic is not None else None
    return clip.with_arrays(images, panoptic)


def _pad_to(arr: np.ndarray, hw: tuple[int, int], fill: np.ndarray | int) -> np.ndarray:
    """Pad ``arr [T, h, w, ...]`` at the bottom/right with ``fill`` to ``[T, H, W, ...]`` (h <= H, w <= W)."""
    if arr.shape[1:3] == hw:
        return arr
    out = np.empty((arr.shape[0], *hw, *arr.shape[3:]), arr.dtype)
    out[...] = fill
    out[:, : arr.shape[1], : arr.shape[2]] = arr
    return out


class ClipAugment:
    """Random scale, crop (with padding), horizontal flip and photometric jitter, one draw per clip.

    Args:
        crop_size: ``(H, W)`` of the output; ``None`` keeps the scaled size (no crop, no pad).
        scale_range: ``(min, max)`` of the uniform random scale factor.
        flip_prob: probability of a horizontal flip.
        photometric: enable colour jitter (images only).
        brightness, contrast, saturation: jitter amplitude ``a``: factors uniform in ``[1 - a, 1 + a]``.
        hue: hue rotation amplitude in turns (0.05 = up to +-18 degrees).
        pad_value: RGB value of padded image pixels (0 or the dataset mean).
        meta: label space; padded label pixels get ``meta.ignore_label * meta.label_divisor``.
    """

    def __init__(
        self,
        crop_size: tuple[int, int] | None = None,
        scale_range: tuple[float, float] = (1.0, 1.0),
        flip_prob: float = 0.5,
        photometric: bool = True,
        brightness: float = 0.2,
        contrast: float = 0.2,
        saturation: float = 0.2,
        hue: float = 0.03,
        pad_value: tuple[int, int, int] = (0, 0, 0),
        meta: DatasetMeta = KITTI_STEP,
    ) -> None:
        if crop_size is not None and (len(crop_size) != 2 or min(crop_size) < 1):
            raise ValueError(f"crop_size must be (H, W) with positive entries, got {crop_size}")
        lo, hi = scale_range
        if not 0 < lo <= hi:
            raise ValueError(f"scale_range must satisfy 0 < min <= max, got {scale_range}")
        if not 0.0 <= flip_prob <= 1.0:
            raise ValueError(f"flip_prob must be in [0, 1], got {flip_prob}")
        for name, a in (("brightness", brightness), ("contrast", contrast), ("saturation", saturation)):
            if not 0.0 <= a < 1.0:
                raise ValueError(f"{name} amplitude must be in [0, 1), got {a}")
        self.crop_size = None if crop_size is None else (int(crop_size[0]), int(crop_size[1]))
        self.scale_range = (float(lo), float(hi))
        self.flip_prob, self.photometric = float(flip_prob), bool(photometric)
        self.brightness, self.contrast, self.saturation, self.hue = brightness, contrast, saturation, hue
        self.pad_value = np.array(pad_value, np.uint8)
        self.label_fill = meta.ignore_label * meta.label_divisor

    @classmethod
    def from_config(
        cls, cfg: DataConfig, crop_size: tuple[int, int] | None, meta: DatasetMeta = KITTI_STEP
    ) -> ClipAugment:
        """Training augmentation from ``cfg.scale_range``, ``cfg.flip_prob`` and ``cfg.photometric``."""
        return cls(crop_size=crop_size, scale_range=tuple(cfg.scale_range), flip_prob=cfg.flip_prob,
                   photometric=cfg.photometric, meta=meta)

    def sample(self, hw: tuple[int, int], rng: np.random.Generator) -> AugmentParams:
        """Draw the parameters for a clip of frame size ``hw = (H, W)`` (always the same draw order)."""
        s = float(rng.uniform(*self.scale_range))
        sh, sw = max(1, round(hw[0] * s)), max(1, round(hw[1] * s))
        ch, cw = self.crop_size or (sh, sw)
        top = int(rng.integers(0, max(sh, ch) - ch + 1))
        left = int(rng.integers(0, max(sw, cw) - cw + 1))
        flip = bool(rng.random() < self.flip_prob)
        u = rng.uniform(-1.0, 1.0, size=4)
        if not self.photometric:
            return AugmentParams((sh, sw), top, left, flip)
        return AugmentParams(
            (sh, sw), top, left, flip,
            brightness=1.0 + self.brightness * float(u[0]),
            contrast=1.0 + self.contrast * float(u[1]),
            saturation=1.0 + self.saturation * float(u[2]),
            hue=2.0 * math.pi * self.hue * float(u[3]),
        )

    def apply(self, clip: Clip, p: AugmentParams) -> Clip:
        """Apply one draw to every frame of ``clip`` (images and panoptic maps alike)."""
        out_hw = self.crop_size or p.scaled_hw
        (sh, sw), (ch, cw), top, left = p.scaled_hw, out_hw, p.crop_top, p.crop_left
        images, pan = clip.images, clip.panoptic
        if images is not None:
            images = resize_images(images, p.scaled_hw)[:, top:top + ch, left:left + cw]  # [T, <=ch, <=cw, 3]
            images = _pad_to(photometric(images, p), out_hw, self.pad_value)  # [T, ch, cw, 3]
            images = np.ascontiguousarray(images[:, :, ::-1] if p.flip else images)
        if pan is not None:  # nearest resize as a gather of just the crop window
            H, W = pan.shape[1:3]
            rows, cols = nearest_index(H, sh)[top:top + ch], nearest_index(W, sw)[left:left + cw]
            pan = _pad_to(pan[:, rows[:, None], cols[None, :]], out_hw, self.label_fill)  # [T, ch, cw]
            pan = np.ascontiguousarray(pan[:, :, ::-1] if p.flip else pan, dtype=np.int32)
        return clip.with_arrays(images, pan)

    def __call__(self, clip: Clip, rng: np.random.Generator) -> Clip:
        return self.apply(clip, self.sample(clip.hw, rng))


def photometric(images: np.ndarray, p: AugmentParams) -> np.ndarray:
    """Brightness, contrast (around the clip's mean luma), saturation and hue on ``uint8 [T, H, W, 3]``."""
    if (p.brightness, p.contrast, p.saturation, p.hue) == (1.0, 1.0, 1.0, 0.0):
        return images
    c, s = math.cos(p.hue), math.sin(p.hue)
    rot = np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])  # hue: rotate the (I, Q) plane
    chroma = rot * np.array([1.0, p.saturation, p.saturation])  # saturation: scale it
    M = (_YIQ_INV @ chroma @ _YIQ * p.brightness).astype(np.float32)  # [3, 3] colour transform
    x = images.astype(np.float32) @ M.T  # [T, H, W, 3]
    mean = float((x @ _YIQ[0].astype(np.float32)).mean())  # one luma mean for the whole clip
    x = (x - mean) * p.contrast + mean
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)
