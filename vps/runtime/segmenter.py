"""The streaming segmenter a driving stack embeds: one camera frame in, one tracked panoptic frame out.

Per frame (:meth:`Segmenter.step`), with ``h x w`` the manifest's mask size:

1. ``preprocess``: validate and fit the frame to the network input (:func:`~vps.runtime.frames.prepare_frame`,
   the manifest's ``resize_mode``); a frame size other than the stream's resets the stream first;
2. ``encoder``, ``context``, ``denoise_i``: the exported graphs run through the backend-agnostic host loop
   (:func:`vps.runtime.sampling.run_denoiser`) conditioned on the analog bits of the model's own two
   previous predictions (zeros at the start of a sequence); from the second frame of a sequence on, the
   manifest's warm-start schedule starts from the previous prediction's bits;
3. ``decode``: argmax ids (``class * 1000 + 8-bit id``), the same clean-up as the training code
   (:func:`vps.runtime.postprocess.postprocess_panoptic`) and the bits fed back to the model next frame:
   always the model's own decoded 8-bit prediction, never the remapped track ids (what it was trained on);
4. ``tracking``: :class:`~vps.runtime.tracker.TrackTable` turns the 8-bit ids into 32-bit track ids that are
   never reused (IoU + Hungarian per class repairs id switches; lost tracks kept ``max_lost`` frames), and
   the maps go back to the frame's resolution (:class:`~vps.runtime.result.FrameResult` conventions).

Everything carried between frames is the typed :class:`~vps.runtime.state.StreamState` (bits of the last two
predictions, the warm-start latent, the track table's state, the stream geometry) plus the seeded noise
source, restarted with every sequence: the same frames and seed give the same output on every backend.

Backends (``Segmenter.load(..., backend=...)``): ``onnxruntime`` (CPU, or CUDA with ``onnxruntime-gpu``),
``tensorrt`` (engines in the folder), ``torch`` (the checkpoint itself; on CUDA under autocast with the
Triton kernels and, with ``cuda_graph=True``, the whole per-frame device work captured in one CUDA graph
per schedule: :class:`~vps.runtime.graphs.FrameGraphs`; written for capture but not run in CI, which has
no GPU). ``auto`` picks TensorRT if importable and the folder holds engines, else PyTorch on CUDA if a
checkpoint is given (or recorded in the manifest) and CUDA is available, else ONNX Runtime (CUDA provider
if installed, else CPU). Importing this module imports neither torch nor an inference library; torch is
imported only to check for CUDA when a checkpoint is at hand, or for the torch backend.
"""

from __future__ import annotations

import importlib.util
import math
import warnings
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from scipy.ndimage import find_objects

from vps.bits import panoptic_to_bits
from vps.runtime.backends.base import Backend
from vps.runtime.concurrency import exclusive
from vps.runtime.frames import FrameGeometry, prepare_frame, restore_labels
from vps.runtime.graphs import ConstantCache, FrameGraphs
from vps.runtime.health import CameraHealth
from vps.runtime.manifest import Manifest, load_manifest
from vps.runtime.postprocess import postprocess_panoptic
from vps.runtime.result import FrameResult, FrameTrack
from vps.runtime.sampling import NUM_COND_FRAMES, NoiseSource, StepPlan, decode, run_denoiser
from vps.runtime.state import StreamState
from vps.runtime.timing import StageTimer
from vps.runtime.tracker import TrackedFrame, TrackerConfig, TrackTable

BACKENDS = ("auto", "onnxruntime", "tensorrt", "torch")
OWN_OPTIONS = ("warm_start", "min_instance_area", "min_part_area", "rgb", "sync_timing")  # load kwargs
DEFAULT_MIN_INSTANCE_AREA = 4  # for manifests written before min_instance_area was recorded
DEFAULT_MIN_PART_AREA = 0  # manifests written before min_part_area was recorded: exported without splitting
# The runtime's tracker default: IoU 0.1 instead of TrackerConfig's 0.5, because consecutive masks of small
# moving objects overlap little at mask resolution (48 x 160 for the tiny preset), so a high threshold splits
# tracks the model itself kept. Measured with the shipped tiny checkpoint on 4 fresh synthetic val clips
# (seed 777, 188x621, 2 steps, warm start, parts split): streamed STQ 0.5003 at 0.1, 0.4974 at 0.2, 0.4895
# at 0.3, 0.4688 at 0.5, against 0.4960 for the offline vps-predict run (which keeps the model's own ids).
DEFAULT_TRACKER = TrackerConfig(iou_threshold=0.1)


class _TimedBackend:
    """Backend wrapper that laps the timer after ``context`` and after each ``denoise`` call."""

    def __init__(self, backend: Backend, timer: StageTimer) -> None:
        self.inner, self.timer, self.name, self.calls = backend, timer, backend.name, 0

    def encode(self, images: Any) -> Any:
        return self.inner.encode(images)

    def context(self, cond: Any, feats: Any) -> list[Any]:
        out = self.inner.context(cond, feats)
        self.timer.lap("context")
        return out

    def denoise(self, x_t: Any, ctx: Sequence[Any], gamma: Any) -> Any:
        out = self.inner.denoise(x_t, ctx, gamma)
        self.timer.lap(f"denoise_{self.calls}")
        self.calls += 1
        return out

    def asarray(self, array: np.ndarray) -> Any:
        return self.inner.asarray(array)

    def to_numpy(self, array: Any) -> np.ndarray:
        return self.inner.to_numpy(array)


def resolve_backend_kind(kind: str, manifest: Manifest, checkpoint: str | Path | None = None) -> str:
    """The concrete backend ``auto`` stands for (see the module docstring); other kinds are returned as is."""
    if kind not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {kind!r}")
    if kind != "auto":
        return kind
    engines = {g.engine for g in manifest.graphs}
    if engines == {"trt"} and _importable("tensorrt"):
        return "tensorrt"
    if checkpoint is not None and Path(checkpoint).is_file() and _importable("torch"):
        import torch

        if torch.cuda.is_available():
            return "torch"
    return "onnxruntime"


def _importable(name: str) -> bool:
    """Whether ``import name`` would find the module (without importing it)."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def open_segmenter_backend(folder: str | Path, manifest: Manifest, kind: str = "auto",
                           device: str | None = None, checkpoint: str | Path | None = None,
                           precision: str | None = None, **options: Any) -> Backend:
    """Construct the backend ``kind`` for an export folder (``device``: ``cpu``/``cuda``, default: best here).

    ``checkpoint``: the training checkpoint for the ``torch`` backend. ``precision``: ``fp16``/``bf16``
    autocast for the torch backend (default ``bf16`` on CUDA, fp32 on the CPU). ``options`` go to the ONNX
    Runtime / TensorRT backend constructors (``threads``, ``io_binding``, ``cuda_graph``).
    """
    kind = resolve_backend_kind(kind, manifest, checkpoint)
    if kind == "torch":
        return _torch_backend(checkpoint, device, precision)
    from vps.runtime.backends import open_backend

    if kind == "onnxruntime" and device is None:
        import onnxruntime

        device = "cuda" if "CUDAExecutionProvider" in onnxruntime.get_available_providers() else "cpu"
    return open_backend(folder, kind, device=device or "cpu", manifest=manifest, **options)


def _torch_backend(checkpoint: str | Path | None, device: str | None, precision: str | None) -> Backend:
    if checkpoint is None:
        raise ValueError("the torch backend runs the training checkpoint: pass checkpoint=PATH "
                         "(vps-run --checkpoint)")
    import torch

    from vps.runtime.backends.torch import TorchBackend

    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    if precision is None:
        precision = "bf16" if device.startswith("cuda") else "fp32"
    dtypes = {"fp32": None, "fp16": torch.float16, "bf16": torch.bfloat16}
    if precision not in dtypes:
        raise ValueError(f"precision must be one of {sorted(dtypes)}, got {precision!r}")
    return TorchBackend.from_checkpoint(checkpoint, device, dtypes[precision])


class Segmenter:
    """Streaming video panoptic segmentation with persistent track ids (see the module docstring).

    Construct with :meth:`load` (an export folder) or directly from a manifest and any
    :class:`~vps.runtime.backends.base.Backend`. ``tracker``: default :data:`DEFAULT_TRACKER`. ``rgb``:
    frames are RGB rather than OpenCV's BGR (per call overridable). ``warm_start``: run the manifest's
    warm-start schedule from the second frame of a sequence (the runtime's default; ``False`` runs the cold
    schedule on every frame). ``min_instance_area``: the post-processing threshold (mask pixels) of the
    checkpoint; default: the manifest's, else :data:`DEFAULT_MIN_INSTANCE_AREA`. ``min_part_area``: detached
    instance parts of at least this many mask pixels become instances of their own (``vps.components``);
    default: the manifest's, else :data:`DEFAULT_MIN_PART_AREA`. ``sync_timing``: synchronise
    the device at every stage boundary so per-stage times are exact on GPU backends (costs throughput).
    ``cuda_graph``: capture the per-frame device work in CUDA graphs (torch backend on CUDA only; see
    :class:`FrameGraphs`).
    """

    def __init__(self, manifest: Manifest, backend: Backend, tracker: TrackerConfig | None = None,
                 seed: int = 0, warm_start: bool = True, min_instance_area: int | None = None,
                 min_part_area: int | None = None, rgb: bool = False, sync_timing: bool = False,
                 cuda_graph: bool = False) -> None:
        self.manifest, self.backend, self.rgb, self.warm_start = manifest, backend, rgb, warm_start
        self.layout, self.meta = manifest.layout, manifest.meta
        self.min_instance_area = _first_set(min_instance_area, manifest.min_instance_area,
                                            DEFAULT_MIN_INSTANCE_AREA)
        self.min_part_area = _first_set(min_part_area, manifest.min_part_area, DEFAULT_MIN_PART_AREA)
        if self.min_instance_area < 0 or self.min_part_area < 0:
            raise ValueError(f"min_instance_area and min_part_area must be >= 0, got "
                             f"{self.min_instance_area} and {self.min_part_area}")
        self.cold = StepPlan.from_schedule(manifest.sampler, warm=False)
        self.warm = StepPlan.from_schedule(manifest.sampler, warm=True)
        self.noise = NoiseSource(seed)
        self.state = StreamState()
        self.table = TrackTable(self.meta, tracker or DEFAULT_TRACKER, self.layout.label_divisor,
                                state=self.state.tracker)
        self.timer = StageTimer(_device_sync(backend) if sync_timing else None)
        self.health = CameraHealth(self.table.config.health)  # camera faults (vps.runtime.health)
        self.sequence_index = 0
        self._zeros_cond: np.ndarray | None = None
        self._exec = ConstantCache(backend)  # no host->device copy of the step gammas inside the loop
        self._graphs = FrameGraphs(self._exec, self.cold, self.warm, manifest) if cuda_graph else None

    @classmethod
    def load(cls, artifacts: str | Path, backend: str = "auto", device: str | None = None,
             tracker: TrackerConfig | None = None, seed: int = 0, checkpoint: str | Path | None = None,
             precision: str | None = None, cuda_graph: bool | None = None, **kwargs: Any) -> Segmenter:
        """A segmenter for an export folder; its manifest and every listed file's sha256 are verified first.

        ``backend``: one of :data:`BACKENDS`; ``device``: ``cpu``/``cuda`` (default: the best available);
        ``checkpoint``: the training checkpoint (needed by ``torch``, lets ``auto`` pick it on CUDA);
        ``cuda_graph``: default on for the torch backend on CUDA (whole frame, :class:`FrameGraphs`) and for
        TensorRT (the backend's own denoiser-step replay). ``kwargs``: the constructor's keyword arguments
        (``warm_start``, ``min_instance_area``, ``min_part_area``, ``rgb``, ``sync_timing``) and backend
        options (``threads``, ``io_binding``).
        """
        manifest = load_manifest(artifacts)  # ManifestError naming the file if anything was changed
        own = {k: kwargs.pop(k) for k in OWN_OPTIONS if k in kwargs}
        checkpoint = checkpoint if checkpoint is not None else manifest.checkpoint
        kind = resolve_backend_kind(backend, manifest, checkpoint)
        if kind == "tensorrt":
            kwargs.setdefault("cuda_graph", True if cuda_graph is None else bool(cuda_graph))
            cuda_graph = False
        be = open_segmenter_backend(artifacts, manifest, kind, device, checkpoint, precision, **kwargs)
        on_cuda = be.name == "torch" and str(getattr(be, "device", "cpu")).startswith("cuda")
        graphs = on_cuda if cuda_graph is None else bool(cuda_graph)
        if graphs and not on_cuda:
            raise ValueError("cuda_graph=True needs the torch backend on a CUDA device")
        return cls(manifest, be, tracker, seed, cuda_graph=graphs, **own)

    # ---- streaming ----------------------------------------------------------------------------------
    @exclusive  # one thread at a time (vps.runtime.concurrency)
    def reset(self) -> None:
        """Start a new sequence: forget previous masks and tracks, restart the noise (ids keep increasing)."""
        self.state.reset()
        self._restart()

    def _restart(self) -> None:
        self.noise.reset()
        self.sequence_index += 1

    @exclusive
    def step(self, frame: np.ndarray, rgb: bool | None = None) -> FrameResult:
        """Segment one ``uint8 [H, W, 3]`` BGR frame (RGB with ``rgb=True``; gray/BGRA/[0, 1] floats too).

        Bad frames (wrong dtype, rank, channel count, empty, NaN) raise ``ValueError`` saying why, and leave
        the stream untouched. A frame whose size differs from the stream's starts a new sequence.
        """
        timer = self.timer
        timer.start()
        m = self.manifest
        x, geometry = prepare_frame(frame, m.input_size, m.mean, m.std, rgb=self.rgb if rgb is None else rgb,
                                    resize_mode=m.resize_mode, channel_order=m.channel_order)
        if self.state.observe_geometry(geometry):
            self._restart()
        health = self.health.check(frame)  # a voided frame is not segmented: void map, no tracks
        timer.lap("preprocess")
        warm = self.warm_start and self.state.warm_latent is not None and not health.void
        ids = self._infer(x, warm) if not health.void else self.health.void_ids(self.manifest.mask_size,
                                                                               self.meta, self.layout)
        tracked = self.table.update(self._sanitize(ids))
        result = replace(self._result(tracked, geometry, warm), health=health)
        self.state.frame_index += 1
        return result

    def _infer(self, x: np.ndarray, warm: bool) -> np.ndarray:
        """Cleaned model ids ``int32 [h, w]`` of one input ``[1, 3, H, W]``; their bits go to the state."""
        h, w = self.manifest.mask_size
        noise = self.noise((1, self.layout.num_bits, h, w))  # drawn first, as in SamplingLoop
        cond = self._cond((h, w))
        x_init = self.state.warm_latent if warm else None
        if self._graphs is not None:
            raw = self._replay(x, cond, noise, x_init, warm)
        else:
            raw = self._eager(x, cond, noise, x_init, warm)
        ids = postprocess_panoptic(raw, self.meta.thing_ids, self.min_instance_area,
                                   self.layout.label_divisor, self.min_part_area)
        self.state.push_bits(panoptic_to_bits(ids, self.layout))  # [16, h, w]: t-1 <- this frame
        assert self.state.prev_bits is not None
        self.state.warm_latent = self.state.prev_bits[:1]  # [1, 16, h, w] view of the t-1 bits
        self.timer.lap("decode")
        return ids

    def _replay(self, x: np.ndarray, cond: np.ndarray, noise: np.ndarray, x_init: np.ndarray | None,
                warm: bool) -> np.ndarray:
        """The CUDA-graph path (lap ``device``); a failed first capture warns and falls back to eager."""
        assert self._graphs is not None
        try:
            raw = self._graphs.run(x, cond, noise, x_init)
        except RuntimeError as e:
            if self._graphs.graphs:  # capture worked before: a real failure
                raise
            warnings.warn(f"CUDA-graph capture failed ({str(e).splitlines()[0] if str(e) else e!r}); "
                          f"running the frame eagerly from now on", RuntimeWarning, stacklevel=3)
            self._graphs = None
            return self._eager(x, cond, noise, x_init, warm)
        self.timer.lap("device")
        return raw

    def _eager(self, x: np.ndarray, cond: np.ndarray, noise: np.ndarray, x_init: np.ndarray | None,
               warm: bool) -> np.ndarray:
        be = self._exec
        feats = be.encode(be.asarray(x))  # [1, C, h, w]
        self.timer.lap("encoder")
        timed = _TimedBackend(be, self.timer)
        logits = run_denoiser(timed, feats, be.asarray(cond), self.warm if warm else self.cold,
                              be.asarray(noise), self.layout.scale,
                              None if x_init is None else be.asarray(x_init))  # [1, 512, h, w]
        return decode(be, logits, self.layout)[0]  # int32 [h, w] on the host

    def _cond(self, hw: tuple[int, int]) -> np.ndarray:
        """``float32 [1, 32, h, w]``: bits of t-1 then t-2 (zeros before the first frame)."""
        bits = self.state.prev_bits
        if bits is None:
            if self._zeros_cond is None or self._zeros_cond.shape[2:] != hw:
                self._zeros_cond = np.zeros((1, NUM_COND_FRAMES * self.layout.num_bits, *hw), np.float32)
            return self._zeros_cond
        return bits.reshape(1, -1, *bits.shape[2:])

    def _sanitize(self, ids: np.ndarray) -> np.ndarray:
        """Classes the dataset does not have (the model may have more class logits) become void."""
        meta = self.meta
        sem = ids // self.layout.label_divisor
        bad = (sem >= meta.num_classes) & (sem != meta.ignore_label)
        if not bad.any():
            return ids
        return np.where(bad, meta.ignore_label * self.layout.label_divisor, ids).astype(np.int32)

    def _result(self, tracked: TrackedFrame, geometry: FrameGeometry, warm: bool) -> FrameResult:
        """Frame-resolution maps and tracks of the tracker's mask-resolution answer (lap ``tracking``)."""
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


def _first_set(*values: int | None) -> int:
    """The first of ``values`` that is not None, as an int."""
    return int(next(v for v in values if v is not None))


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


def _device_sync(backend: Backend) -> Any:
    """A callable waiting for the backend's device work (None on host backends)."""
    on_cuda = backend.name == "tensorrt" or str(getattr(backend, "device", "cpu")).startswith("cuda")
    if backend.name in ("torch", "tensorrt") and on_cuda:
        import torch

        return torch.cuda.synchronize
    return None
