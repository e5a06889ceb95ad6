"""KITTI-STEP reader: clips of consecutive frames from the official folder layout (numpy only).

Layout::

    ROOT/images/{split}/{seq:04d}/{frame:06d}.png          RGB frames
    ROOT/panoptic_maps/{split}/{seq:04d}/{frame:06d}.png   R = semantic, G = inst // 256, B = inst % 256

The index is built once from the folder listings (cheap); pixels are read and validated lazily in
:meth:`KittiStep.load_clip`, so a bad file is reported (by path) the first time it is used, or up front by
:meth:`KittiStep.validate`.

Gaps: a sequence whose frame numbers are not consecutive (e.g. ``0..9, 12..20``) is split into runs at the
gap and no clip straddles it (``on_gap="split"``, the default), because the model conditions each frame
on the previous ones and would learn from a temporal jump; ``on_gap="error"`` raises instead. With
``clip_len=1`` gaps never matter.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from vps.data.clip import Clip, ClipDataset
from vps.data.codecs import read_image, read_kitti_panoptic
from vps.data.meta import KITTI_STEP, DatasetMeta
from vps.errors import DataError

if TYPE_CHECKING:
    from vps.config import DataConfig
    from vps.data.augment import ClipAugment

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
FramePaths = tuple[Path | None, Path | None]  # (image file, label file); None where not read


def list_frames(folder: str | Path, suffixes: Sequence[str] = IMAGE_SUFFIXES) -> dict[int, Path]:
    """Frame number -> file for the images directly in ``folder`` (names must be frame numbers).

    Hidden files and files with other suffixes are ignored; a non-numeric name or two files with the
    same frame number (``000001.png`` and ``000001.jpg``) is a :class:`DataError`.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(folder, "folder not found")
    frames: dict[int, Path] = {}
    for p in sorted(folder.iterdir()):
        if p.name.startswith(".") or p.suffix.lower() not in suffixes or not p.is_file():
            continue
        if not p.stem.isdigit():
            raise DataError(p, "file name is not a frame number (expected e.g. 000042.png)")
        n = int(p.stem)
        if n in frames:
            raise DataError(p, f"frame {n} appears twice (also {frames[n].name})")
        frames[n] = p
    return dict(sorted(frames.items()))


def consecutive_runs(frames: Sequence[int]) -> list[list[int]]:
    """Split sorted frame numbers into maximal runs of consecutive numbers: [0,1,2,5,6] -> [[0,1,2],[5,6]]."""
    runs: list[list[int]] = []
    for f in frames:
        if runs and f == runs[-1][-1] + 1:
            runs[-1].append(f)
        else:
            runs.append([f])
    return runs


def available_splits(root: str | Path) -> list[str]:
    """Split names found under ``root/images`` or ``root/panoptic_maps``."""
    root = Path(root)
    found = {p.name for sub in ("images", "panoptic_maps") if (root / sub).is_dir()
             for p in (root / sub).iterdir() if p.is_dir() and not p.name.startswith(".")}
    return sorted(found)


def _sequence_dirs(folder: Path) -> dict[str, Path]:
    if not folder.is_dir():
        raise DataError(folder, "split folder not found")
    return {p.name: p for p in sorted(folder.iterdir()) if p.is_dir() and not p.name.startswith(".")}


class KittiStep(ClipDataset):
    """Clips of ``clip_len`` consecutive frames from a KITTI-STEP split, one window per start frame.

    Args:
        root: dataset root holding ``images/`` and ``panoptic_maps/``.
        split: split folder name (``train``, ``val``, ...).
        clip_len: frames per clip (>= 1).
        stride: step between the start frames of successive clips of a sequence.
        augment: optional :class:`vps.data.augment.ClipAugment` applied by ``__getitem__``.
        meta: label space used to validate the panoptic maps.
        sequences: restrict to these sequences (names such as ``"0002"`` or ints).
        labels: read ``panoptic_maps`` (``False`` for inference on image-only data; then
            ``Clip.panoptic`` is None).
        images: read ``images`` (``False`` for label-only prediction folders: ``Clip.images`` is None).
        image_root: take ``images/{split}`` from this root instead of ``root`` (predictions + GT images);
            then the label files define the frames and extra images are ignored.
        on_gap: ``"split"`` (no clip straddles a frame-number gap) or ``"error"`` (raise at construction).
        seed: seed of the generator ``__getitem__`` uses for augmentation (see :meth:`reseed`).
    """

    item_name = "clip"

    def __init__(
        self,
        root: str | Path,
        split: str = "train",
        clip_len: int = 3,
        stride: int = 1,
        augment: ClipAugment | None = None,
        meta: DatasetMeta = KITTI_STEP,
        sequences: Sequence[str | int] | None = None,
        *,
        labels: bool = True,
        images: bool = True,
        image_root: str | Path | None = None,
        on_gap: str = "split",
        seed: int | None = None,
    ) -> None:
        if clip_len < 1 or stride < 1:
            raise ValueError(f"clip_len and stride must be >= 1, got {clip_len}, {stride}")
        if on_gap not in ("split", "error"):
            raise ValueError(f"on_gap must be 'split' or 'error', got {on_gap!r}")
        if not (labels or images):
            raise ValueError("KittiStep needs labels, images or both")
        self.root = Path(root)
        if not self.root.is_dir():
            raise DataError(self.root, "dataset root not found")
        self.split, self.clip_len, self.stride = split, clip_len, stride
        self.augment, self.meta, self.on_gap = augment, meta, on_gap
        self.image_dir = Path(image_root or root) / "images" / split if images else None
        self.label_dir = self.root / "panoptic_maps" / split if labels else None
        # Images from another root (predictions + GT images): the labels define the frames and extra images
        # are fine. Same root: images and labels must match one to one.
        self._strict = image_root is None
        self._frames = self._index(sequences)  # seq -> frame -> (image path, label path)
        self._clips = self._make_clips()
        self.rng = np.random.default_rng(seed)

    @classmethod
    def from_config(
        cls, cfg: DataConfig, split: str, augment: ClipAugment | None = None,
        meta: DatasetMeta = KITTI_STEP, seed: int | None = None,
    ) -> KittiStep:
        """Dataset for ``cfg.root`` / ``split`` with ``cfg.clip_len``."""
        return cls(cfg.root, split, clip_len=cfg.clip_len, augment=augment, meta=meta, seed=seed)

    # ----------------------------------------------------------------------------------------- indexing
    def _index(self, wanted: Sequence[str | int] | None) -> dict[str, dict[int, FramePaths]]:
        dirs = [d for d in (self.image_dir, self.label_dir) if d is not None]
        for d in dirs:
            if not d.is_dir():
                splits = available_splits(d.parent.parent)
                raise DataError(d, f"split folder not found (splits present: {splits or 'none'})")
        img_seqs = _sequence_dirs(self.image_dir) if self.image_dir else {}
        lbl_seqs = _sequence_dirs(self.label_dir) if self.label_dir else {}
        if self.image_dir and self.label_dir:
            bad = set(lbl_seqs) - set(img_seqs) if not self._strict else set(img_seqs) ^ set(lbl_seqs)
            for name in sorted(bad):
                have, miss = (self.image_dir, self.label_dir) if name in img_seqs else (
                    self.label_dir, self.image_dir)
                raise DataError(miss / name, f"sequence folder missing (present in {have})")
        names = sorted(lbl_seqs if self.label_dir else img_seqs)
        if wanted is not None:
            norm = [f"{w:04d}" if isinstance(w, int) else str(w) for w in wanted]
            unknown = [w for w in norm if w not in names]
            if unknown:
                raise ValueError(f"unknown sequence(s) {unknown} in {dirs[0]}; available: {names}")
            names = norm
        out = {name: self._pair(img_seqs.get(name), lbl_seqs.get(name), self._strict) for name in names}
        if not any(out.values()):
            raise DataError(dirs[0], "no frames found")
        return out

    @staticmethod
    def _pair(
        img_dir: Path | None, lbl_dir: Path | None, strict: bool
    ) -> dict[int, FramePaths]:
        imgs = list_frames(img_dir) if img_dir else {}
        lbls = list_frames(lbl_dir, (".png",)) if lbl_dir else {}
        if img_dir and lbl_dir:
            for n in sorted(set(imgs) - set(lbls)) if strict else []:
                raise DataError(imgs[n], f"frame has no label (expected {lbl_dir / f'{n:06d}.png'})")
            for n in sorted(set(lbls) - set(imgs)):
                raise DataError(lbls[n], f"label has no image (expected {img_dir / f'{n:06d}.png'})")
        return {n: (imgs.get(n), lbls.get(n)) for n in sorted(lbls if lbl_dir else imgs)}

    def _make_clips(self) -> list[tuple[str, list[int]]]:
        clips: list[tuple[str, list[int]]] = []
        for seq, frames in self._frames.items():
            runs = consecutive_runs(list(frames))
            if self.on_gap == "error" and self.clip_len > 1 and len(runs) > 1:
                a, b = runs[0][-1], runs[1][0]
                folder = self.label_dir or self.image_dir
                assert folder is not None
                raise DataError(folder / seq, f"frame numbers jump from {a} to {b}; a clip of "
                                              f"{self.clip_len} frames would straddle the gap "
                                              "(use on_gap='split')")
            for run in runs:
                for start in range(0, len(run) - self.clip_len + 1, self.stride):
                    clips.append((seq, run[start:start + self.clip_len]))
        if not clips:
            folder = self.label_dir or self.image_dir
            raise DataError(folder, f"no sequence has {self.clip_len} consecutive frames")  # type: ignore[arg-type]
        return clips

    # ------------------------------------------------------------------------------------------ queries
    @property
    def sequences(self) -> list[str]:
        """Sequence names in sorted order."""
        return list(self._frames)

    def frame_numbers(self, seq: str) -> list[int]:
        """Sorted frame numbers of sequence ``seq``."""
        return list(self._seq(seq))

    def sequence_frames(self, seq: str) -> list[FramePaths]:
        """``(image_path, label_path)`` of every frame of ``seq`` in order (None where not read)."""
        return list(self._seq(seq).values())

    @property
    def num_frames(self) -> int:
        return sum(len(f) for f in self._frames.values())

    def clip_frames(self, i: int) -> tuple[str, list[int]]:
        """(sequence, frame numbers) of clip ``i``."""
        return self._clips[i]

    def __len__(self) -> int:
        return len(self._clips)

    def _seq(self, seq: str) -> dict[int, FramePaths]:
        try:
            return self._frames[seq]
        except KeyError:
            raise KeyError(f"unknown sequence {seq!r}; available: {self.sequences}") from None

    # ------------------------------------------------------------------------------------------ loading
    def load_frame(self, seq: str, frame: int) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Read one frame: (``uint8 [H, W, 3]`` or None, ``int32 [H, W]`` or None), validated."""
        img_path, lbl_path = self._seq(seq)[frame]
        image = read_image(img_path) if img_path else None
        pan = None
        if lbl_path:
            pan = read_kitti_panoptic(lbl_path, self.meta, image.shape[:2] if image is not None else None)
        return image, pan

    def load_clip(self, seq: str, frames: Sequence[int]) -> Clip:
        """Read the given frames of ``seq`` into a :class:`Clip` (no augmentation)."""
        images, pans = [], []
        for f in frames:
            image, pan = self.load_frame(seq, f)
            arr = image if image is not None else pan
            assert arr is not None
            if (images or pans) and arr.shape[:2] != (images or pans)[0].shape[:2]:
                where = self._seq(seq)[f][0] or self._seq(seq)[f][1]
                first = (images or pans)[0].shape[:2]
                raise DataError(where, f"frame size {arr.shape[:2]} differs from frame {frames[0]}'s {first}")
            if image is not None:
                images.append(image)
            if pan is not None:
                pans.append(pan)
        paths = [self._seq(seq)[f] for f in frames]
        return Clip(
            images=np.stack(images) if images else None,  # [T, H, W, 3]
            panoptic=np.stack(pans).astype(np.int32) if pans else None,  # [T, H, W]
            sequence=seq,
            frames=list(frames),
            image_paths=[p[0] for p in paths if p[0] is not None],
            label_paths=[p[1] for p in paths if p[1] is not None],
        )

    def load_item(self, i: int) -> Clip:
        return self.load_clip(*self._clips[i])

    def validate(self) -> int:
        """Read every frame once (raising the first :class:`DataError`); returns the number of frames."""
        n = 0
        for seq, frames in self._frames.items():
            for f in frames:
                self.load_frame(seq, f)
                n += 1
        return n
