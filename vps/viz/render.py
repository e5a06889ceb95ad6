"""Turn (image, prediction, ground truth) into one display frame: single views and titled panels."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from vps.data.meta import DatasetMeta
from vps.viz.colorize import instance_colors, overlay, panoptic_colors, semantic_colors

MODES = ("overlay", "panoptic", "semantic", "instance", "panel", "image")
TITLE_BG = (32, 32, 32)


def render_frame(
    mode: str,
    meta: DatasetMeta,
    image: np.ndarray | None = None,
    pan: np.ndarray | None = None,
    gt: np.ndarray | None = None,
    alpha: float = 0.5,
) -> np.ndarray:
    """One ``uint8 [H, W, 3]`` frame for ``mode`` (see :data:`MODES`).

    ``panel`` shows image | ``pan`` | ``gt`` side by side (tiles that are None are left out; ``pan`` is
    titled "prediction" when ``gt`` is given, "labels" otherwise); the other modes show one view. A mode
    whose input is missing raises ``ValueError``.
    """
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; choose from {', '.join(MODES)}")
    if mode == "image":
        return _need(image, "image", mode)
    if mode == "panel":
        tiles = [("image", image)] if image is not None else []
        labelled = (("prediction" if gt is not None else "labels", pan), ("ground truth", gt))
        tiles += [(title, panoptic_colors(p, meta)) for title, p in labelled if p is not None]
        if not tiles:
            raise ValueError("panel mode needs an image or panoptic maps")
        return panel(tiles)
    pan = _need(pan, "panoptic maps", mode)
    if mode == "overlay":
        return overlay(_need(image, "images", mode), pan, meta, alpha)
    if mode == "semantic":
        return semantic_colors(pan, meta)
    if mode == "instance":
        return instance_colors(pan, meta)
    return panoptic_colors(pan, meta)


def _need(x: np.ndarray | None, what: str, mode: str) -> np.ndarray:
    if x is None:
        raise ValueError(f"mode {mode!r} needs {what}, but none were found")
    return x


def panel(tiles: Sequence[tuple[str, np.ndarray]], gap: int = 4) -> np.ndarray:
    """Tiles side by side at the first tile's height, each under a small title bar."""
    h = tiles[0][1].shape[0]
    bar = max(14, h // 16)  # title bar height
    cols = []
    for title, img in tiles:
        if img.shape[0] != h:
            img = cv2.resize(img, (max(1, round(img.shape[1] * h / img.shape[0])), h),
                             interpolation=cv2.INTER_NEAREST)
        col = np.empty((h + bar, img.shape[1], 3), np.uint8)
        col[:bar] = TITLE_BG
        col[bar:] = img
        scale = bar / 28.0
        cv2.putText(col, title, (4, int(bar * 0.75)), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255),
                    max(1, round(scale * 1.5)), cv2.LINE_AA)
        cols.append(col)
    sep = np.zeros((h + bar, gap, 3), np.uint8)
    parts = [cols[0]]
    for col in cols[1:]:
        parts += [sep, col]
    return np.concatenate(parts, axis=1)


def fit_frame(frame: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """Letterbox ``frame`` into ``hw = (H, W)``: scale to fit keeping the aspect ratio, pad with black."""
    H, W = hw
    h, w = frame.shape[:2]
    if (h, w) == (H, W):
        return frame
    s = min(H / h, W / w)
    nh, nw = max(1, min(H, round(h * s))), max(1, min(W, round(w * s)))
    resized = cv2.resize(frame, (nw, nh), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    out = np.zeros((H, W, 3), np.uint8)
    top, left = (H - nh) // 2, (W - nw) // 2
    out[top:top + nh, left:left + nw] = resized
    return out
