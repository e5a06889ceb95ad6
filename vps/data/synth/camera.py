"""Pinhole camera on a (possibly curving) road and the painter's list of polygons it draws.

World coordinates are metres in the road frame: ``x`` lateral (right positive, ego lane centred on 0), ``y``
up from the ground, ``z`` forward along the road. The camera sits ``CAMERA_HEIGHT`` above the ground at
``z = Camera.z`` looking down the road. A constant road curvature ``k`` bends everything at depth ``Z`` by
``0.5 * k * Z**2`` metres sideways (a circular road seen from a car following it looks the same every frame).

Intrinsics follow KITTI (focal 721 px at 1242 px width, horizon near row 0.46 H), scaled to the image
size, so one world renders consistently at any resolution.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from vps.data.synth.palette import Color

CAMERA_HEIGHT = 1.65  # m, KITTI's camera height
FOCAL_FRAC = 0.58  # focal length / image width
HORIZON_FRAC = 0.46  # horizon row / image height
NEAR = 0.5  # m; geometry is clamped to this depth in front of the camera
SHIFT = 4  # fixed-point bits for cv2.fillPoly (sub-pixel vertex accuracy)
_LIMIT = 1e6  # px; vertices are clamped here so the fixed-point coordinates stay inside int32


@dataclass(frozen=True)
class Camera:
    """Projection for one frame: image ``height`` x ``width``, camera at world ``z``, horizon row."""

    height: int
    width: int
    z: float
    curvature: float
    horizon: float

    @property
    def f(self) -> float:
        return FOCAL_FRAC * self.width

    @property
    def cx(self) -> float:
        return 0.5 * self.width

    def depth(self, zw: np.ndarray | float) -> np.ndarray:
        """Camera-relative depth of world ``zw``, clamped to ``NEAR``."""
        return np.maximum(np.asarray(zw, np.float64) - self.z, NEAR)

    def project(self, x: np.ndarray | float, y: np.ndarray | float, zw: np.ndarray | float) -> np.ndarray:
        """World points to pixel coordinates ``float64 [..., 2]`` (u right, v down)."""
        Z = self.depth(zw)
        x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
        u = self.cx + self.f * (x + 0.5 * self.curvature * Z * Z) / Z
        v = self.horizon + self.f * (CAMERA_HEIGHT - y) / Z
        u, v = np.broadcast_arrays(u, v)
        return np.clip(np.stack([u, v], axis=-1), -_LIMIT, _LIMIT)

    def ppm(self, zw: float) -> float:
        """Pixels per metre at world depth ``zw`` (texture scale of a surface there)."""
        return self.f / float(self.depth(zw))

    def visible_x(self, x: float, zw: float, margin: float) -> bool:
        """Whether lateral ``x`` at ``zw`` (+- ``margin`` m) lies inside the horizontal field of view."""
        Z = float(self.depth(zw))
        xc = x + 0.5 * self.curvature * Z * Z
        half = self.cx / self.f * Z
        return -half - margin < xc < half + margin


@dataclass
class Part:
    """One flat-shaded piece of an object: polygons plus label and appearance."""

    polys: list[np.ndarray]  # each float [N, 2] pixel coordinates
    sem: int
    inst: int
    color: Color
    style: int
    anchor: tuple[float, float]  # pixel position of texture origin
    ppm: float  # pixels per metre on this surface


@dataclass
class PartList:
    """Parts in painter's order: by layer, then far to near, then insertion order within an object."""

    _items: list[tuple[tuple[int, float, int], int, Part]] = field(default_factory=list)
    _objects: int = 0

    def key(self, layer: int, depth: float) -> tuple[int, float, int]:
        """Sort key for a new object at camera-relative ``depth`` in ``layer`` (lower layers first)."""
        self._objects += 1
        return (layer, -depth, self._objects)

    def add(self, key: tuple[int, float, int], part: Part) -> None:
        self._items.append((key, len(self._items), part))

    def __len__(self) -> int:
        return len(self._items)

    def rasterise(self, prim: np.ndarray, first_id: int) -> list[Part]:
        """Paint part ``i`` into ``prim`` (``int32 [H, W]``) as id ``first_id + i``; parts in id order."""
        ordered = [p for _, _, p in sorted(self._items, key=lambda item: (item[0], item[1]))]
        scale = float(1 << SHIFT)
        for i, part in enumerate(ordered):
            pts = [np.round(p * scale).astype(np.int32) for p in part.polys if len(p) >= 3]
            if pts:
                cv2.fillPoly(prim, pts, color=first_id + i, lineType=cv2.LINE_8, shift=SHIFT)
        return ordered
