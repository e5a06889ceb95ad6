"""Streaming runtime pieces (torch-free): export manifest, frame handling, track table, stream state.

Nothing in this package may import torch, triton, onnx or the training/export code, directly or
indirectly: a driving stack installs only ``vps-toolkit`` (numpy, OpenCV, SciPy, ONNX Runtime) and runs
exported graphs. ``tests/runtime/test_torch_free.py`` enforces this.
"""

from vps.runtime.frames import RESIZE_MODES, FrameGeometry, prepare_frame, restore_labels
from vps.runtime.manifest import (
    MANIFEST_NAME,
    SCHEMA_VERSION,
    GraphSpec,
    Manifest,
    ManifestError,
    SamplerSchedule,
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

__all__ = [
    "MANIFEST_NAME",
    "MAX_TRACK_ID",
    "RESIZE_MODES",
    "SCHEMA_VERSION",
    "TRACK_LABEL_DIVISOR",
    "FrameGeometry",
    "GraphSpec",
    "Manifest",
    "ManifestError",
    "SamplerSchedule",
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
