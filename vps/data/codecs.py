"""Image and panoptic-PNG codecs, with errors that name the offending file.

Panoptic maps are always held in memory as ``int32 [H, W]`` arrays of ``semantic * divisor + instance``
(divisor 1000 for KITTI-STEP and Cityscapes). On disk:

* KITTI-STEP: RGB PNG with R = semantic id, G = instance // 256, B = instance % 256.
* Cityscapes panoptic (COCO-panoptic style): RGB PNG with segment id = R + 256 G + 65536 B, and a JSON
  ``segments_info`` list mapping each segment id to a category (train id here) and a crowd flag.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from vps.data.meta import KITTI_STEP, DatasetMeta
from vps.errors import DataError
from vps.quiet import native_to_log


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temp file in the same folder and a rename (never half a file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        umask = os.umask(0)  # mkstemp creates 0600; give the file the permissions open() would
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _imread(path: str | Path, flags: int) -> np.ndarray:
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "file not found")
    buf = np.fromfile(path, dtype=np.uint8)
    if buf.size == 0:
        raise DataError(path, "file is empty")
    with native_to_log(str(path)):  # libpng's warnings go to the log, not the terminal
        img = cv2.imdecode(buf, flags)
    if img is None:
        raise DataError(path, "not a readable image (corrupt or truncated?)")
    return img


def read_image(path: str | Path) -> np.ndarray:
    """Read an image as ``uint8 [H, W, 3]`` RGB; grayscale files are expanded to three channels."""
    img = _imread(path, cv2.IMREAD_UNCHANGED)
    if img.dtype != np.uint8:
        raise DataError(path, f"expected an 8-bit image, got {img.dtype}")
    if img.ndim == 2:
        return np.repeat(img[:, :, None], 3, axis=2)
    if img.shape[2] == 4:
        img = img[:, :, :3]
    if img.shape[2] != 3:
        raise DataError(path, f"expected 1, 3 or 4 channels, got {img.shape[2]}")
    return np.ascontiguousarray(img[:, :, ::-1])


def write_image(path: str | Path, rgb: np.ndarray) -> None:
    """Write a ``uint8 [H, W, 3]`` RGB image (PNG or JPEG by suffix), atomically."""
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"write_image({path}): expected uint8 [H, W, 3], got {rgb.dtype} {rgb.shape}")
    ok, enc = cv2.imencode(Path(path).suffix or ".png", np.ascontiguousarray(rgb[:, :, ::-1]))
    if not ok:
        raise DataError(path, "OpenCV could not encode the image")
    atomic_write_bytes(path, enc.tobytes())


def validate_panoptic(
    panoptic: np.ndarray, meta: DatasetMeta, where: str | Path, expected_hw: Sequence[int] | None = None
) -> None:
    """Check that every semantic id is a class of ``meta`` or its ignore label; raise ``DataError``."""
    if expected_hw is not None and tuple(panoptic.shape[:2]) != tuple(expected_hw):
        raise DataError(where, f"label size {panoptic.shape[1]}x{panoptic.shape[0]} (WxH) does not match "
                               f"image size {expected_hw[1]}x{expected_hw[0]}")
    sem = panoptic // meta.label_divisor
    bad = (sem >= meta.num_classes) & (sem != meta.ignore_label)
    if bad.any():
        values = np.unique(sem[bad])[:8].tolist()
        raise DataError(where, f"semantic ids {values} out of range (0..{meta.num_classes - 1} or "
                               f"{meta.ignore_label} for ignore)")


def read_kitti_panoptic(
    path: str | Path, meta: DatasetMeta = KITTI_STEP, expected_hw: Sequence[int] | None = None
) -> np.ndarray:
    """Read a KITTI-STEP panoptic PNG into ``int32 [H, W]`` panoptic ids, validated against ``meta``."""
    img = _imread(path, cv2.IMREAD_UNCHANGED)
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        shape = img.shape[2] if img.ndim == 3 else 1
        raise DataError(path, f"KITTI-STEP label must be an 8-bit 3-channel PNG, got {shape} channel(s) "
                              f"of {img.dtype}")
    b, g, r = (img[:, :, i].astype(np.int32) for i in range(3))
    panoptic = r * meta.label_divisor + g * 256 + b
    validate_panoptic(panoptic, meta, path, expected_hw)
    return panoptic


def encode_kitti_panoptic(panoptic: np.ndarray, label_divisor: int = 1000) -> np.ndarray:
    """``int [H, W]`` panoptic ids to the ``uint8 [H, W, 3]`` RGB KITTI-STEP encoding."""
    panoptic = np.asarray(panoptic)
    if panoptic.ndim != 2 or panoptic.size == 0:
        raise ValueError(f"panoptic map must be a non-empty 2-D [H, W] array, got shape {panoptic.shape}")
    if not (np.issubdtype(panoptic.dtype, np.integer) or panoptic.dtype == np.bool_):
        raise ValueError(f"panoptic map must hold integers, got {panoptic.dtype}")
    if not 2 <= label_divisor <= 65536:
        raise ValueError(f"label_divisor must lie in 2..65536 (the instance is stored in G * 256 + B), got "
                         f"{label_divisor}")
    panoptic = panoptic.astype(np.int64)
    sem, inst = panoptic // label_divisor, panoptic % label_divisor
    if sem.min(initial=0) < 0 or sem.max(initial=0) > 255:
        raise ValueError("semantic ids must lie in 0..255 to be stored in a KITTI-STEP PNG")
    return np.stack([sem, inst // 256, inst % 256], axis=-1).astype(np.uint8)


def write_kitti_panoptic(path: str | Path, panoptic: np.ndarray, label_divisor: int = 1000) -> None:
    """Write ``int [H, W]`` panoptic ids as a KITTI-STEP PNG, atomically."""
    rgb = encode_kitti_panoptic(panoptic, label_divisor)
    ok, enc = cv2.imencode(".png", np.ascontiguousarray(rgb[:, :, ::-1]))
    if not ok:
        raise DataError(path, "OpenCV could not encode the label PNG")
    atomic_write_bytes(path, enc.tobytes())


def read_cityscapes_panoptic(
    path: str | Path, segments_info: list[dict[str, Any]], meta: DatasetMeta
) -> np.ndarray:
    """Read a Cityscapes/COCO panoptic PNG plus its ``segments_info`` into ``int32 [H, W]`` panoptic ids.

    ``category_id`` is taken as the train id (the ``*_trainId`` panoptic variant). Non-crowd thing
    segments get instance ids 1..N in segment order; stuff and crowd get instance 0; pixels that belong to
    no listed segment get the ignore label.
    """
    img = _imread(path, cv2.IMREAD_UNCHANGED)
    if img.ndim != 3 or img.shape[2] != 3:
        raise DataError(path, "Cityscapes panoptic label must be a 3-channel PNG")
    bgr = img.astype(np.int64)
    seg = bgr[:, :, 2] + 256 * bgr[:, :, 1] + 65536 * bgr[:, :, 0]  # id = R + 256 G + 65536 B
    out = np.full(seg.shape, meta.ignore_label * meta.label_divisor, np.int32)
    next_instance = 1
    for info in segments_info:
        cat = int(info["category_id"])
        if not 0 <= cat < meta.num_classes:
            raise DataError(path, f"segment {info['id']}: category {cat} not in 0..{meta.num_classes - 1}")
        inst = 0
        if meta.classes[cat].is_thing and not info.get("iscrowd", 0):
            inst, next_instance = next_instance, next_instance + 1
        out[seg == int(info["id"])] = cat * meta.label_divisor + inst
    return out
