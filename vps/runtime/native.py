"""Switch between the native core (``vps_native``, built from ``cmake/``) and the NumPy twins.

The native core is the C++ library ``vps_core`` (C API in ``cmake/include/vps_core.h``) with a nanobind
binding, installed as the optional package ``vps-native`` (``pip install ./cmake``; ``make test`` builds it).
It computes exactly what the NumPy twins compute, bit for bit (``tests/native/``), only faster.

Switch: the environment variable ``VPS_NATIVE`` (read at every call) or :func:`set_mode` (wins over it):

* ``auto`` (default): native when ``vps_native`` imports, else NumPy;
* ``on``: native, and an ``ImportError`` saying how to build it when it is missing;
* ``off``: NumPy everywhere.

Dispatch: each function below returns the native result, or ``None`` when the NumPy twin must run (native
off or missing, or an input the native core does not take: other dtypes, ranks, class ids outside its
ranges). The runtime's functions call them in a 2-line guard at their entry point
(``vps.bits.panoptic_to_bits``, ``vps.kernels.decode_panoptic`` on host arrays,
``vps.postprocess.postprocess_panoptic``, ``restore_labels``, ``TrackTable.update``). Importing this module
imports neither ``vps_native`` nor anything beyond NumPy.

Track table: the native table lives on the :class:`~vps.runtime.tracker.TrackTable` object. After each
native frame the Python :class:`~vps.runtime.tracker.TrackerState` mirrors its counters (``next_id``,
``sequence_first_id``, ``frame_index``) and records; the last masks of lost tracks stay in the native table
(their Python record's ``mask`` is an empty ``(0, 0)`` placeholder). A sequence started on one side stays
there until the next reset (``frame_index == 0``), even if the mode changes meanwhile: the table is never
split between the two.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Sequence
from types import ModuleType
from typing import Any

import numpy as np

ENV = "VPS_NATIVE"
MODES = ("auto", "on", "off")
INT32 = np.iinfo(np.int32)
_forced: str | None = None
_module: ModuleType | None = None
_import_error: str | None = None


def set_mode(mode: str | None) -> None:
    """Force ``auto``/``on``/``off`` for this process (``None``: back to the ``VPS_NATIVE`` variable)."""
    global _forced
    if mode is not None and mode not in MODES:
        raise ValueError(f"native mode must be one of {MODES} or None, got {mode!r}")
    _forced = mode


def mode() -> str:
    """The mode in force: :func:`set_mode`'s, else ``VPS_NATIVE``'s, else ``auto``."""
    value = _forced if _forced is not None else os.environ.get(ENV, "auto").strip().lower() or "auto"
    if value not in MODES:
        raise ValueError(f"{ENV} must be one of {MODES}, got {value!r}")
    return value


def module() -> ModuleType | None:
    """The ``vps_native`` extension if the mode allows it and it imports, else ``None``."""
    global _module, _import_error
    current = mode()
    if current == "off":
        return None
    if _module is None and _import_error is None:
        try:
            _module = importlib.import_module("vps_native")
        except ImportError as e:
            _import_error = str(e)
    if _module is None and current == "on":
        raise ImportError(f"{ENV}=on but the native core is not installed ({_import_error}); build it with "
                          f"`pip install ./cmake` (needs a C++17 compiler) or `make test`")
    return _module


def enabled() -> bool:
    """Whether the native core is used now."""
    return module() is not None


def _as_int32(x: Any, ndim: int | None = None) -> np.ndarray | None:
    """``x`` as a C-contiguous int32 array if it is an integer array of rank ``ndim`` whose values fit."""
    if not isinstance(x, np.ndarray) or x.dtype.kind not in "iu" or (ndim is not None and x.ndim != ndim):
        return None
    wide = x.dtype.itemsize > 4 or x.dtype == np.uint32
    if wide and x.size and (x.min() < INT32.min or x.max() > INT32.max):
        return None
    return np.ascontiguousarray(x, np.int32)


def _fits(*values: Any) -> bool:
    """Whether every value is an integer the C API takes as is (int32 range; thresholds compared exactly)."""
    return all(isinstance(v, int | np.integer) and not isinstance(v, bool) and INT32.min <= v <= INT32.max
               for v in values)


def _byte_ids(ids: Sequence[int], limit: int) -> np.ndarray | None:
    ids = np.asarray(list(ids), np.int64)
    if ids.size and (ids.min() < 0 or ids.max() >= limit):
        return None
    return ids.astype(np.int32)


def panoptic_to_bits(panoptic: Any, layout: Any) -> np.ndarray | None:
    """:func:`vps.bits.panoptic_to_bits` of an ``int [h, w]`` map, or ``None``."""
    mod = module()
    pan = _as_int32(panoptic, 2) if mod is not None else None
    if pan is None or pan.size == 0 or not _fits(layout.label_divisor):
        return None
    L = layout
    return mod.panoptic_to_bits(pan, L.class_bits, L.instance_bits, L.scale, L.label_divisor)


def decode_logits(logits: Any, layout: Any) -> np.ndarray | None:
    """``int32 [B, h, w]`` ids of host ``float32 [B, 512 or 16, h, w]`` logits/bits, or ``None``."""
    mod = module()
    if (mod is None or not isinstance(logits, np.ndarray) or logits.dtype != np.float32 or logits.ndim != 4
            or logits.shape[1] not in (512, 16) or 0 in logits.shape or not _fits(layout.label_divisor)):
        return None
    x = np.ascontiguousarray(logits)
    h, w = x.shape[2:]
    return np.stack([mod.decode_panoptic(x[b], layout.label_divisor, h, w) for b in range(x.shape[0])])


def postprocess_panoptic(pan: Any, thing_ids: Sequence[int], min_area: int, label_divisor: int,
                         min_part_area: int) -> np.ndarray | None:
    """:func:`vps.postprocess.postprocess_panoptic` of one ``[h, w]`` map, or ``None``."""
    mod = module()
    pan32 = _as_int32(np.asarray(pan), 2) if mod is not None else None
    things = _byte_ids(thing_ids, 256) if pan32 is not None else None
    if things is None or pan32.size == 0 or not _fits(label_divisor, min_area, min_part_area):
        return None
    if label_divisor < 1:
        return None
    return mod.postprocess_panoptic(pan32, things, int(min_area), int(label_divisor), int(min_part_area))


def restore_labels(labels: Any, geometry: Any) -> np.ndarray | None:
    """:func:`vps.runtime.frames.restore_labels` of an int32 ``[..., h, w]`` map, or ``None``."""
    mod = module()
    if mod is None or not isinstance(labels, np.ndarray) or labels.dtype != np.int32 or labels.ndim < 2:
        return None
    if 0 in labels.shape:
        return None
    g = geometry
    geo = (*g.frame_hw, *g.network_hw, *g.content_hw, *g.offset)
    flat = np.ascontiguousarray(labels).reshape(-1, *labels.shape[-2:])
    return mod.restore_labels(flat, geo).reshape(*labels.shape[:-2], *g.frame_hw)


def track_update(table: Any, panoptic: Any) -> Any:
    """:meth:`vps.runtime.tracker.TrackTable.update` by the native table, or ``None`` (see the module doc)."""
    st = table.state
    owner = _sequence_owner(table)
    if st.frame_index > 0 and owner is None:
        return None  # this sequence started on the Python side: it stays there until the next reset
    if owner is None and getattr(table.config, "continue_iou", None) is not None:
        return None  # id continuation (issue 13) is not in the native table yet: the Python table runs it
    mod = module() if owner is None else _module  # a native sequence stays native, whatever the mode now
    pan = _as_int32(np.asarray(panoptic), 2) if mod is not None else None
    if pan is None or pan.size == 0:
        if owner is not None:  # the Python table cannot take over a native sequence
            raise ValueError(f"panoptic must be a non-empty integer [h, w] map with int32 ids, got "
                             f"{np.asarray(panoptic).dtype} {np.asarray(panoptic).shape}")
        return None
    native = owner if owner is not None else _native_table(mod, table)
    if native is None:
        return None
    if st.frame_index == 0:
        native.restart(st.next_id)
    semantic, track_ids = native.update(pan)
    return _mirror(native, st, semantic, track_ids)


def _sequence_owner(table: Any) -> Any:
    """The native table that drove the current sequence of ``table.state`` (``None`` at frame 0 or if not)."""
    cached = table.__dict__.get("_native_table")
    st = table.state
    if cached is None or st.frame_index == 0:
        return None
    owned = cached[1].counters() == (st.next_id, st.sequence_first_id, st.frame_index)
    return cached[1] if owned else None


def _native_table(mod: ModuleType, table: Any) -> Any:
    """The ``vps_native.Tracker`` kept on ``table`` for its current config (``None``: ids out of range)."""
    cfg = table.config
    key = (cfg.iou_threshold, cfg.max_lost, cfg.min_area, table.label_divisor, tuple(table.meta.thing_ids))
    cached = table.__dict__.get("_native_table")
    if cached is not None and cached[0] == key:
        return cached[1]
    things = _byte_ids(table.meta.thing_ids, 2**20)
    if things is None or max(cfg.max_lost, cfg.min_area, table.label_divisor) > INT32.max:
        return None
    native = mod.Tracker(cfg.iou_threshold, cfg.max_lost, cfg.min_area, things, table.label_divisor)
    table.__dict__["_native_table"] = (key, native)
    return native


def _mirror(native: Any, st: Any, semantic: np.ndarray, track_ids: np.ndarray) -> Any:
    """Copy the native table's counters and records into ``st``; the frame as a ``TrackedFrame``."""
    from vps.runtime.tracker import Track, TrackedFrame, TrackRecord

    visible = [Track(*t) for t in native.tracks(False)]
    lost = [Track(*t) for t in native.tracks(True)]
    frame_index = st.frame_index
    st.next_id, st.sequence_first_id, st.frame_index = native.counters()
    placeholder = np.zeros((0, 0), bool)
    st.tracks = {
        t.id: TrackRecord(t.id, t.class_id, frame_index - t.age + 1, frame_index - t.frames_since_seen,
                          t.area, t.box, placeholder if t.frames_since_seen else None)
        for t in sorted(visible + lost, key=lambda t: t.id)
    }
    return TrackedFrame(semantic=semantic, track_ids=track_ids, tracks=tuple(visible), lost=tuple(lost),
                        frame_index=frame_index, sequence_first_id=st.sequence_first_id)
