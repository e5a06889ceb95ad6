"""The frame engine: the one loop that carries a stream from frame to frame, for every caller and model.

``vps-run``, ``vps-predict`` and training's periodic evaluation (torch backend), export verification and
int8 calibration, and both pipelines of ``vps-bench`` (the deployed export and the naive baseline: torch
eager, 100 cold steps, no warm start) all drive :class:`Segmenter`, so what export verifies is what ships.

Per frame (:meth:`Segmenter.step`), with ``h x w`` the program's mask size:

1. ``preprocess``: validate and fit the frame to the network input (:func:`~vps.runtime.frames.prepare_frame`,
   the program's ``resize_mode``); a frame size other than the stream's starts a new sequence first;
2. the model family's graphs (:mod:`vps.runtime.family`; Pix2Seq-D: ``encoder``, ``context``,
   ``denoise_i``, see :mod:`vps.runtime.pix2seq_d`; Video K-Net: ``knet_frame``, then its panoptic fusion
   and embedding association on the host, see :mod:`vps.runtime.video_knet`), conditioned on what the
   family carries from the previous frames, ending in decoded ids ``int32 [1, h, w]`` (on the backend's
   device for Pix2Seq-D, on the host for Video K-Net);
3. ``decode``: the clean-up the model was evaluated with (:func:`vps.postprocess.postprocess_panoptic`, on
   the backend's arrays: NumPy for ONNX Runtime, tensors for torch), the ids to the host, and the family
   carries them to the next frame (the model's own cleaned 8-bit prediction, never the remapped track ids:
   what it was trained on);
4. ``tracking``: with a tracker (the default), :class:`~vps.runtime.tracker.TrackTable` turns the 8-bit ids
   into 32-bit track ids that are never reused; without one (``track=False``) the model's own ids are the
   result. The maps go back to the frame's resolution (:class:`~vps.runtime.result.FrameResult`).

Everything carried between frames is the typed :class:`~vps.runtime.state.StreamState`: the family's carry,
the track table's state and the stream geometry. The same frames and seed give the same output on every
backend. Hooks (:data:`~vps.runtime.family.GraphHook`, :attr:`Segmenter.hooks`) see every graph call; stage
times come from the engine's :class:`~vps.runtime.timing.StageTimer` (``sync_timing`` waits for the device
at each boundary through the backend's ``sync``).

Construct with :meth:`Segmenter.load` (an export folder), :meth:`Segmenter.from_checkpoint` (the torch
backend on a training checkpoint) or directly from a :class:`~vps.program.FrameProgram` and any
:class:`~vps.runtime.backends.base.Backend`. Importing this module imports neither torch nor an inference
library.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from scipy.ndimage import find_objects

from vps.arrays import to_host
from vps.postprocess import postprocess_panoptic
from vps.program import FrameProgram
from vps.runtime.backends import open_backend
from vps.runtime.backends.base import Backend
from vps.runtime.concurrency import exclusive
from vps.runtime.family import GraphCalls, GraphHook, family_class
from vps.runtime.frames import FrameGeometry, prepare_frame, restore_labels
from vps.runtime.health import CameraHealth
from vps.runtime.manifest import load_manifest
from vps.runtime.result import FrameResult, FrameTrack
from vps.runtime.state import StreamState
from vps.runtime.timing import StageTimer
from vps.runtime.tracker import TrackerConfig, TrackTable

OWN_OPTIONS = ("warm_start", "min_instance_area", "min_part_area", "rgb", "sync_timing", "track", "seed")
# The runtime's tracker default: IoU 0.1 instead of TrackerConfig's 0.5, because consecutive masks of small
# moving objects overlap little at mask resolution (48 x 160 for the tiny preset), so a high threshold splits
# tracks the model itself kept. Measured with the shipped tiny checkpoint on 4 fresh synthetic val clips
# (seed 777, 188x621, 2 steps, warm start, parts split): streamed STQ 0.5003 at 0.1, 0.4974 at 0.2, 0.4895
# at 0.3, 0.4688 at 0.5, against 0.4960 for the offline vps-predict run (which keeps the model's own ids).
# (That measurement predates id continuation, TrackerConfig.continue_iou = 0.01 by default since issue 13:
# on 16 fresh clips of seeds 4040 / 5151, 2 steps, warm start, streamed STQ 0.5007 -> 0.5061 and
# 0.5211 -> 0.5331.)
DEFAULT_TRACKER = TrackerConfig(iou_threshold=0.1)


class Segmenter:
    """Streaming video panoptic segmentation with persistent track ids (see the module docstring).

    ``tracker``: default :data:`DEFAULT_TRACKER`; ``track=False`` reports the model's own ids (offline
    prediction, verification of the model ids, the naive baseline). ``rgb``: frames are RGB rather than
    OpenCV's BGR (per call overridable). ``warm_start``: run the warm-start plan from the second frame of a
    sequence (``False``: the cold plan on every frame). ``min_instance_area``, ``min_part_area``: override
    the program's post-processing thresholds (mask pixels). ``seed``: the family's noise seed.
    ``sync_timing``: wait for the device at every stage boundary so per-stage times are exact on GPU
    backends (costs throughput). ``hooks``: called after every graph call (see :mod:`vps.runtime.family`).
    """

    def __init__(self, program: FrameProgram, backend: Backend, tracker: TrackerConfig | None = None,
                 seed: int = 0, warm_start: bool = True, min_instance_area: int | None = None,
                 min_part_area: int | None = None, rgb: bool = False, sync_timing: bool = False,
                 track: bool = True, hooks: list[GraphHook] | None = None) -> None:
        self.program = program.with_postprocess(min_instance_area, min_part_area)
        self.backend, self.rgb, self.warm_start = backend, rgb, warm_start
        self.layout, self.meta = program.layout, program.meta
        self.timer = StageTimer(getattr(backend, "sync", None) if sync_timing else None)
        self.hooks: list[GraphHook] = [] if hooks is None else hooks
        self.model = family_class(program.family)(self.program, GraphCalls(backend, self.timer, self.hooks),
                                                   seed, warm_start)
        self.state = StreamState(carry=self.model.new_carry())
        tracker = tracker or DEFAULT_TRACKER
        self.table = TrackTable(self.meta, tracker, self.layout.label_divisor,
                                state=self.state.tracker) if track else None
        self.health = CameraHealth(tracker.health)  # camera faults (vps.runtime.health)
        self.sequence_index = 0

    @property
    def min_instance_area(self) -> int:
        return self.program.min_instance_area

    @property
    def min_part_area(self) -> int:
        return self.program.min_part_area

    @classmethod
    def load(cls, artifacts: str | Path, backend: str = "auto", device: str | None = None,
             tracker: TrackerConfig | None = None, checkpoint: str | Path | None = None,
             precision: str | None = None, **kwargs: Any) -> Segmenter:
        """A segmenter for an export folder; its manifest and every listed file's sha256 are verified first.

        ``backend``: one of :data:`~vps.runtime.backends.BACKENDS`; ``device``: ``cpu``/``cuda`` (default:
        the best available); ``checkpoint``: the training checkpoint (needed by ``torch``, lets ``auto`` pick
        it on CUDA; default: the one the manifest records); ``precision``: the torch backend's autocast.
        ``kwargs``: the constructor's keyword arguments and backend options (``threads``, ``io_binding``,
        ``cuda_graph``).
        """
        manifest = load_manifest(artifacts)  # ManifestError naming the file if anything was changed
        own = {k: kwargs.pop(k) for k in OWN_OPTIONS if k in kwargs}
        checkpoint = checkpoint if checkpoint is not None else manifest.checkpoint
        be = open_backend(artifacts, backend, device, manifest, checkpoint, precision, **kwargs)
        return cls(manifest.program, be, tracker, **own)

    @classmethod
    def from_checkpoint(cls, checkpoint: str | Path, steps: int | None = None, device: str | None = None,
                        precision: str | None = None, warm_steps: int | None = None,
                        warm_time: float | None = None, **kwargs: Any) -> Segmenter:
        """The torch backend on a training checkpoint, without exporting: ``steps`` cold denoiser calls
        (default: the checkpoint's ``diffusion.steps``), the config's warm start; ``kwargs`` as for the
        constructor."""
        from vps.runtime.backends.torch import TorchBackend, checkpoint_program

        program = checkpoint_program(checkpoint, steps, warm_steps, warm_time)
        return cls(program, TorchBackend.from_checkpoint(checkpoint, device, precision), **kwargs)

    # ---- streaming ----------------------------------------------------------------------------------
    @exclusive  # one thread at a time (vps.runtime.concurrency)
    def reset(self) -> None:
        """Start a new sequence: forget previous masks and tracks, restart the noise (ids keep increasing)."""
        self._new_sequence()

    def _new_sequence(self) -> None:
        self.state.reset(self.model.new_carry())
        self.health.reset()
        self.sequence_index += 1

    @exclusive
    def step(self, frame: np.ndarray, rgb: bool | None = None) -> FrameResult:
        """Segment one ``uint8 [H, W, 3]`` BGR frame (RGB with ``rgb=True``; gray/BGRA/[0, 1] floats too).

        Bad frames (wrong dtype, rank, channel count, empty, NaN) raise ``ValueError`` saying why, and leave
        the stream untouched. A frame whose size differs from the stream's starts a new sequence. A frame
        the camera-health check voids (black, saturated: :class:`~vps.runtime.health.HealthConfig`) is not
        segmented: all void, no tracks, and the next good frame continues from the last good prediction.
        """
        timer, p = self.timer, self.program
        timer.start()
        x, geometry = prepare_frame(frame, p.input_size, p.mean, p.std, rgb=self.rgb if rgb is None else rgb,
                                    resize_mode=p.resize_mode, channel_order=p.channel_order)
        if self.state.observe_geometry(geometry):
            self._new_sequence()
        self.state.geometry = geometry
        health = self.health.check(frame)
        timer.lap("preprocess")
        warm = self.model.warm(self.state.carry) and not health.void
        # int32 [h, w] cleaned model ids (what the next frame conditions on), or all void for a blind frame
        ids = self.health.void_ids(p.mask_size, self.meta, self.layout) if health.void else self._infer(x)
        result = replace(self._result(self._sanitize(ids), geometry, warm), health=health)
        self.state.frame_index += 1
        return result

    def _infer(self, x: np.ndarray) -> np.ndarray:
        """Cleaned model ids ``int32 [h, w]`` (host) of one input ``[1, 3, H, W]``; the family keeps them."""
        raw = self.model.infer(x, self.state.carry)  # int32 [1, h, w], backend arrays
        p = self.program
        ids = postprocess_panoptic(raw, self.meta.thing_ids, p.min_instance_area, self.layout.label_divisor,
                                   p.min_part_area)
        ids = np.ascontiguousarray(to_host(ids)[0], dtype=np.int32)
        self.model.observe(ids, self.state.carry)
        self.timer.lap("decode")
        return ids

    def _sanitize(self, ids: np.ndarray) -> np.ndarray:
        """Classes the dataset does not have (the model may have more class logits) become void."""
        meta = self.meta
        sem = ids // self.layout.label_divisor
        bad = (sem >= meta.num_classes) & (sem != meta.ignore_label)
        if not bad.any():
            return ids
        return np.where(bad, meta.ignore_label * self.layout.label_divisor, ids).astype(np.int32)

    def _result(self, ids: np.ndarray, geometry: FrameGeometry, warm: bool) -> FrameResult:
        """Frame-resolution maps (tracked, or the model's own ids without a tracker; lap ``tracking``)."""
        if self.table is None:
            return self._untracked(ids, geometry, warm)
        return self._tracked(ids, geometry, warm)

    def _tracked(self, ids: np.ndarray, geometry: FrameGeometry, warm: bool) -> FrameResult:
        """The track table's answer at frame resolution, with each visible track's area and box."""
        assert self.table is not None
        tracked = self.table.update(ids)
        div = self.layout.label_divisor
        mask_hw = tracked.semantic.shape
        ids = np.fromiter((t.id for t in tracked.tracks), np.int64, len(tracked.tracks))  # sorted
        slot = np.where(tracked.track_ids > 0, np.searchsorted(ids, tracked.track_ids) + 1, 0)  # [h, w]
        full = restore_labels(np.stack([tracked.panoptic(div), slot.astype(np.int32)]), geometry)  # [2, H, W]
        panoptic, slot_full = full[0], full[1]
        track_ids = np.concatenate([[0], ids]).astype(np.int32)[slot_full]
        areas = np.bincount(slot_full.ravel(), minlength=len(ids) + 1)
        boxes = find_objects(slot_full, max_label=len(ids))  # exact boxes of the frame-resolution masks
        tracks = tuple(
            FrameTrack(id=t.id, class_id=t.class_id,
                       panoptic_id=t.class_id * div + (t.id - tracked.sequence_first_id) % (div - 1) + 1,
                       area=int(areas[k + 1]), box=_box(boxes[k], t.box, geometry, mask_hw), age=t.age)
            for k, t in enumerate(tracked.tracks))
        self.timer.lap("tracking")
        return FrameResult(panoptic=panoptic, semantic=panoptic // div, track_ids=track_ids, tracks=tracks,
                           timings=self.timer.total(), frame_index=self.state.frame_index,
                           sequence_index=self.sequence_index, label_divisor=div, geometry=geometry,
                           warm_start=warm)

    def _untracked(self, ids: np.ndarray, geometry: FrameGeometry, warm: bool) -> FrameResult:
        """The model's own ids at frame resolution (``track_ids``: its 8-bit instance ids; no tracks)."""
        div = self.layout.label_divisor
        panoptic = restore_labels(ids, geometry)  # int32 [H, W]
        self.timer.lap("tracking")
        return FrameResult(panoptic=panoptic, semantic=panoptic // div, track_ids=panoptic % div, tracks=(),
                           timings=self.timer.total(), frame_index=self.state.frame_index,
                           sequence_index=self.sequence_index, label_divisor=div, geometry=geometry,
                           warm_start=warm)


def _box(found: tuple[slice, slice] | None, mask_box: tuple[int, int, int, int], geometry: FrameGeometry,
         mask_hw: tuple[int, int]) -> tuple[int, int, int, int]:
    """Half-open ``(x0, y0, x1, y1)`` frame-pixel box of a track's frame-resolution mask.

    A track too small to cover a frame pixel (frames smaller than the mask) gets its mask-resolution box
    mapped to the frame, rounded outwards.
    """
    if found is not None:
        rows, cols = found
        return cols.start, rows.start, cols.stop, rows.stop
    x0, y0, x1, y1 = geometry.box_to_frame(mask_box, mask_hw)
    return math.floor(x0), math.floor(y0), math.ceil(x1), math.ceil(y1)
