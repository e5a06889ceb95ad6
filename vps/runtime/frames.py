"""Camera frame in, network input out; mask-resolution labels back to the camera frame's resolution.

Accepted frames (anything else is a ``ValueError`` that says why):

* ``uint8 [H, W, 3]`` BGR (OpenCV's default) or RGB with ``rgb=True``; ``[H, W, 4]`` BGRA/RGBA (alpha
  dropped); grayscale ``[H, W]`` or ``[H, W, 1]`` (expanded to three equal channels).
* floating-point frames with values in ``[0, 1]`` (e.g. from a debayering pipeline). Other ranges, NaN/inf,
  and integer types other than uint8 (a 12/16-bit camera) are refused rather than guessed: scale them to
  uint8 or [0, 1] float first, because the network was trained on 8-bit images.

Fitting to the network input size ``(H, W)``:

* ``stretch``: resize to exactly ``(H, W)`` (the aspect ratio changes if it differs).
* ``letterbox``: scale by ``min(H / h, W / w)`` keeping the aspect ratio, centre the result and fill the
  border with the normalisation mean (i.e. 0 after normalising), which the model sees as "no image".

The :class:`FrameGeometry` returned with each input records this mapping; :func:`restore_labels` inverts it
(nearest neighbour, torch's ``floor(dst * in / out)`` rule) and two geometries compare equal exactly
when the frames can share stream state, so a resolution change mid-stream is
``geometry != previous_geometry``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from vps.program import RESIZE_MODES
from vps.runtime import native


@dataclass(frozen=True)
class FrameGeometry:
    """Where a camera frame sits inside the network input (all sizes ``(H, W)``, offsets ``(top, left)``)."""

    frame_hw: tuple[int, int]  # camera frame size
    network_hw: tuple[int, int]  # network input size
    content_hw: tuple[int, int]  # size of the resized frame inside the network input
    offset: tuple[int, int]  # (top, left) of the content; (0, 0) for stretch
    resize_mode: str

    @classmethod
    def fit(cls, frame_hw: Sequence[int], network_hw: Sequence[int], resize_mode: str) -> FrameGeometry:
        """Geometry of fitting a ``frame_hw`` frame into ``network_hw`` with ``resize_mode``."""
        fh, fw = (int(v) for v in frame_hw)
        nh, nw = _check_hw(network_hw, "input_size")
        if resize_mode == "stretch":
            return cls((fh, fw), (nh, nw), (nh, nw), (0, 0), resize_mode)
        if resize_mode != "letterbox":
            raise ValueError(f"resize_mode must be one of {RESIZE_MODES}, got {resize_mode!r}")
        scale = min(nh / fh, nw / fw)
        ch, cw = min(nh, max(1, round(fh * scale))), min(nw, max(1, round(fw * scale)))
        return cls((fh, fw), (nh, nw), (ch, cw), ((nh - ch) // 2, (nw - cw) // 2), resize_mode)

    def source_indices(self, labels_hw: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """Row and column of a ``labels_hw`` map (covering the network input) under each frame pixel.

        Returns ``int64 [H_frame]`` rows and ``int64 [W_frame]`` columns (nearest neighbour).
        """
        lh, lw = _check_hw(labels_hw, "labels")
        out = []
        for n_frame, n_content, off, n_net, n_lab in zip(self.frame_hw, self.content_hw, self.offset,
                                                         self.network_hw, (lh, lw), strict=True):
            # same rule as torch's nearest interpolation (src = floor(dst * in / out)), which the model's
            # training labels and the decode kernel use: one nearest convention across the toolkit
            starts = off + np.arange(n_frame, dtype=np.float64) * (n_content / n_frame)  # network px
            out.append(np.clip(np.floor(starts * (n_lab / n_net)), 0, n_lab - 1).astype(np.int64))
        return out[0], out[1]

    def box_to_frame(
        self, box: Sequence[float], labels_hw: Sequence[int]
    ) -> tuple[float, float, float, float]:
        """A half-open ``(x0, y0, x1, y1)`` box in ``labels_hw``-map pixels to frame pixels (clipped)."""
        lh, lw = _check_hw(labels_hw, "labels")
        (nh, nw), (ch, cw), (top, left) = self.network_hw, self.content_hw, self.offset
        fh, fw = self.frame_hw
        x0, y0, x1, y1 = (float(v) for v in box)
        # labels px -> network px -> minus the border -> frame px, clipped to the frame
        fx0, fx1 = (min(max((x * nw / lw - left) * fw / cw, 0.0), fw) for x in (x0, x1))
        fy0, fy1 = (min(max((y * nh / lh - top) * fh / ch, 0.0), fh) for y in (y0, y1))
        return fx0, fy0, fx1, fy1


def _check_hw(hw: Sequence[int], what: str) -> tuple[int, int]:
    if len(hw) != 2 or any(int(v) <= 0 for v in hw):
        raise ValueError(f"{what}: expected two positive sizes (H, W), got {tuple(hw)}")
    return int(hw[0]), int(hw[1])


def _to_rgb(frame: np.ndarray, rgb: bool) -> np.ndarray:
    """Validate a camera frame and return it as ``[H, W, 3]`` RGB of its own dtype (uint8 or float)."""
    if not isinstance(frame, np.ndarray):
        raise ValueError(f"frame must be a numpy array, got {type(frame).__name__}")
    if frame.ndim not in (2, 3):
        raise ValueError(f"frame must be [H, W] or [H, W, C], got shape {frame.shape}")
    if frame.size == 0:
        raise ValueError(f"frame is empty (shape {frame.shape})")
    channels = 1 if frame.ndim == 2 else frame.shape[2]
    if channels not in (1, 3, 4):
        raise ValueError(f"frame has {channels} channels; expected 1 (gray), 3 (BGR/RGB) or 4 (with alpha)")
    if np.issubdtype(frame.dtype, np.floating):
        if not np.isfinite(frame).all():
            raise ValueError("frame contains NaN or infinite values")
        lo, hi = float(frame.min()), float(frame.max())
        if lo < 0.0 or hi > 1.0:
            raise ValueError(f"float frames must lie in [0, 1], got values in [{lo:g}, {hi:g}]")
    elif frame.dtype != np.uint8:
        raise ValueError(f"frame dtype {frame.dtype} not supported: expected uint8 (or float in [0, 1]); "
                         f"scale 12/16-bit images to 8 bits first")
    if channels == 1:
        gray = frame.reshape(frame.shape[0], frame.shape[1])
        return np.repeat(gray[:, :, None], 3, axis=2)
    color = frame[:, :, :3]
    return color if rgb else color[:, :, ::-1]


def prepare_frame(
    frame: np.ndarray,
    input_size: Sequence[int],
    mean: Sequence[float],
    std: Sequence[float],
    rgb: bool = False,
    resize_mode: str = "stretch",
    channel_order: str = "rgb",
) -> tuple[np.ndarray, FrameGeometry]:
    """A camera frame to the normalised network input ``float32 [1, 3, H, W]`` and its geometry.

    ``frame``: see the module docstring (BGR unless ``rgb``). ``input_size``: network ``(H, W)``.
    ``mean``/``std``: per channel of the network input, in ``[0, 1]`` pixel units
    (``x = (pixel / 255 - mean) / std``), listed in ``channel_order`` (the order the network expects).
    """
    nh, nw = _check_hw(input_size, "input_size")
    mean_a, std_a = np.asarray(mean, np.float32), np.asarray(std, np.float32)
    if mean_a.shape != (3,) or std_a.shape != (3,) or not (std_a > 0).all():
        raise ValueError(f"mean and std need 3 values each with std > 0, got {mean} and {std}")
    if channel_order not in ("rgb", "bgr"):
        raise ValueError(f"channel_order must be 'rgb' or 'bgr', got {channel_order!r}")
    img = _to_rgb(frame, rgb)  # [h, w, 3] RGB
    if channel_order == "bgr":
        img = img[:, :, ::-1]
    geometry = FrameGeometry.fit(img.shape[:2], (nh, nw), resize_mode)
    (ch, cw), (top, left) = geometry.content_hw, geometry.offset
    if img.dtype != np.uint8 and img.dtype != np.float32:
        img = img.astype(np.float32)
    if (ch, cw) != img.shape[:2]:
        img = cv2.resize(np.ascontiguousarray(img), (cw, ch), interpolation=cv2.INTER_LINEAR)
    unit = np.float32(1 / 255) if img.dtype == np.uint8 else np.float32(1)
    content = img.astype(np.float32) * (unit / std_a) - mean_a / std_a  # [ch, cw, 3]
    out = np.zeros((1, 3, nh, nw), np.float32)  # border = mean colour = 0 after normalising
    out[0, :, top:top + ch, left:left + cw] = content.transpose(2, 0, 1)
    return out, geometry


def restore_labels(labels: np.ndarray, geometry: FrameGeometry) -> np.ndarray:
    """A label map ``[..., h, w]`` covering the network input to ``[..., H_frame, W_frame]`` (nearest).

    Letterbox borders are cut away; works for any dtype (int64 panoptic ids, bool masks, ...).
    """
    if (out := native.restore_labels(labels, geometry)) is not None:  # vps_core, when built (int32 maps)
        return out
    labels = np.asarray(labels)
    if labels.ndim < 2 or labels.shape[-1] == 0 or labels.shape[-2] == 0:
        raise ValueError(f"labels must be a non-empty [..., h, w] map, got shape {labels.shape}")
    rows, cols = geometry.source_indices(labels.shape[-2:])
    return np.take(np.take(labels, rows, axis=-2), cols, axis=-1)
