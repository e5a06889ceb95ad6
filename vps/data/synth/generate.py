"""Public API: synthetic sequences in memory, or whole KITTI-STEP-layout datasets on disk.

Sequence ``k`` of split ``s`` with seed ``S`` is drawn from ``numpy.random.default_rng`` seeded with
``(S, crc32(s), k, 0)`` (the world) and ``(S, crc32(s), k, 1, t)`` (sensor noise of frame ``t``): no global
RNG, no clock, so output is byte-identical across runs, ``--first-seq`` offsets give the same clips as a
bigger run, and train/val never share a clip even with the same seed. The world does not depend on the image
size, so one seed gives the same scene at every resolution.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from tqdm import tqdm

from vps.data.codecs import write_image, write_kitti_panoptic
from vps.data.synth.render import render_frame
from vps.data.synth.scene import build_world

MIN_SIZE = 16
MAX_SEQUENCE = 9999  # sequence folders are 4-digit numbers
_SPLIT_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
_FRAME_RE = re.compile(r"^\d{6}\.png$")


def _check_size(size: tuple[int, int]) -> tuple[int, int]:
    try:
        h, w = (int(s) for s in size)
    except (TypeError, ValueError):
        raise ValueError(f"size must be a pair (height, width), got {size!r}") from None
    if h < MIN_SIZE or w < MIN_SIZE:
        raise ValueError(f"size must be at least {MIN_SIZE}x{MIN_SIZE}, got {h}x{w}")
    return h, w


def _check_counts(**counts: int) -> None:
    for name, value in counts.items():
        if not isinstance(value, int | np.integer) or isinstance(value, bool):
            raise ValueError(f"{name} must be an integer, got {value!r}")
    for name in ("frames", "sequences"):
        if name in counts and counts[name] < 1:
            raise ValueError(f"{name} must be >= 1, got {counts[name]}")
    for name in ("seed", "sequence", "first_seq"):
        if name in counts and counts[name] < 0:
            raise ValueError(f"{name} must be >= 0, got {counts[name]}")


def _check_split(split: str) -> str:
    if not isinstance(split, str) or not _SPLIT_RE.match(split) or split in (".", ".."):
        raise ValueError(f"split must be a plain folder name like 'train' or 'val', got {split!r}")
    return split


def _entropy(seed: int, split: str, sequence: int) -> list[int]:
    return [int(seed), zlib.crc32(split.encode("utf-8")), int(sequence)]


def iter_sequence(seed: int, frames: int, size: tuple[int, int], sequence: int = 0, split: str = "train",
                  ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Frames of one clip one at a time: (RGB ``uint8 [H, W, 3]``, panoptic ``int32 [H, W]``).

    Panoptic ids are ``semantic * 1000 + track`` with KITTI-STEP train ids; tracks (1..255) exist for person
    and car only and stay constant over the clip.
    """
    _check_counts(seed=seed, frames=frames, sequence=sequence)
    height, width = _check_size(size)
    base = _entropy(seed, _check_split(split), sequence)
    world = build_world(np.random.default_rng([*base, 0]), frames)  # validated eagerly, rendered lazily
    noise = (np.random.default_rng([*base, 1, t]) for t in range(frames))
    return (render_frame(world, t, height, width, rng) for t, rng in enumerate(noise))


def generate_sequence(seed: int, frames: int, size: tuple[int, int], sequence: int = 0, split: str = "train",
                      ) -> tuple[np.ndarray, np.ndarray]:
    """One clip in memory: images ``uint8 [T, H, W, 3]`` RGB and panoptic maps ``int32 [T, H, W]``.

    Identical to sequence ``sequence`` of ``generate_dataset(..., seed=seed, split=split)``.
    """
    pairs = list(iter_sequence(seed, frames, size, sequence, split))
    return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])


def frame_paths(out: Path, split: str, sequence: int, frame: int) -> tuple[Path, Path]:
    """(image, label) paths of a frame in the KITTI-STEP layout under ``out``."""
    rel = Path(split) / f"{sequence:04d}" / f"{frame:06d}.png"
    return Path(out) / "images" / rel, Path(out) / "panoptic_maps" / rel


def _remove_stale_frames(folder: Path, frames: int) -> None:
    """Delete ``NNNNNN.png`` frames numbered >= ``frames`` left in ``folder`` by an earlier, longer run.

    Otherwise a reader would see one clip made of two different worlds. Other files are left alone.
    """
    if folder.is_dir():
        for path in folder.glob("*.png"):
            if _FRAME_RE.match(path.name) and int(path.stem) >= frames:
                path.unlink()


def generate_dataset(out: Path, sequences: int, frames: int, size: tuple[int, int], seed: int, split: str,
                     first_seq: int = 0, progress: bool = True) -> None:
    """Write ``sequences`` clips numbered ``first_seq..`` under ``out`` in the KITTI-STEP layout.

    ``out/images/{split}/{seq:04d}/{frame:06d}.png`` (RGB) and ``out/panoptic_maps/...`` (R = semantic,
    G = track // 256, B = track % 256). Files are written atomically; existing ones are overwritten, and
    frames beyond ``frames`` left in these sequences' folders by an earlier run are deleted. Other sequence
    folders are not touched, so a dataset can be written in parts with ``first_seq``.
    """
    _check_counts(sequences=sequences, frames=frames, seed=seed, first_seq=first_seq)
    size = _check_size(size)
    _check_split(split)
    if first_seq + sequences - 1 > MAX_SEQUENCE:
        last = first_seq + sequences - 1
        raise ValueError(f"sequence numbers must stay <= {MAX_SEQUENCE}, got {first_seq}..{last}")
    with tqdm(total=sequences * frames, disable=not progress, unit="frame", desc=f"vps-synth {split}") as bar:
        for seq in range(first_seq, first_seq + sequences):
            for kind in ("images", "panoptic_maps"):
                _remove_stale_frames(Path(out) / kind / split / f"{seq:04d}", frames)
            for t, (image, panoptic) in enumerate(iter_sequence(seed, frames, size, seq, split)):
                image_path, label_path = frame_paths(Path(out), split, seq, t)
                write_image(image_path, image)
                write_kitti_panoptic(label_path, panoptic)
                bar.update(1)
