"""What :meth:`Segmenter.step <vps.runtime.segmenter.Segmenter.step>` returns for one camera frame.

All maps are at the **camera frame's resolution** ``[H, W]`` (the network's mask-resolution output mapped
back through the frame's :class:`~vps.runtime.frames.FrameGeometry`, nearest neighbour):

* ``panoptic`` ``int32``: ``class * label_divisor + n`` (``label_divisor`` = 1000 for KITTI-STEP), the
  usual KITTI-STEP / ``vps-eval`` / ``vps-viz`` convention, so it can be written with
  :func:`vps.data.codecs.write_kitti_panoptic`, scored and drawn as is. ``n`` is the track's number *in the
  current sequence* (1, 2, ... in order of creation; 0 for stuff, void and thing pixels without a track).
  It is :meth:`TrackedFrame.panoptic(label_divisor) <vps.runtime.tracker.TrackedFrame.panoptic>`: it wraps
  after ``label_divisor - 1`` tracks of one sequence, so two tracks share an ``n`` only if more than 999
  tracks were created between them.
* ``track_ids`` ``int32``: the persistent 32-bit track ids (``Track.id``, 0 = none). They are never reused,
  not even across resets: this is the identity a driving stack should key on.
* ``semantic`` ``int32``: class ids (``meta.ignore_label`` where the model predicts void or a class the
  dataset does not have).

``health`` (:class:`~vps.runtime.health.FrameHealth`) lists the camera faults of the frame (``black``,
``saturated``, ``frozen``, ``blur``, ``noise``). A frame with a fault the tracker config voids
(``TrackerConfig.health.void``; default black and saturated) was not segmented: all maps are void /
0 and ``tracks`` is empty; the tracks of the previous frame are kept as lost and revive when they reappear.

``panoptic_global()`` combines the two as ``int64 class * 10**10 + track_id``
(:data:`~vps.runtime.tracker.TRACK_LABEL_DIVISOR`), unique over the whole life of the runtime.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vps.runtime.frames import FrameGeometry
from vps.runtime.health import FrameHealth
from vps.runtime.tracker import TRACK_LABEL_DIVISOR

Box = tuple[int, int, int, int]  # half-open (x0, y0, x1, y1) in frame pixels: x1 = last column + 1


@dataclass(frozen=True)
class FrameTrack:
    """One track visible in a frame, in frame pixels.

    ``id``: persistent 32-bit id (never reused). ``panoptic_id``: its ``class * label_divisor + n`` value in
    :attr:`FrameResult.panoptic`. ``area``: its pixels in the frame (``(track_ids == id).sum()``). ``box``:
    half-open ``(x0, y0, x1, y1)`` bounding box of those pixels (``x1`` = last column + 1). ``age``: frames
    since the track was first seen (1 on its first frame; frames it was lost in count too).
    """

    id: int
    class_id: int
    panoptic_id: int
    area: int
    box: Box
    age: int


@dataclass(frozen=True)
class FrameResult:
    """One segmented frame (see the module docstring for the map conventions)."""

    panoptic: np.ndarray  # int32 [H, W] class * label_divisor + per-sequence track number
    semantic: np.ndarray  # int32 [H, W]
    track_ids: np.ndarray  # int32 [H, W] persistent track ids, 0 = none
    tracks: tuple[FrameTrack, ...]  # visible in this frame, by id
    timings: dict[str, float]  # ms per stage (see vps.runtime.timing), including "total"
    frame_index: int  # frames since the last reset (0 = first frame of a sequence)
    sequence_index: int  # resets so far (explicit, or caused by a resolution change)
    label_divisor: int
    geometry: FrameGeometry  # how the frame was fitted to the network input
    warm_start: bool  # whether this frame ran the warm-start schedule
    health: FrameHealth = FrameHealth()  # camera faults; health.void: not segmented (vps.runtime.health)

    @property
    def new_sequence(self) -> bool:
        """True on the first frame after a reset (start, :meth:`Segmenter.reset`, resolution change)."""
        return self.frame_index == 0

    def panoptic_global(self) -> np.ndarray:
        """``int64 [H, W]``: ``class * 10**10 + persistent track id`` (unique for the runtime's life)."""
        return self.semantic.astype(np.int64) * TRACK_LABEL_DIVISOR + self.track_ids

    def track(self, track_id: int) -> FrameTrack:
        """The visible track with persistent id ``track_id`` (``KeyError`` if not visible)."""
        for t in self.tracks:
            if t.id == track_id:
                return t
        raise KeyError(f"track {track_id} is not visible in this frame")
