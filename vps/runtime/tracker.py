"""Track table: the model's 8-bit sliding-window instance ids to 32-bit track ids that are never reused.

The denoiser emits ``class * label_divisor + instance`` with ``instance < 2**instance_bits`` (256): a window
of ids it carries forward through its previous-mask conditioning, and may recycle, drop or swap. The
:class:`TrackTable` turns that into stable track ids with IoU matching between consecutive frames.

Policy, applied to every frame (masks at the denoiser's mask resolution):

1. Current instances are the (class, model id) segments of *thing* classes with a non-zero model id and at
   least ``min_area`` pixels; everything else (stuff, crowd/void instance 0, tiny fragments) gets track 0.
2. One pair histogram (``vps.kernels.pair_histogram`` + ``mask_iou``) of (previous frame's track map,
   current instance map), both compacted, gives the IoU of every (previous track, current instance)
   pair; pairs of different classes get IoU 0 (the same as one histogram per class, in one pass).
3. The maximum-IoU one-to-one assignment (Hungarian, ``scipy.optimize.linear_sum_assignment``) decides,
   ties broken in favour of the model's own id continuity; a pair is accepted only if
   ``IoU >= iou_threshold``. So an instance that overlaps its previous-frame track enough keeps its track
   id, whatever 8-bit id the model gave it (a model id switch is repaired), and a model id whose mask
   jumped elsewhere (IoU below the threshold) does *not* drag its track along. With the default
   threshold 0.5 the assignment is unique (two disjoint masks cannot both have IoU > 0.5 with one mask).
   *Id continuation* (``continue_iou``, default 0.01; off when ``None``): an instance left unmatched whose
   (class, model id) carried a track in the previous frame keeps that track, if the track is still free and
   their IoU reaches ``continue_iou`` (below ``iou_threshold``): the model copied the id forward through its
   conditioning, so a low IoU (a small, fast object at mask resolution) is motion, not a new object.
4. Instances still unmatched are compared with the last mask of each *lost* track of the same class (not
   seen in the previous frame, absent for at most ``max_lost`` consecutive frames); a Hungarian match with
   ``IoU >= iou_threshold`` revives that track. The rest get new track ids.
5. Tracks of the previous frame that found no instance become lost (their last mask is kept as a crop);
   lost tracks absent for more than ``max_lost`` frames are forgotten, so the table stays bounded.

Representation of the output (:class:`TrackedFrame`): ``semantic`` int32 ``[h, w]`` class ids and
``track_ids`` int32 ``[h, w]`` (0 = no track), plus ``panoptic()`` as int64
``semantic * TRACK_LABEL_DIVISOR + track_id`` with ``TRACK_LABEL_DIVISOR = 10**10`` (decimal, so ``13`` then
ten digits reads as "car, track ..."; any 31-bit id fits and ``//``/``%`` decode it like the usual
``class * 1000 + instance``). Files and the evaluation code use ``class * label_divisor + instance`` with a
small divisor (1000 for KITTI-STEP in memory; KITTI PNGs store the instance in G*256+B, so < 65536):
``panoptic(label_divisor)`` numbers the tracks of the current sequence from 1 (``track_id -
sequence_first_id + 1``) and wraps after ``label_divisor - 1`` tracks (999 with 1000; 65535 with
``write_kitti_panoptic(..., label_divisor=65536)``): two tracks of one sequence then share a file id only
if more than that many tracks were created between them.

Track ids are 1..2**31-1 (int32-safe) and never reused, not even across :meth:`TrackTable.reset`;
exhausting them raises ``OverflowError`` (at 100 new tracks a second that takes 8 months of uptime).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.ndimage import find_objects
from scipy.optimize import linear_sum_assignment

from vps.data.meta import DatasetMeta
from vps.kernels.iou import mask_iou
from vps.kernels.pair_histogram import pair_histogram
from vps.runtime import native
from vps.runtime.health import HealthConfig

TRACK_LABEL_DIVISOR = 10**10
MAX_TRACK_ID = 2**31 - 1
_TIE_BREAK = 1e-6  # score bonus for the model's own id continuity; far below any IoU difference that matters

Box = tuple[int, int, int, int]  # half-open (x0, y0, x1, y1) in map pixels: x1 = last column + 1


@dataclass(frozen=True)
class TrackerConfig:
    """Track-table knobs. ``max_lost``: frames a track may be absent and still be revived.

    ``health``: the camera-health thresholds and which faults void a frame (:mod:`vps.runtime.health`);
    the segmenter applies them before the frame reaches the table, so a voided frame creates no track.
    """

    iou_threshold: float = 0.5
    max_lost: int = 10
    min_area: int = 4  # instances smaller than this (mask pixels) get no track
    # id continuation: min IoU to keep a continued model id (None = off). 0.01 = the masks touch: on 16 fresh
    # synthetic clips (seed 4040, 188x621, tiny_synth.pt, 2 steps, warm) streamed STQ 0.5061 against 0.5007
    # without it (0.0, also across a jump, gave 0.5087 but breaks "a jump is a new track")
    continue_iou: float | None = 0.01
    health: HealthConfig = field(default_factory=HealthConfig)

    def __post_init__(self) -> None:
        if not 0.0 < self.iou_threshold <= 1.0:
            raise ValueError(f"iou_threshold must lie in (0, 1], got {self.iou_threshold}")
        if self.continue_iou is not None and not 0.0 <= self.continue_iou <= self.iou_threshold:
            raise ValueError(f"continue_iou must lie in [0, iou_threshold], got {self.continue_iou}")
        if self.max_lost < 0 or self.min_area < 1:
            raise ValueError(f"need max_lost >= 0 and min_area >= 1, got {self.max_lost}, {self.min_area}")


@dataclass(frozen=True)
class Track:
    """One track as seen in a frame. ``age``: frames since first seen (1 on its first frame)."""

    id: int
    class_id: int
    area: int  # pixels in the last frame it was seen (map resolution)
    box: Box
    age: int
    frames_since_seen: int  # 0 for a track visible in this frame


@dataclass
class TrackRecord:
    """The table's bookkeeping for one live or lost track."""

    id: int
    class_id: int
    first_frame: int
    last_frame: int
    area: int
    box: Box
    mask: np.ndarray | None = None  # bool [y1-y0, x1-x0] crop of the last mask; only kept while lost

    def public(self, frame_index: int) -> Track:
        return Track(self.id, self.class_id, self.area, self.box, frame_index - self.first_frame + 1,
                     frame_index - self.last_frame)


@dataclass
class TrackerState:
    """Everything the track table carries from frame to frame (typed; see :class:`TrackTable`)."""

    next_id: int = 1  # never decreases, not even on reset
    sequence_first_id: int = 1  # first id handed out in the current sequence
    frame_index: int = 0  # frames processed in the current sequence
    slots: np.ndarray | None = None  # int32 [h, w]: previous frame's tracks compacted to 0..M (0 = none)
    slot_tracks: np.ndarray = field(default_factory=lambda: np.zeros(1, np.int64))  # [M + 1] slot -> id
    model_ids: dict[int, int] = field(default_factory=dict)  # previous (class*div+model id) -> track id
    tracks: dict[int, TrackRecord] = field(default_factory=dict)  # visible last frame, or lost <= max_lost

    def reset(self) -> None:
        """Start a new sequence: forget every track; ids keep increasing."""
        self.sequence_first_id = self.next_id
        self.frame_index = 0
        self.slots = None
        self.slot_tracks = np.zeros(1, np.int64)
        self.model_ids = {}
        self.tracks = {}


@dataclass(frozen=True)
class TrackedFrame:
    """The table's answer for one frame (maps at the resolution they were given in)."""

    semantic: np.ndarray  # int32 [h, w] class ids (ignore label kept)
    track_ids: np.ndarray  # int32 [h, w] track ids, 0 = stuff / void / no track
    tracks: tuple[Track, ...]  # visible in this frame, by id
    lost: tuple[Track, ...]  # retained for revival, by id
    frame_index: int
    sequence_first_id: int

    def panoptic(self, label_divisor: int | None = None) -> np.ndarray:
        """``int64 semantic * 10**10 + track_id``, or with ``label_divisor`` the int32 file/eval form.

        With a divisor the tracks of the sequence are numbered from 1 and wrap after ``label_divisor - 1``
        (see the module docstring).
        """
        sem = self.semantic.astype(np.int64)
        if label_divisor is None:
            return sem * TRACK_LABEL_DIVISOR + self.track_ids
        if label_divisor < 2:
            raise ValueError(f"label_divisor must be >= 2, got {label_divisor}")
        local = (self.track_ids.astype(np.int64) - self.sequence_first_id) % (label_divisor - 1) + 1
        return (sem * label_divisor + np.where(self.track_ids > 0, local, 0)).astype(np.int32)


def _assign(score: np.ndarray, iou: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """Maximum-score one-to-one pairs (row, col) whose IoU reaches ``threshold``."""
    if score.size == 0:
        return []
    rows, cols = linear_sum_assignment(score, maximize=True)
    return [(int(r), int(c)) for r, c in zip(rows, cols, strict=True) if iou[r, c] >= threshold]


@dataclass(frozen=True)
class _Segments:
    """Current frame's instances compacted to 1..N (index 0 = no instance)."""

    index: np.ndarray  # int32 [h, w] in 0..N
    keys: np.ndarray  # int64 [N] class * label_divisor + model id
    classes: np.ndarray  # int64 [N]
    areas: np.ndarray  # int64 [N]

    @property
    def count(self) -> int:
        return len(self.keys)


class TrackTable:
    """Maps the model's per-frame instance ids to persistent track ids (policy in the module docstring).

    ``meta`` says which classes are things; ``label_divisor`` is the one of the model's panoptic output
    (``BitLayout.label_divisor``, default ``meta.label_divisor``). ``state`` may be shared with a
    :class:`~vps.runtime.state.StreamState`; the table mutates it in place.
    """

    def __init__(self, meta: DatasetMeta, config: TrackerConfig | None = None,
                 label_divisor: int | None = None, state: TrackerState | None = None) -> None:
        self.meta = meta
        self.config = config or TrackerConfig()
        self.label_divisor = int(meta.label_divisor if label_divisor is None else label_divisor)
        self.state = state if state is not None else TrackerState()
        self._thing_ids = np.asarray(meta.thing_ids, np.int64)

    def reset(self) -> None:
        """Start a new sequence (all tracks forgotten; new ids continue after the last one handed out)."""
        self.state.reset()

    @property
    def num_retained(self) -> int:
        """Tracks held in memory: visible in the last frame plus lost ones still revivable."""
        return len(self.state.tracks)

    def update(self, panoptic: np.ndarray) -> TrackedFrame:
        """Track one frame: ``int [h, w]`` model panoptic ids (``class * label_divisor + model id``)."""
        if (tracked := native.track_update(self, panoptic)) is not None:  # vps_core, when built (same ids)
            return tracked
        pan = self._check(panoptic)
        seg = self._segments(pan)
        track_of = np.zeros(seg.count + 1, np.int64)  # [N + 1] instance -> track id, 0 = undecided
        self._match_previous(seg, track_of)
        self._revive_lost(seg, track_of)
        for j in np.flatnonzero(track_of[1:] == 0) + 1:
            track_of[j] = self._new_id()
        frame_index = self.state.frame_index
        self._commit(seg, track_of)
        records = self.state.tracks.values()
        return TrackedFrame(
            semantic=(pan // self.label_divisor).astype(np.int32),
            track_ids=track_of[seg.index].astype(np.int32),
            tracks=tuple(sorted((r.public(frame_index) for r in records if r.mask is None), key=_by_id)),
            lost=tuple(sorted((r.public(frame_index) for r in records if r.mask is not None), key=_by_id)),
            frame_index=frame_index,
            sequence_first_id=self.state.sequence_first_id,
        )

    def _check(self, panoptic: np.ndarray) -> np.ndarray:
        pan = np.asarray(panoptic)
        if pan.ndim != 2 or pan.size == 0 or not np.issubdtype(pan.dtype, np.integer):
            raise ValueError(f"panoptic must be a non-empty integer [h, w] map, got {pan.dtype} {pan.shape}")
        if pan.min() < 0:
            raise ValueError("panoptic ids must be >= 0")
        prev = self.state.slots
        if prev is not None and prev.shape != pan.shape:
            raise ValueError(f"map size changed from {prev.shape} to {pan.shape} mid-sequence; call reset()")
        return pan.astype(np.int64)

    def _segments(self, pan: np.ndarray) -> _Segments:
        div = self.label_divisor
        thing = np.isin(pan // div, self._thing_ids) & (pan % div > 0)
        keys, inverse = np.unique(pan[thing], return_inverse=True)
        index = np.zeros(pan.shape, np.int32)
        index[thing] = inverse.ravel() + 1
        areas = np.bincount(index.ravel(), minlength=len(keys) + 1)
        keep = areas >= self.config.min_area
        keep[0] = False
        relabel = np.zeros(len(keys) + 1, np.int32)  # drop fragments below min_area, renumber the rest
        relabel[keep] = np.arange(1, int(keep.sum()) + 1, dtype=np.int32)
        kept = keys[keep[1:]]
        return _Segments(relabel[index], kept, kept // div, areas[keep])

    def _match_previous(self, seg: _Segments, track_of: np.ndarray) -> None:
        """Hungarian IoU matching of current instances to the previous frame's tracks."""
        st = self.state
        prev_ids = st.slot_tracks[1:]  # [M]
        if st.slots is None or prev_ids.size == 0 or seg.count == 0:
            return
        hist = pair_histogram(st.slots, seg.index, len(prev_ids) + 1, seg.count + 1, validate=False)
        iou = mask_iou(hist)[1:, 1:]  # [M + 1, N + 1] -> [M, N]: drop "no track" / "no instance"
        prev_cls = np.array([st.tracks[int(t)].class_id for t in prev_ids], np.int64)
        iou[prev_cls[:, None] != seg.classes[None, :]] = 0.0
        model_track = np.array([st.model_ids.get(int(k), 0) for k in seg.keys], np.int64)  # [N]
        score = iou + _TIE_BREAK * (prev_ids[:, None] == model_track[None, :])
        for r, c in _assign(score, iou, self.config.iou_threshold):
            track_of[c + 1] = prev_ids[r]
        if self.config.continue_iou is not None:
            self._continue_ids(prev_ids, model_track, iou, track_of)

    def _continue_ids(self, prev_ids: np.ndarray, model_track: np.ndarray, iou: np.ndarray,
                      track_of: np.ndarray) -> None:
        """Id continuation: unmatched instances keep the free track their model id had (IoU >= floor)."""
        floor = float(self.config.continue_iou or 0.0)
        row = {int(t): r for r, t in enumerate(prev_ids.tolist())}
        used = set(track_of[1:].tolist())
        for c in np.flatnonzero((track_of[1:] == 0) & (model_track > 0)):
            tid = int(model_track[c])
            if tid in row and tid not in used and iou[row[tid], c] >= floor:
                track_of[c + 1] = tid
                used.add(tid)

    def _revive_lost(self, seg: _Segments, track_of: np.ndarray) -> None:
        """Hungarian IoU matching of still-unmatched instances to the last masks of lost tracks."""
        lost = [r for r in self.state.tracks.values() if r.mask is not None]
        taken = track_of[1:] > 0  # [N]
        if not lost or taken.all():
            return
        iou = np.zeros((len(lost), seg.count))
        for i, rec in enumerate(lost):
            x0, y0, x1, y1 = rec.box
            inter = np.bincount(seg.index[y0:y1, x0:x1][rec.mask], minlength=seg.count + 1)[1:]
            iou[i] = inter / (rec.area + seg.areas - inter)
        lost_cls = np.array([r.class_id for r in lost], np.int64)
        iou[lost_cls[:, None] != seg.classes[None, :]] = 0.0
        iou[:, taken] = 0.0
        for r, c in _assign(iou, iou, self.config.iou_threshold):
            track_of[c + 1] = lost[r].id

    def _new_id(self) -> int:
        st = self.state
        if st.next_id > MAX_TRACK_ID:
            raise OverflowError(f"all {MAX_TRACK_ID} track ids are used up; restart the runtime")
        st.next_id += 1
        return st.next_id - 1

    def _commit(self, seg: _Segments, track_of: np.ndarray) -> None:
        """Update the records, turn unmatched previous tracks into lost ones, forget stale ones."""
        st, fi = self.state, self.state.frame_index
        boxes = find_objects(seg.index, max_label=seg.count)
        for j, sl in enumerate(boxes):
            box = (sl[1].start, sl[0].start, sl[1].stop, sl[0].stop)
            tid, area = int(track_of[j + 1]), int(seg.areas[j])
            rec = st.tracks.get(tid)
            if rec is None:
                st.tracks[tid] = TrackRecord(tid, int(seg.classes[j]), fi, fi, area, box)
            else:
                rec.last_frame, rec.area, rec.box, rec.mask = fi, area, box, None
        visible = set(track_of[1:].tolist())
        for slot, tid in enumerate(st.slot_tracks[1:].tolist(), start=1):
            if tid not in visible and st.slots is not None:
                rec = st.tracks[tid]
                x0, y0, x1, y1 = rec.box
                rec.mask = st.slots[y0:y1, x0:x1] == slot  # bool crop of its last mask
        for tid in [t for t, r in st.tracks.items() if fi - r.last_frame > self.config.max_lost]:
            del st.tracks[tid]
        st.slots, st.slot_tracks = seg.index, track_of
        st.model_ids = {int(k): int(t) for k, t in zip(seg.keys, track_of[1:], strict=True)}
        st.frame_index = fi + 1


def _by_id(track: Track) -> int:
    return track.id
