"""Colour maps for panoptic predictions: semantic, instance/track, panoptic, overlays and boundaries.

Every function takes ``int [H, W]`` panoptic ids (``semantic * label_divisor + instance``) and returns
``uint8 [H, W, 3]`` RGB. Instance colours come from a hash of the panoptic id (not from the order in
which ids appear), so a track keeps its colour across frames, sequences and runs.
"""

from __future__ import annotations

import colorsys

import numpy as np

from vps.data.meta import DatasetMeta

BOUNDARY_COLOR = (255, 255, 255)


def hash_ids(ids: np.ndarray) -> np.ndarray:
    """Well-mixed ``uint32`` hash of integer ids (murmur3 finaliser), identical on every platform."""
    h = ids.astype(np.uint64) & np.uint64(0xFFFFFFFF)
    h ^= h >> np.uint64(16)
    h = (h * np.uint64(0x85EBCA6B)) & np.uint64(0xFFFFFFFF)
    h ^= h >> np.uint64(13)
    h = (h * np.uint64(0xC2B2AE35)) & np.uint64(0xFFFFFFFF)
    h ^= h >> np.uint64(16)
    return h.astype(np.uint32)


def id_colors(ids: np.ndarray) -> np.ndarray:
    """``[N]`` ids -> ``uint8 [N, 3]`` bright, saturated colours (hue, saturation, value from the hash)."""
    out = np.empty((len(ids), 3), np.uint8)
    for i, h in enumerate(hash_ids(np.asarray(ids)).tolist()):
        hue = (h & 0xFFFF) / 65536.0
        sat = 0.55 + 0.45 * ((h >> 16) & 0xFF) / 255.0
        val = 0.70 + 0.30 * ((h >> 24) & 0xFF) / 255.0
        out[i] = [round(255 * c) for c in colorsys.hsv_to_rgb(hue, sat, val)]
    return out


def semantic_colors(pan: np.ndarray, meta: DatasetMeta) -> np.ndarray:
    """Class colours from ``meta.palette()``; the ignore label and unknown classes are black."""
    sem = np.clip(pan // meta.label_divisor, 0, 255)
    return meta.palette()[sem]  # [H, W, 3]


def instance_colors(pan: np.ndarray, meta: DatasetMeta) -> np.ndarray:
    """A stable hashed colour per instance/track (pixels with instance > 0); everything else black."""
    ids, inverse = np.unique(pan, return_inverse=True)
    colours = id_colors(ids)
    colours[ids % meta.label_divisor == 0] = 0
    return colours[inverse.reshape(-1)].reshape(*pan.shape, 3)


def panoptic_colors(pan: np.ndarray, meta: DatasetMeta, boundaries: bool = True) -> np.ndarray:
    """Class colour, shaded per instance by a hashed offset of up to +-48 per channel, plus boundaries."""
    ids, inverse = np.unique(pan, return_inverse=True)
    sem = np.clip(ids // meta.label_divisor, 0, 255)
    colours = meta.palette()[sem].astype(np.int16)  # [N, 3]
    things = ids % meta.label_divisor > 0
    if things.any():
        offset = (id_colors(ids[things]).astype(np.int16) - 128) * 48 // 128
        colours[things] = colours[things] + offset
    out = np.clip(colours, 0, 255).astype(np.uint8)[inverse.reshape(-1)].reshape(*pan.shape, 3)
    if boundaries:
        out[boundary_mask(pan)] = BOUNDARY_COLOR
    return out


def boundary_mask(pan: np.ndarray, thickness: int = 1) -> np.ndarray:
    """``bool [H, W]``: pixels whose right or lower neighbour has another id, grown to ``thickness``."""
    edge = np.zeros(pan.shape, bool)
    dx = pan[:, 1:] != pan[:, :-1]
    dy = pan[1:, :] != pan[:-1, :]
    edge[:, :-1] |= dx
    edge[:-1, :] |= dy
    for _ in range(thickness - 1):
        grown = edge.copy()
        grown[1:] |= edge[:-1]
        grown[:, 1:] |= edge[:, :-1]
        edge = grown
    return edge


def overlay(
    image: np.ndarray, pan: np.ndarray, meta: DatasetMeta, alpha: float = 0.5, boundaries: bool = True
) -> np.ndarray:
    """Blend panoptic colours over ``image [H, W, 3]``; ignore pixels keep the image, boundaries drawn."""
    if image.shape[:2] != pan.shape:
        raise ValueError(f"overlay: image {image.shape[:2]} and panoptic {pan.shape} differ in size")
    colours = panoptic_colors(pan, meta, boundaries=False)
    labelled = (pan // meta.label_divisor != meta.ignore_label)[..., None]  # [H, W, 1]
    blend = image.astype(np.float32) * (1 - alpha) + colours.astype(np.float32) * alpha
    out = np.where(labelled, np.rint(blend), image).astype(np.uint8)
    if boundaries:
        out[boundary_mask(pan, thickness=max(1, min(pan.shape) // 300))] = BOUNDARY_COLOR
    return out
