"""Streaming runtime (torch-free): export manifest, frame handling, track table, stream state, and the
:class:`Segmenter` (one camera frame in, one tracked panoptic :class:`FrameResult` out; ``vps-run``).

The segmenter, its results, timers and frame sources are imported lazily (module ``__getattr__``), so
``import vps.runtime`` stays as light as the groundwork modules.

Nothing in this package may import torch, triton, onnx or the training/export code, directly or
indirectly: a driving stack installs only ``vps-toolkit`` (numpy, OpenCV, SciPy, ONNX Runtime) and runs
exported graphs. ``tests/runtime/test_torch_free.py`` enforces this.
"""

from vps.program import FrameProgram, KernelPlan, SamplerPlan, StepPlan
from vps.runtime.frames import RESIZE_MODES, FrameGeometry, prepare_frame, restore_labels
from vps.runtime.manifest import (
    MANIFEST_NAME,
    SCHEMA_VERSION,
    GraphSpec,
    Manifest,
    ManifestError,
    ShapeProfile,
    TensorSpec,
    load_manifest,
    sha256_file,
    verify_files,
    write_manifest,
)
from vps.runtime.state import StreamState
from vps.runtime.tracker import (
    MAX_TRACK_ID,
    TRACK_LABEL_DIVISOR,
    Track,
    TrackedFrame,
    TrackerConfig,
    TrackerState,
    TrackRecord,
    TrackTable,
)

_LAZY = {
    "ConcurrentUseError": "vps.runtime.concurrency",
    "FrameHealth": "vps.runtime.health",
    "HealthConfig": "vps.runtime.health",
    "Segmenter": "vps.runtime.segmenter",
    "DEFAULT_TRACKER": "vps.runtime.segmenter",
    "FrameResult": "vps.runtime.result",
    "FrameTrack": "vps.runtime.result",
    "StageTimer": "vps.runtime.timing",
    "StageStats": "vps.runtime.timing",
    "open_source": "vps.runtime.sources",
    "SourceFrame": "vps.runtime.sources",
}


def __getattr__(name: str) -> object:
    """Import the segmenter-side names on first use."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'vps.runtime' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


__all__ = [
    "ConcurrentUseError",
    "FrameHealth",
    "HealthConfig",
    "DEFAULT_TRACKER",
    "FrameResult",
    "FrameTrack",
    "Segmenter",
    "SourceFrame",
    "StageStats",
    "StageTimer",
    "open_source",
    "MANIFEST_NAME",
    "MAX_TRACK_ID",
    "RESIZE_MODES",
    "SCHEMA_VERSION",
    "TRACK_LABEL_DIVISOR",
    "FrameGeometry",
    "GraphSpec",
    "Manifest",
    "ManifestError",
    "FrameProgram",
    "KernelPlan",
    "SamplerPlan",
    "StepPlan",
    "ShapeProfile",
    "StreamState",
    "TensorSpec",
    "Track",
    "TrackRecord",
    "TrackTable",
    "TrackedFrame",
    "TrackerConfig",
    "TrackerState",
    "load_manifest",
    "prepare_frame",
    "restore_labels",
    "sha256_file",
    "verify_files",
    "write_manifest",
]
