"""Camera health: cheap per-frame statistics that tell a driving stack the camera sent nothing usable.

:class:`CameraHealth` looks at every frame :meth:`Segmenter.step <vps.runtime.segmenter.Segmenter.step>`
accepts (after validation, before inference) and returns a :class:`FrameHealth` with these faults:

* ``black``: at least ``black_fraction`` of the pixels have a luma ``<= black_level`` (lens cap, no exposure,
  a dead sensor feeding zeros);
* ``saturated``: at least ``saturated_fraction`` of the pixels have a luma ``>= saturated_level`` (sun in the
  lens, blown exposure, a sensor feeding 255);
* ``frozen``: byte-identical to the previous frame of the stream (a stuck driver repeating its buffer;
  a real sensor never repeats its noise exactly). Compared through a BLAKE2 digest, not a stored copy;
* ``blur``: the variance of the Laplacian of the luma is below ``blur_variance`` (defocus, fog, a smeared
  lens), only judged on frames with some contrast (luma std ``>= flat_std``), and not on black/saturated ones;
* ``noise``: the Immerkær noise estimate (sigma of a 3x3 second-difference filter) is above
  ``noise_sigma`` (sensor failure, interference, snow of a lost analog link).

The luma statistics run on a decimated copy (at most ``max_side`` pixels along the longer side) and the
blur/noise filters on the central full-resolution crop of that size: about 1-3 ms for a 1242 x 375 frame
on one CPU core (a third of it the digest). Defaults (:class:`HealthConfig`), checked on the real KITTI
frames of ``shared/data``: Laplacian variance 460-2900 and noise sigma 1-5 there; a 9 x 9 Gaussian blur
brings the variance to 7-47, added Gaussian noise of sigma 25 gives 13-26 (gray frames show more than colour
ones), uniform noise 43.

What happens to a faulty frame is set by ``HealthConfig.void``: faults listed there make the frame
**blind**: the model does not run, the result is all void (``ignore_label``) with no tracks, the stream's
conditioning is left as it was (the next good frame continues from the last good prediction) and the
tracks of the previous frame become *lost* (revived by IoU if they reappear within ``max_lost`` frames),
so a faulty frame never creates a track. The default voids ``black`` and ``saturated`` (no image content
at all); ``frozen``, ``blur`` and ``noise`` are reported and counted but segmented as usual unless listed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

FAULTS = ("black", "saturated", "frozen", "blur", "noise")
DEFAULT_VOID = ("black", "saturated")
_IMMERKAER = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)


@dataclass(frozen=True)
class HealthConfig:
    """Thresholds of the camera-health checks (luma in 0..255 units) and which faults void a frame."""

    black_level: float = 16.0
    black_fraction: float = 0.98
    saturated_level: float = 250.0
    saturated_fraction: float = 0.95
    blur_variance: float = 50.0  # Laplacian variance below this on a frame with contrast: "blur"
    flat_std: float = 4.0  # luma std below this: too flat to judge blur
    noise_sigma: float = 15.0  # Immerkær sigma above this: "noise"
    max_side: int = 256
    void: tuple[str, ...] = DEFAULT_VOID
    enabled: bool = True

    def __post_init__(self) -> None:
        unknown = sorted(set(self.void) - set(FAULTS))
        if unknown:
            raise ValueError(f"health void faults must be among {FAULTS}, got {unknown}")
        for name in ("black_fraction", "saturated_fraction"):
            if not 0.0 < getattr(self, name) <= 1.0:
                raise ValueError(f"health {name} must lie in (0, 1], got {getattr(self, name)}")
        if self.max_side < 16 or self.blur_variance < 0 or self.noise_sigma <= 0:
            raise ValueError(f"health: need max_side >= 16, blur_variance >= 0 and noise_sigma > 0, got "
                             f"{self.max_side}, {self.blur_variance}, {self.noise_sigma}")


@dataclass(frozen=True)
class FrameHealth:
    """The health verdict of one frame: its faults, whether it was voided, and the statistics behind it."""

    faults: tuple[str, ...] = ()
    void: bool = False  # True: the frame was not segmented (see the module docstring)
    stats: dict[str, float] = field(default_factory=dict)  # mean, std, dark, bright, sharpness, noise

    @property
    def ok(self) -> bool:
        return not self.faults


def luma(frame: np.ndarray) -> np.ndarray:
    """``float32 [H, W]`` luma in 0..255 of a validated frame (gray, 3/4 channels, uint8 or [0, 1] float)."""
    img = np.asarray(frame)
    if img.ndim == 3:
        img = img[:, :, :3].mean(axis=2) if img.shape[2] >= 3 else img[:, :, 0]
    img = img.astype(np.float32, copy=False)
    return img * np.float32(255.0) if np.issubdtype(np.asarray(frame).dtype, np.floating) else img


class CameraHealth:
    """Per-stream health checker (keeps the previous frame's digest for ``frozen``)."""

    def __init__(self, config: HealthConfig | None = None) -> None:
        self.config = config or HealthConfig()
        self._last_digest: bytes | None = None

    def reset(self) -> None:
        """Forget the previous frame (a new sequence cannot start frozen)."""
        self._last_digest = None

    def check(self, frame: np.ndarray) -> FrameHealth:
        """The :class:`FrameHealth` of a frame that :func:`~vps.runtime.frames.prepare_frame` accepted."""
        cfg = self.config
        if not cfg.enabled:
            return FrameHealth()
        arr = np.ascontiguousarray(frame)
        digest = hashlib.blake2b(memoryview(arr).cast("B"), digest_size=16,
                                 person=str(arr.shape).encode()[:16]).digest()
        frozen, self._last_digest = digest == self._last_digest, digest
        step_h, step_w = (max(1, -(-n // cfg.max_side)) for n in arr.shape[:2])
        small = luma(arr[::step_h, ::step_w])
        stats = {"mean": float(small.mean()), "std": float(small.std()),
                 "dark": float((small <= cfg.black_level).mean()),
                 "bright": float((small >= cfg.saturated_level).mean())}
        stats.update(_texture(luma(_centre(arr, cfg.max_side))))
        faults = [name for name, hit in (
            ("black", stats["dark"] >= cfg.black_fraction),
            ("saturated", stats["bright"] >= cfg.saturated_fraction),
            ("frozen", frozen)) if hit]
        if "black" not in faults and "saturated" not in faults:
            if stats["noise"] > cfg.noise_sigma:
                faults.append("noise")
            elif stats["std"] >= cfg.flat_std and stats["sharpness"] < cfg.blur_variance:
                faults.append("blur")
        return FrameHealth(tuple(faults), any(f in cfg.void for f in faults), stats)

    @staticmethod
    def void_ids(mask_hw: Sequence[int], meta: Any, layout: Any) -> np.ndarray:
        """``int32 [h, w]`` all-void model ids: what a voided frame hands the track table."""
        return np.full(tuple(mask_hw), meta.ignore_label * layout.label_divisor, np.int32)


def _centre(frame: np.ndarray, side: int) -> np.ndarray:
    """The central ``<= side x side`` crop of a frame."""
    h, w = frame.shape[:2]
    top, left = max(0, (h - side) // 2), max(0, (w - side) // 2)
    return frame[top:top + side, left:left + side]


def _texture(crop: np.ndarray) -> dict[str, float]:
    """Laplacian variance (``sharpness``) and Immerkær noise sigma (``noise``) of a full-resolution crop."""
    if min(crop.shape) < 3:
        return {"sharpness": 0.0, "noise": 0.0}
    lap = cv2.Laplacian(crop, cv2.CV_32F)
    conv = cv2.filter2D(crop, cv2.CV_32F, _IMMERKAER)[1:-1, 1:-1]
    sigma = float(np.abs(conv).mean()) * float(np.sqrt(np.pi / 2.0)) / 6.0
    return {"sharpness": float(lap[1:-1, 1:-1].var()), "noise": sigma}
