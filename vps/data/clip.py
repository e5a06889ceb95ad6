"""The :class:`Clip` record every dataset yields: a few consecutive frames of one sequence.

Datasets are torch-free; training code converts a ``Clip`` to tensors itself. ``images`` or ``panoptic``
is ``None`` only when the caller asked the dataset for labels-only or images-only data (offline inference,
visualisation of prediction folders); training always gets both.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class Clip:
    """``T`` frames of one sequence.

    Attributes:
        images: ``uint8 [T, H, W, 3]`` RGB, or ``None`` for a labels-only dataset.
        panoptic: ``int32 [T, H, W]`` ids ``semantic * label_divisor + instance``, or ``None`` without labels.
        sequence: sequence name (KITTI-STEP folder name such as ``"0002"``; Cityscapes ``city_seq``).
        frames: frame number of each of the ``T`` frames (from the file names).
        image_paths / label_paths: the source files (empty when not applicable), for error messages and
            for writing predictions under the same names.
    """

    images: np.ndarray | None
    panoptic: np.ndarray | None
    sequence: str
    frames: list[int]
    image_paths: list[Path] = field(default_factory=list)
    label_paths: list[Path] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.images is None and self.panoptic is None:
            raise ValueError("Clip needs images, panoptic maps or both")
        t = len(self.frames)
        if self.images is not None and (
            self.images.dtype != np.uint8 or self.images.ndim != 4 or self.images.shape[3] != 3
            or self.images.shape[0] != t
        ):
            raise ValueError(f"Clip.images must be uint8 [T={t}, H, W, 3], got {self.images.dtype} "
                             f"{self.images.shape}")
        if self.panoptic is not None and (
            self.panoptic.dtype != np.int32 or self.panoptic.ndim != 3 or self.panoptic.shape[0] != t
        ):
            raise ValueError(f"Clip.panoptic must be int32 [T={t}, H, W], got {self.panoptic.dtype} "
                             f"{self.panoptic.shape}")
        if (self.images is not None and self.panoptic is not None
                and self.images.shape[1:3] != self.panoptic.shape[1:3]):
            raise ValueError(f"Clip images {self.images.shape[1:3]} and panoptic {self.panoptic.shape[1:3]} "
                             "differ in size")

    @property
    def num_frames(self) -> int:
        return len(self.frames)

    @property
    def hw(self) -> tuple[int, int]:
        """(H, W) of the frames."""
        arr = self.images if self.images is not None else self.panoptic
        assert arr is not None
        return int(arr.shape[1]), int(arr.shape[2])

    def with_arrays(self, images: np.ndarray | None, panoptic: np.ndarray | None) -> Clip:
        """A copy with new pixel arrays (same sequence, frames and paths); used by augmentation."""
        return dataclasses.replace(self, images=images, panoptic=panoptic)


class ClipDataset(ABC):
    """Shared indexing and augmentation of the clip datasets (KITTI-STEP, Cityscapes).

    Subclasses set ``self.augment`` (a callable ``(Clip, Generator) -> Clip`` or ``None``) and ``self.rng``,
    and implement ``__len__`` and :meth:`load_item` (the un-augmented item ``i``, ``0 <= i < len``).
    """

    augment: Callable[[Clip, np.random.Generator], Clip] | None
    rng: np.random.Generator
    item_name = "item"

    @abstractmethod
    def __len__(self) -> int:
        """Number of items."""

    @abstractmethod
    def load_item(self, i: int) -> Clip:
        """The un-augmented item ``i`` (``0 <= i < len(self)``)."""

    def get(self, i: int, rng: np.random.Generator | None = None) -> Clip:
        """Item ``i``, augmented with ``rng`` (``self.rng`` when None) if an augmenter was given."""
        if not -len(self) <= i < len(self):
            raise IndexError(f"{self.item_name} index {i} out of range for {len(self)} {self.item_name}s")
        clip = self.load_item(i % len(self))
        if self.augment is not None:
            clip = self.augment(clip, self.rng if rng is None else rng)
        return clip

    def __getitem__(self, i: int) -> Clip:
        return self.get(i)

    def reseed(self, seed: int) -> None:
        """Reset the augmentation generator (call from a DataLoader ``worker_init_fn`` so workers differ)."""
        self.rng = np.random.default_rng(seed)
