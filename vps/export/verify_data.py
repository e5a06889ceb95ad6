"""Sample clips for export verification: fresh synthetic clips, or a KITTI-STEP folder (``--verify-data``).

Synthetic clips come from :func:`vps.data.synth.generate_sequence` with :data:`VERIFY_SEED` and the split
name ``"verify"``, which no training run uses (the synthetic train/val splits are drawn from other
split names, so even an equal seed gives different clips), rendered directly at the network input size.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vps.data.meta import DatasetMeta
from vps.errors import DataError

VERIFY_SEED = 4242
VERIFY_SPLIT = "verify"


@dataclass(frozen=True)
class VerifyClip:
    """One clip: RGB frames ``uint8 [H, W, 3]`` and their ground truth ``int32 [H, W]`` (or None)."""

    name: str
    images: tuple[np.ndarray, ...]
    panoptic: tuple[np.ndarray | None, ...]

    def __len__(self) -> int:
        return len(self.images)


def synthetic_clips(count: int, frames: int, size: tuple[int, int],
                    seed: int = VERIFY_SEED) -> list[VerifyClip]:
    """``count`` fresh synthetic clips of ``frames`` frames at ``size`` (H, W)."""
    from vps.data.synth import generate_sequence

    if count < 1 or frames < 1:
        raise ValueError(f"need at least one verification clip and frame, got {count} x {frames}")
    clips = []
    for k in range(count):
        images, pans = generate_sequence(seed, frames, size, sequence=k, split=VERIFY_SPLIT)
        clips.append(VerifyClip(f"synth{k:04d}", tuple(images), tuple(pans)))
    return clips


def kitti_clips(root: str | Path, meta: DatasetMeta, count: int, frames: int,
                split: str | None = None) -> list[VerifyClip]:
    """The first ``count`` sequences (first ``frames`` frames each) of a KITTI-STEP folder."""
    from vps.data.kitti_step import KittiStep, available_splits

    root = Path(root)
    if not root.is_dir():
        raise DataError(root, "--verify-data folder not found")
    if split is None:
        splits = available_splits(root)
        if not splits:
            raise DataError(root, "no images/{split}/ folder (expected the KITTI-STEP layout)")
        split = "val" if "val" in splits else splits[0]
    labels = (root / "panoptic_maps" / split).is_dir()
    data = KittiStep(root, split, clip_len=1, meta=meta, labels=labels)
    clips = []
    for seq in data.sequences[:count]:
        images, pans = [], []
        for f in data.frame_numbers(seq)[:frames]:
            image, pan = data.load_frame(seq, f)
            images.append(image)
            pans.append(pan)
        clips.append(VerifyClip(f"{split}/{seq}", tuple(images), tuple(pans)))
    if not clips:
        raise DataError(root / "images" / split, "no sequences found")
    return clips
