"""The clip a benchmark streams: a fresh synthetic clip with ground truth, or frames read from ``--input``.

All frames are decoded into memory before timing starts (``uint8 [H, W, 3]`` RGB), so disk and video
decoding never count as latency. Synthetic clips come from :func:`vps.data.synth.generate_sequence` with
the split name ``"bench"`` (no training run draws clips from it), rendered at the requested size. For
``--input`` the first sequence of the source (:func:`vps.runtime.sources.open_source`: video file, image
folder or KITTI-STEP root) is used; a KITTI-STEP root's ``panoptic_maps`` give the ground truth for STQ.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vps.data.meta import DatasetMeta
from vps.errors import DataError

BENCH_SPLIT = "bench"


@dataclass(frozen=True)
class BenchClip:
    """One sequence: RGB frames ``uint8 [H, W, 3]`` and ground truth ``int32 [H, W]`` (or ``None``)."""

    name: str
    frames: tuple[np.ndarray, ...]
    gt: tuple[np.ndarray | None, ...]
    source: str  # one line: where the frames come from

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def size(self) -> tuple[int, int]:
        return int(self.frames[0].shape[0]), int(self.frames[0].shape[1])

    @property
    def has_gt(self) -> bool:
        return all(g is not None for g in self.gt)


def synthetic_clip(frames: int, size: tuple[int, int], seed: int = 0) -> BenchClip:
    """A fresh synthetic driving clip of ``frames`` frames at ``size`` (H, W), with ground truth."""
    from vps.data.synth import generate_sequence

    images, pans = generate_sequence(seed, frames, size, sequence=0, split=BENCH_SPLIT)
    return BenchClip(f"synth-{BENCH_SPLIT}-{seed}", tuple(images), tuple(pans),
                     f"synthetic clip (vps.data.synth, split {BENCH_SPLIT!r}, seed {seed}, "
                     f"{size[0]}x{size[1]})")


def to_rgb(image: np.ndarray) -> np.ndarray:
    """An OpenCV-decoded frame (gray, BGR, BGRA) as ``uint8 [H, W, 3]`` RGB."""
    if image.ndim == 2 or image.shape[2] == 1:
        gray = image.reshape(image.shape[0], image.shape[1], 1)
        return np.repeat(gray, 3, axis=2)
    return np.ascontiguousarray(image[:, :, 2::-1])


def input_clip(path: str | Path, frames: int, meta: DatasetMeta, split: str | None = None,
               sequence: str | None = None) -> BenchClip:
    """The first ``frames`` frames of the first (or the named) sequence of ``path``."""
    from vps.data.codecs import read_kitti_panoptic
    from vps.runtime.sources import open_source

    if not Path(path).exists():
        raise DataError(Path(path), "--input not found (expected a video file, an image folder or a "
                                    "KITTI-STEP root)")
    src = open_source(str(path), split=split, sequence=sequence, max_frames=frames)
    first: str | None = None
    images: list[np.ndarray] = []
    gts: list[np.ndarray | None] = []
    label_root = Path(path) / "panoptic_maps" / src.split if src.split else None
    for f in src:
        if first is None:
            first = f.sequence
        if f.sequence != first or len(images) >= frames:
            break
        img = to_rgb(f.image)
        images.append(img)
        gt_path = None if label_root is None else label_root / f.sequence / f"{f.frame:06d}.png"
        gts.append(read_kitti_panoptic(gt_path, meta, img.shape[:2])
                   if gt_path is not None and gt_path.is_file() else None)
    if not images:
        raise DataError(Path(path), "no frames to benchmark")
    if any(g is None for g in gts):
        gts = [None] * len(images)  # STQ only when every frame has ground truth
    return BenchClip(f"{Path(path).name}/{first}", tuple(images), tuple(gts),
                     f"{src.kind} {path} (sequence {first}, {len(images)} frames)")
