"""Cityscapes panoptic reader (train-id variant), yielding single-frame :class:`Clip` objects (numpy only).

Layout::

    ROOT/leftImg8bit/{split}/{city}/{image_id}_leftImg8bit.png    (or directly under leftImg8bit/)
    ROOT/gtFine/cityscapes_panoptic_{split}_trainId/{file_name}    id = R + 256 G + 65536 B
    ROOT/gtFine/cityscapes_panoptic_{split}_trainId.json           COCO panoptic: annotations[].segments_info

Labels are decoded by :func:`vps.data.codecs.read_cityscapes_panoptic` (category ids are train ids;
thing instances numbered 1..N per image, crowd and stuff get instance 0, unlisted pixels the ignore label).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vps.data.clip import Clip, ClipDataset
from vps.data.codecs import read_cityscapes_panoptic, read_image, validate_panoptic
from vps.data.meta import CITYSCAPES, DatasetMeta
from vps.errors import DataError

if TYPE_CHECKING:
    from vps.data.augment import ClipAugment

_SUFFIX = "_leftImg8bit.png"


def cityscapes_splits(root: str | Path) -> list[str]:
    """Splits that have a ``gtFine/cityscapes_panoptic_{split}_trainId.json`` under ``root``."""
    gt = Path(root) / "gtFine"
    pre, post = "cityscapes_panoptic_", "_trainId.json"
    return sorted(p.name[len(pre):-len(post)] for p in gt.glob(f"{pre}*{post}")) if gt.is_dir() else []


def _find_images(root: Path, split: str) -> tuple[dict[str, Path], bool]:
    """image_id -> image path, and whether the images came from a per-split folder (not the flat layout)."""
    base = root / "leftImg8bit"
    if not base.is_dir():
        raise DataError(base, "image folder not found")
    split_dir = base / split
    if split_dir.is_dir():
        files = sorted([*split_dir.glob(f"*/*{_SUFFIX}"), *split_dir.glob(f"*{_SUFFIX}")])
    else:
        files = sorted(base.glob(f"*{_SUFFIX}"))
    return {p.name[: -len(_SUFFIX)]: p for p in files}, split_dir.is_dir()


def _load_annotations(json_path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(json_path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DataError(json_path, f"not readable JSON: {e}") from None
    anns = data.get("annotations") if isinstance(data, dict) else None
    if not isinstance(anns, list):
        raise DataError(json_path, "no 'annotations' list (expected COCO panoptic format)")
    for i, a in enumerate(anns):
        missing = [k for k in ("file_name", "image_id", "segments_info") if k not in a]
        if missing:
            raise DataError(json_path, f"annotation {i} lacks {missing}")
    return anns


def _sequence_and_frame(image_id: str, index: int) -> tuple[str, int]:
    """``aachen_000012_000019`` -> (``aachen_000012``, 19); ids of another shape -> (id, index)."""
    head, _, tail = image_id.rpartition("_")
    return (head, int(tail)) if head and tail.isdigit() else (image_id, index)


class CityscapesPanoptic(ClipDataset):
    """One :class:`Clip` with ``T = 1`` per annotated image of a Cityscapes panoptic split.

    Args:
        root: dataset root holding ``leftImg8bit/`` and ``gtFine/``.
        split: ``train``, ``val``, ... (``dummy`` for the deeplab2 test sample).
        augment: optional :class:`vps.data.augment.ClipAugment` applied by ``__getitem__``.
        meta: label space (category ids of the JSON are its train ids).
        seed: seed of the generator ``__getitem__`` uses for augmentation.
    """

    item_name = "image"

    def __init__(
        self,
        root: str | Path,
        split: str = "val",
        augment: ClipAugment | None = None,
        meta: DatasetMeta = CITYSCAPES,
        *,
        seed: int | None = None,
    ) -> None:
        self.root, self.split, self.augment, self.meta = Path(root), split, augment, meta
        if not self.root.is_dir():
            raise DataError(self.root, "dataset root not found")
        self.json_path = self.root / "gtFine" / f"cityscapes_panoptic_{split}_trainId.json"
        self.label_dir = self.root / "gtFine" / f"cityscapes_panoptic_{split}_trainId"
        for p in (self.json_path, self.label_dir):
            if not p.exists():
                raise DataError(p, f"not found (splits present: {cityscapes_splits(self.root) or 'none'})")
        self._items = self._index()
        self.rng = np.random.default_rng(seed)

    def _index(self) -> list[tuple[str, Path, Path, list[dict[str, Any]]]]:
        images, per_split = _find_images(self.root, self.split)
        items = []
        for ann in _load_annotations(self.json_path):
            image_id, label = str(ann["image_id"]), self.label_dir / str(ann["file_name"])
            if not label.is_file():
                raise DataError(label, f"label PNG of image {image_id!r} not found")
            if image_id not in images:
                raise DataError(label, f"label has no image (expected {image_id}{_SUFFIX} under "
                                       f"{self.root / 'leftImg8bit'})")
            items.append((image_id, images[image_id], label, list(ann["segments_info"])))
        listed = {it[2].name for it in items}
        for p in sorted(self.label_dir.glob("*.png")):
            if p.name not in listed:
                raise DataError(p, f"label PNG is not listed in {self.json_path.name}")
        if per_split:  # the flat layout may mix splits, a per-split folder must not hold unlabelled images
            for image_id in sorted(set(images) - {it[0] for it in items}):
                raise DataError(images[image_id], f"image has no annotation in {self.json_path.name}")
        if not items:
            raise DataError(self.json_path, "no annotations")
        return items

    def __len__(self) -> int:
        return len(self._items)

    @property
    def image_ids(self) -> list[str]:
        return [it[0] for it in self._items]

    def segments_info(self, i: int) -> list[dict[str, Any]]:
        """The JSON ``segments_info`` of item ``i`` (ids, category ids, areas, crowd flags)."""
        return self._items[i][3]

    def load(self, i: int) -> Clip:
        """Item ``i`` without augmentation: images ``[1, H, W, 3]``, panoptic ``[1, H, W]``."""
        image_id, img_path, lbl_path, segments = self._items[i]
        image = read_image(img_path)  # [H, W, 3]
        pan = read_cityscapes_panoptic(lbl_path, segments, self.meta)  # [H, W]
        validate_panoptic(pan, self.meta, lbl_path, image.shape[:2])
        seq, frame = _sequence_and_frame(image_id, i)
        return Clip(images=image[None], panoptic=pan[None].astype(np.int32), sequence=seq, frames=[frame],
                    image_paths=[img_path], label_paths=[lbl_path])

    def load_item(self, i: int) -> Clip:
        return self.load(i)
