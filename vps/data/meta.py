"""Typed class metadata for panoptic datasets.

A :class:`DatasetMeta` is everything downstream code needs to know about a label space: class names,
which classes are *things* (carry instance/track ids), the ignore label, the panoptic label divisor and
a colour per class. KITTI-STEP and Cityscapes share the 19 Cityscapes train-id classes; other datasets
plug in by building another ``DatasetMeta`` and registering it with :func:`register_meta`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class ClassInfo:
    """One semantic class: its train id, name, whether it is a thing, and its RGB display colour."""

    id: int
    name: str
    is_thing: bool
    color: tuple[int, int, int]


@dataclass(frozen=True)
class DatasetMeta:
    """Label space of a panoptic dataset.

    Panoptic ids are ``semantic * label_divisor + instance``; instance 0 means stuff, crowd or void.
    """

    name: str
    classes: tuple[ClassInfo, ...]
    ignore_label: int = 255
    label_divisor: int = 1000
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        ids = [c.id for c in self.classes]
        if ids != list(range(len(ids))):
            raise ValueError(f"{self.name}: class ids must be 0..N-1 in order, got {ids}")
        if self.ignore_label < len(ids):
            raise ValueError(f"{self.name}: ignore label {self.ignore_label} collides with a class id")

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def class_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.classes)

    @property
    def thing_ids(self) -> tuple[int, ...]:
        return tuple(c.id for c in self.classes if c.is_thing)

    @property
    def stuff_ids(self) -> tuple[int, ...]:
        return tuple(c.id for c in self.classes if not c.is_thing)

    def class_id(self, name: str) -> int:
        """Train id of the class called ``name`` (``KeyError`` if unknown)."""
        for c in self.classes:
            if c.name == name:
                return c.id
        raise KeyError(f"{self.name}: no class named {name!r}")

    def palette(self) -> np.ndarray:
        """[256, 3] uint8 RGB colours indexed by train id; unknown ids and the ignore label are black."""
        pal = np.zeros((256, 3), np.uint8)
        for c in self.classes:
            pal[c.id] = c.color
        return pal

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able description (used by checkpoints and export manifests)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DatasetMeta:
        classes = tuple(
            ClassInfo(int(c["id"]), str(c["name"]), bool(c["is_thing"]), tuple(c["color"]))  # type: ignore[arg-type]
            for c in d["classes"]
        )
        return cls(
            name=str(d["name"]),
            classes=classes,
            ignore_label=int(d.get("ignore_label", 255)),
            label_divisor=int(d.get("label_divisor", 1000)),
            extra=dict(d.get("extra", {})),
        )


# The 19 Cityscapes train-id classes with the official Cityscapes colours.
_CITYSCAPES_CLASSES: tuple[tuple[str, tuple[int, int, int]], ...] = (
    ("road", (128, 64, 128)),
    ("sidewalk", (244, 35, 232)),
    ("building", (70, 70, 70)),
    ("wall", (102, 102, 156)),
    ("fence", (190, 153, 153)),
    ("pole", (153, 153, 153)),
    ("traffic light", (250, 170, 30)),
    ("traffic sign", (220, 220, 0)),
    ("vegetation", (107, 142, 35)),
    ("terrain", (152, 251, 152)),
    ("sky", (70, 130, 180)),
    ("person", (220, 20, 60)),
    ("rider", (255, 0, 0)),
    ("car", (0, 0, 142)),
    ("truck", (0, 0, 70)),
    ("bus", (0, 60, 100)),
    ("train", (0, 80, 100)),
    ("motorcycle", (0, 0, 230)),
    ("bicycle", (119, 11, 32)),
)


def _cityscapes_like(name: str, thing_names: set[str]) -> DatasetMeta:
    classes = tuple(
        ClassInfo(i, n, n in thing_names, color) for i, (n, color) in enumerate(_CITYSCAPES_CLASSES)
    )
    return DatasetMeta(name=name, classes=classes, ignore_label=255, label_divisor=1000)


# KITTI-STEP: only person and car carry track ids (deeplab2's dataset definition).
KITTI_STEP = _cityscapes_like("kitti_step", {"person", "car"})
# Cityscapes panoptic: the 8 Cityscapes thing classes.
CITYSCAPES = _cityscapes_like(
    "cityscapes", {"person", "rider", "car", "truck", "bus", "train", "motorcycle", "bicycle"}
)

_REGISTRY: dict[str, DatasetMeta] = {m.name: m for m in (KITTI_STEP, CITYSCAPES)}


def register_meta(meta: DatasetMeta) -> None:
    """Make ``meta`` available to :func:`get_meta` (and thus to configs) under ``meta.name``."""
    _REGISTRY[meta.name] = meta


# data.dataset (vps.config.DataConfig) -> label space; synthetic clips use the KITTI-STEP classes
DATASET_METAS: dict[str, DatasetMeta] = {"kitti_step": KITTI_STEP, "synth": KITTI_STEP,
                                         "cityscapes": CITYSCAPES}


def meta_for_dataset(dataset: str) -> DatasetMeta:
    """The label space of a config's ``data.dataset`` (``kitti_step``, ``synth`` or ``cityscapes``)."""
    try:
        return DATASET_METAS[dataset]
    except KeyError:
        raise ValueError(f"data.dataset must be one of {tuple(DATASET_METAS)}, got {dataset!r}") from None


def get_meta(name: str) -> DatasetMeta:
    """The registered metadata called ``name`` (``kitti_step`` or ``cityscapes`` built in)."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown dataset {name!r}; known: {sorted(_REGISTRY)}") from None
