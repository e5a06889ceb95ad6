"""What a streaming segmenter carries from one frame to the next, as one typed object.

Pix2Seq-D conditions each frame's denoising on the analog bits of the two previous predicted masks and
warm-starts from the previous frame's latent; the track table keeps its own state. :meth:`StreamState.reset`
starts a new sequence (a cut, a camera restart, a resolution change) while track ids keep increasing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from vps.runtime.frames import FrameGeometry
from vps.runtime.tracker import TrackerState


@dataclass
class StreamState:
    """Per-stream state of the runtime.

    ``prev_bits``: ``float32 [2, num_bits, h, w]``, index 0 = previous frame (t-1), index 1 = t-2; a missing
    frame (start of a sequence) is all zeros, which is what the model saw for a dropped conditioning
    during training. ``None`` before the first frame.
    """

    prev_bits: np.ndarray | None = None  # float32 [2, 16, h, w]
    tracker: TrackerState = field(default_factory=TrackerState)
    warm_latent: np.ndarray | None = None  # float32 [1, 16, h, w] sampler state to warm-start from
    frame_index: int = 0  # frames processed since the last reset
    geometry: FrameGeometry | None = None  # of the frames in this sequence

    def reset(self) -> None:
        """Forget everything about the current sequence (the tracker's id counter survives)."""
        self.prev_bits = None
        self.warm_latent = None
        self.frame_index = 0
        self.geometry = None
        self.tracker.reset()

    def observe_geometry(self, geometry: FrameGeometry) -> bool:
        """Record the geometry of an incoming frame; reset first if it differs. Returns whether it reset."""
        changed = self.geometry is not None and self.geometry != geometry
        if changed:
            self.reset()
        self.geometry = geometry
        return changed

    def push_bits(self, bits: np.ndarray) -> None:
        """Make ``bits`` (``float [num_bits, h, w]``, the frame just predicted) the t-1 conditioning."""
        bits = np.asarray(bits, np.float32)
        if bits.ndim != 3:
            raise ValueError(f"bits must be [num_bits, h, w], got shape {bits.shape}")
        if self.prev_bits is None:
            self.prev_bits = np.zeros((2, *bits.shape), np.float32)
        elif self.prev_bits.shape[1:] != bits.shape:
            raise ValueError(f"bits shape {bits.shape} differs from the stream's {self.prev_bits.shape[1:]}; "
                             f"reset() first")
        else:
            self.prev_bits[1] = self.prev_bits[0]
        self.prev_bits[0] = bits
