"""Where ``vps-run`` writes each frame, and the panoptic numbers it writes, so that no number lies.

A sequence folder ``OUT/panoptic_maps/[split/]{folder}/`` is what ``vps-eval`` scores as one sequence: a
panoptic number ``class * 1000 + n`` must name one object throughout it. Two things would break that:

* a frame-size change inside one input sequence: the segmenter starts a new stream (new tracks, numbers
  from 1 again);
* more than 999 tracks in one sequence: ``n`` has only 999 values at ``label_divisor`` 1000.

:class:`FolderPlan` numbers the tracks of each folder itself (1, 2, ... in order of first appearance,
keyed on the persistent track ids of :class:`~vps.runtime.result.FrameResult`) and, by the policy the user
picks (``vps-run --on-size-change`` / ``--on-track-overflow``), either starts the next folder
``{sequence}_part{k:02d}`` (default: ``split``) or refuses with a :class:`~vps.errors.DataError` naming the
frame (``error``). Every folder it opens is listed with its reason in ``run.json``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vps.errors import DataError
from vps.runtime.result import FrameResult

POLICIES = ("split", "error")


@dataclass
class Folder:
    """One output sequence folder: its name, input sequence, first frame and why it was opened."""

    name: str
    sequence: str
    first_frame: int
    reason: str
    frames: int = 0
    numbers: dict[int, int] = field(default_factory=dict)  # persistent track id -> n (open folder only)
    tracks: int = 0  # numbers handed out in this folder

    def close(self) -> None:
        """Forget the id -> number map of a finished folder (a long stream keeps memory flat)."""
        self.tracks, self.numbers = len(self.numbers), {}

    def to_dict(self) -> dict[str, Any]:
        return {"folder": self.name, "sequence": self.sequence, "first_frame": self.first_frame,
                "frames": self.frames, "tracks": max(self.tracks, len(self.numbers)), "reason": self.reason}


class FolderPlan:
    """Assigns frames to output folders and computes the panoptic map each frame is written with."""

    def __init__(self, label_divisor: int, on_size_change: str = "split",
                 on_track_overflow: str = "split") -> None:
        for name, value in (("--on-size-change", on_size_change), ("--on-track-overflow", on_track_overflow)):
            if value not in POLICIES:
                raise ValueError(f"{name} must be one of {POLICIES}, got {value!r}")
        self.divisor = int(label_divisor)
        self.on_size_change, self.on_track_overflow = on_size_change, on_track_overflow
        self.folders: list[Folder] = []
        self._hw: tuple[int, int] | None = None

    @property
    def current(self) -> Folder | None:
        return self.folders[-1] if self.folders else None

    def place(self, sequence: str, frame: int, origin: str, result: FrameResult) -> tuple[str, np.ndarray]:
        """(folder name, ``int32 [H, W]`` panoptic map) for one frame of input sequence ``sequence``."""
        cur = self.current
        hw = tuple(result.panoptic.shape)
        if cur is None or cur.sequence != sequence:
            cur = self._open(sequence, frame, "input sequence")
        elif result.new_sequence and cur.frames:  # the segmenter restarted the stream: a size change
            if self.on_size_change == "error":
                raise DataError(origin, f"frame size changed from {self._hw} to {hw} inside sequence "
                                        f"{sequence!r} (--on-size-change error)")
            cur = self._open(sequence, frame, f"frame size changed from {self._hw} to {hw}")
        self._hw = hw  # type: ignore[assignment]
        ids = [t.id for t in result.tracks]
        fresh = [i for i in ids if i not in cur.numbers]
        if len(cur.numbers) + len(fresh) > self.divisor - 1:
            if self.on_track_overflow == "error":
                raise DataError(origin, f"sequence {sequence!r} needs more than {self.divisor - 1} track "
                                        f"numbers in folder {cur.name!r} (--on-track-overflow error)")
            if len(ids) > self.divisor - 1:
                raise DataError(origin, f"{len(ids)} tracks in one frame exceed the {self.divisor - 1} "
                                        f"panoptic numbers of a sequence folder")
            cur = self._open(sequence, frame, f"{self.divisor - 1} track numbers used")
            fresh = ids
        for i in fresh:
            cur.numbers[i] = len(cur.numbers) + 1
        cur.frames += 1
        return cur.name, self._panoptic(result, ids, cur.numbers)

    def _open(self, sequence: str, frame: int, reason: str) -> Folder:
        if self.folders:
            self.folders[-1].close()
        parts = sum(f.sequence == sequence for f in self.folders)
        name = sequence if parts == 0 else f"{sequence}_part{parts:02d}"
        self.folders.append(Folder(name, sequence, frame, reason))
        return self.folders[-1]

    def _panoptic(self, result: FrameResult, ids: list[int], numbers: dict[int, int]) -> np.ndarray:
        """``semantic * divisor + n`` with ``n`` this folder's number of each pixel's track (0 = none)."""
        sem = result.semantic.astype(np.int64) * self.divisor
        if not ids:
            return sem.astype(np.int32)
        order = np.asarray(ids, np.int64)  # sorted (FrameResult.tracks is by id)
        lut = np.asarray([0] + [numbers[i] for i in ids], np.int64)
        tid = result.track_ids
        slot = np.where(tid > 0, np.searchsorted(order, tid) + 1, 0)
        return (sem + lut[slot]).astype(np.int32)

    def summary(self) -> list[dict[str, Any]]:
        return [f.to_dict() for f in self.folders]
