"""What a streaming segmenter carries from one frame to the next, as one typed object.

The model family's own state (:attr:`StreamState.carry`; Pix2Seq-D: the bits of the two previous predicted
masks, see :class:`vps.runtime.pix2seq_d.DiffusionCarry`), the track table's state, and the stream's
geometry and frame count. :meth:`StreamState.reset` starts a new sequence (a cut, a camera restart, a
resolution change) while track ids keep increasing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vps.runtime.frames import FrameGeometry
from vps.runtime.tracker import TrackerState


@dataclass
class StreamState:
    """Per-stream state of the runtime (``carry`` is replaced by the engine at every new sequence)."""

    carry: Any = None  # the model family's state (FrameModel.new_carry)
    tracker: TrackerState = field(default_factory=TrackerState)
    frame_index: int = 0  # frames processed since the last reset
    geometry: FrameGeometry | None = None  # of the frames in this sequence

    def reset(self, carry: Any = None) -> None:
        """Forget everything about the current sequence (the tracker's id counter survives)."""
        self.carry = carry
        self.frame_index = 0
        self.geometry = None
        self.tracker.reset()

    def observe_geometry(self, geometry: FrameGeometry) -> bool:
        """Whether a frame of ``geometry`` starts a new sequence (the geometry differs from the stream's)."""
        return self.geometry is not None and self.geometry != geometry
