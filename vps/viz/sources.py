"""Find the frames to render in a folder: KITTI-STEP layout, Cityscapes panoptic, or plain image folders.

:func:`open_source` looks at a folder and returns a :class:`Source`: an ordered list of (sequence, frame)
keys and a loader giving the image, the folder's panoptic map and the ground-truth map of each key.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vps.data.cityscapes import CityscapesPanoptic, cityscapes_splits
from vps.data.codecs import read_image
from vps.data.kitti_step import IMAGE_SUFFIXES, KittiStep, available_splits
from vps.data.meta import CITYSCAPES, KITTI_STEP, DatasetMeta
from vps.errors import DataError


@dataclass
class Frame:
    """What one output frame is made of (any part may be missing)."""

    sequence: str
    frame: int
    image: np.ndarray | None  # uint8 [H, W, 3]
    pan: np.ndarray | None  # int32 [H, W], the folder's labels / predictions
    gt: np.ndarray | None = None  # int32 [H, W], --gt labels


@dataclass
class Source:
    """Frames of a folder in display order; ``load(i)`` reads frame ``i``."""

    kind: str  # kitti_step | cityscapes | images
    meta: DatasetMeta
    keys: list[tuple[str, int]]
    load: Callable[[int], Frame]
    has_images: bool
    has_labels: bool
    has_gt: bool = False

    def __len__(self) -> int:
        return len(self.keys)


def open_source(
    folder: str | Path,
    split: str | None = None,
    images: str | Path | None = None,
    gt: str | Path | None = None,
    sequence: str | None = None,
) -> Source:
    """Pick the reader for ``folder``; ``images`` / ``gt`` are KITTI-STEP roots (extra images, GT labels)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(folder, "folder not found")
    if (folder / "images").is_dir() or (folder / "panoptic_maps").is_dir():
        return _kitti_source(folder, split, images, gt, sequence)
    if (folder / "gtFine").is_dir() or (folder / "leftImg8bit").is_dir():
        if gt is not None or images is not None:
            raise ValueError("--gt and --images apply to KITTI-STEP folders only")
        return _cityscapes_source(folder, split, sequence)
    return _image_folder_source(folder, sequence)


def _pick_split(split: str | None, found: list[str], folder: Path) -> str:
    if split is not None:
        return split
    if len(found) == 1:
        return found[0]
    raise DataError(folder, f"found splits {found or 'none'}; pass --split")


def _kitti_source(
    folder: Path, split: str | None, images: str | Path | None, gt: str | Path | None, sequence: str | None
) -> Source:
    found = available_splits(folder)
    split = _pick_split(split, found, folder)
    has_labels = (folder / "panoptic_maps" / split).is_dir()
    candidates = [Path(images)] if images is not None else [folder] + ([Path(gt)] if gt is not None else [])
    image_root = next((r for r in candidates if (r / "images" / split).is_dir()), None)
    if images is not None and image_root is None:
        raise DataError(Path(images) / "images" / split, "image folder not found")
    if not has_labels and image_root is None:
        raise DataError(folder / "panoptic_maps" / split,
                        f"neither labels nor images for this split (splits present: {found or 'none'})")
    ds = KittiStep(folder, split, clip_len=1, meta=KITTI_STEP, sequences=[sequence] if sequence else None,
                   labels=has_labels, images=image_root is not None,
                   image_root=None if image_root == folder else image_root)
    gt_ds = KittiStep(gt, split, clip_len=1, labels=True, images=False) if gt is not None else None
    keys = [(s, f) for s in ds.sequences for f in ds.frame_numbers(s)]

    def load(i: int) -> Frame:
        seq, f = keys[i]
        image, pan = ds.load_frame(seq, f)
        gt_pan = None
        if gt_ds is not None:
            if seq not in gt_ds.sequences or f not in gt_ds.frame_numbers(seq):
                assert gt_ds.label_dir is not None
                raise DataError(gt_ds.label_dir / seq / f"{f:06d}.png", "ground-truth frame missing")
            gt_pan = gt_ds.load_frame(seq, f)[1]
        return Frame(seq, f, image, pan, gt_pan)

    return Source("kitti_step", KITTI_STEP, keys, load, image_root is not None, has_labels, gt_ds is not None)


def _cityscapes_source(folder: Path, split: str | None, sequence: str | None) -> Source:
    ds = CityscapesPanoptic(folder, _pick_split(split, cityscapes_splits(folder), folder / "gtFine"))
    ids = ds.image_ids
    index = [i for i, image_id in enumerate(ids) if sequence is None or image_id.startswith(sequence)]
    if not index:
        raise ValueError(f"no image of sequence {sequence!r} in {folder}")

    def load(i: int) -> Frame:
        clip = ds.load(index[i])
        assert clip.images is not None and clip.panoptic is not None
        return Frame(clip.sequence, clip.frames[0], clip.images[0], clip.panoptic[0])

    keys = [(image_id, 0) for image_id in (ds.image_ids[i] for i in index)]
    return Source("cityscapes", CITYSCAPES, keys, load, True, True)


def _image_folders(folder: Path, max_depth: int = 3) -> list[Path]:
    """``folder`` and its sub-folders (to ``max_depth``) that directly hold image files, sorted."""
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        if len(here.relative_to(folder).parts) >= max_depth:
            dirnames[:] = []
        if any(Path(n).suffix.lower() in IMAGE_SUFFIXES and not n.startswith(".") for n in filenames):
            found.append(here)
    return sorted(found)


def _image_folder_source(folder: Path, sequence: str | None) -> Source:
    dirs = _image_folders(folder)
    if not dirs:
        raise DataError(folder, "no KITTI-STEP layout (images/, panoptic_maps/), no Cityscapes layout "
                                "(leftImg8bit/, gtFine/) and no image files found")
    files: list[tuple[str, int, Path]] = []
    for d in dirs:
        name = d.name if d == folder else d.relative_to(folder).as_posix()
        if sequence is not None and name != sequence:
            continue
        imgs = sorted(p for p in d.iterdir()
                      if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".") and p.is_file())
        numeric = all(p.stem.isdigit() for p in imgs)
        imgs = sorted(imgs, key=lambda p: int(p.stem)) if numeric else imgs
        files += [(name, int(p.stem) if numeric else k, p) for k, p in enumerate(imgs)]
    if not files:
        names = [d.name if d == folder else d.relative_to(folder).as_posix() for d in dirs]
        raise ValueError(f"no sequence {sequence!r} in {folder}; available: {names}")

    def load(i: int) -> Frame:
        seq, f, p = files[i]
        return Frame(seq, f, read_image(p), None)

    return Source("images", KITTI_STEP, [(s, f) for s, f, _ in files], load, True, False)
