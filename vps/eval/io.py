"""Pairing of a ground-truth folder with a prediction folder in the KITTI-STEP layout.

Accepted layouts for either folder (``ROOT`` is what the user passes)::

    ROOT/panoptic_maps/{split}/{seq}/{frame}.png     the official layout
    ROOT/{split}/{seq}/{frame}.png                   without the panoptic_maps level
    ROOT/panoptic_maps/{seq}/{frame}.png or ROOT/{seq}/{frame}.png   without the split level

The split is resolved on the ground truth (``--split``, or the only split present); the prediction folder
may lack the split level (then its sequences sit directly under it). Every ground-truth sequence must be
present in the predictions with exactly the same frame files; prediction-only sequences are reported and
skipped. Frames are ordered by number (names that are not numbers: by name).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vps.errors import DataError


@dataclass(frozen=True)
class FramePair:
    """One frame to score: its sequence, frame name and the two label files."""

    sequence: str
    frame: str
    gt_path: Path
    pred_path: Path


@dataclass(frozen=True)
class PairedFolders:
    """The frames to score, in sequence and temporal order, plus prediction-only sequences."""

    frames: list[FramePair]
    sequences: list[str]
    extra_pred_sequences: list[str]
    gt_dir: Path
    pred_dir: Path


def _order(name: str) -> tuple[int, int, str]:
    return (0, int(name), name) if name.isdigit() else (1, 0, name)


def _pngs(folder: Path) -> dict[str, Path]:
    """Frame name -> file for the ``*.png`` files directly in ``folder`` (hidden files ignored)."""
    files = [p for p in folder.iterdir()
             if p.suffix.lower() == ".png" and not p.name.startswith(".") and p.is_file()]
    return {p.stem: p for p in sorted(files, key=lambda p: _order(p.stem))}


def _subdirs(folder: Path) -> list[Path]:
    return sorted((p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")),
                  key=lambda p: _order(p.name))


def _holds_sequences(folder: Path) -> bool:
    """True if some sub-folder of ``folder`` directly holds PNG files (i.e. it is a sequence folder)."""
    return any(_pngs(d) for d in _subdirs(folder))


def resolve_sequence_root(root: str | Path, split: str | None, what: str) -> tuple[Path, str | None]:
    """``(folder whose sub-folders are the sequences, split name or None)`` for one of the layouts above."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(root, f"{what} folder not found")
    base = root / "panoptic_maps" if (root / "panoptic_maps").is_dir() else root
    if split is not None:
        if (base / split).is_dir():
            return base / split, split
        if _holds_sequences(base):
            return base, None  # the split level is missing: sequences sit directly here
        raise DataError(base / split, f"{what}: split folder not found")
    if _holds_sequences(base):
        return base, None
    splits = [d for d in _subdirs(base) if _holds_sequences(d)]
    if len(splits) == 1:
        return splits[0], splits[0].name
    if not splits:
        raise DataError(base, f"{what}: no sequence folders with PNG files found")
    names = ", ".join(d.name for d in splits)
    raise DataError(base, f"{what}: several splits ({names}); choose one with --split")


def _sequences(seq_root: Path) -> dict[str, Path]:
    return {d.name: d for d in _subdirs(seq_root) if _pngs(d)}


def pair_folders(gt_root: str | Path, pred_root: str | Path, split: str | None = None) -> PairedFolders:
    """Match every ground-truth frame with its prediction; :class:`DataError` naming the first mismatch."""
    gt_dir, gt_split = resolve_sequence_root(gt_root, split, "ground truth")
    pred_dir, _ = resolve_sequence_root(pred_root, gt_split, "prediction")  # may lack the split level
    gt_seqs, pred_seqs = _sequences(gt_dir), _sequences(pred_dir)
    if not gt_seqs:
        raise DataError(gt_dir, "ground truth: no sequence folders with PNG files found")
    frames: list[FramePair] = []
    for seq, gt_seq_dir in gt_seqs.items():
        if seq not in pred_seqs:
            raise DataError(pred_dir / seq, f"prediction for ground-truth sequence {seq!r} is missing")
        gt_frames, pred_frames = _pngs(gt_seq_dir), _pngs(pred_seqs[seq])
        for name, path in gt_frames.items():
            if name not in pred_frames:
                raise DataError(pred_seqs[seq] / path.name, "missing prediction for ground-truth frame "
                                                            f"{path}")
            frames.append(FramePair(seq, name, path, pred_frames[name]))
        extra = [p for n, p in pred_frames.items() if n not in gt_frames]
        if extra:
            raise DataError(extra[0], f"prediction frame has no ground truth in {gt_seq_dir}")
    extra_seqs = [s for s in pred_seqs if s not in gt_seqs]
    return PairedFolders(frames, list(gt_seqs), extra_seqs, gt_dir, pred_dir)
