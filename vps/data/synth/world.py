"""Plain data describing one synthetic sequence's world (no drawing here; see ``objects``/``render``).

Static things are placed along the road in world metres (see :mod:`vps.data.synth.camera` for axes); movers
(cars, people) have linear trajectories ``position(t) = start + velocity * t`` with ``t`` the frame index.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from vps.data.meta import KITTI_STEP
from vps.data.synth.palette import Color

# KITTI-STEP train ids of the classes the generator draws.
(ROAD, SIDEWALK, BUILDING, WALL, FENCE, POLE, LIGHT, SIGN, VEGETATION, TERRAIN, SKY, PERSON, CAR) = (
    KITTI_STEP.class_id(n) for n in ("road", "sidewalk", "building", "wall", "fence", "pole", "traffic light",
                                     "traffic sign", "vegetation", "terrain", "sky", "person", "car"))
CURB_W = 0.18  # m

# Draw layers (painter's order): lower layers are always behind higher ones.
LAYER_SKYLINE, LAYER_BACK, LAYER_BEHIND, LAYER_FRONT, LAYER_OBJECTS = range(5)


@dataclass(frozen=True)
class Road:
    """Cross-section of the road: ego lane centred on x = 0, maybe one more lane in the same direction on its
    right, one or two oncoming lanes on its left, optional parking strips along the curbs."""

    lane_w: float
    extra_right: int  # same-direction lanes right of the ego lane (0 or 1)
    oncoming: int  # oncoming lanes (1 or 2)
    right_edge: float  # x of the right curb (> 0)
    left_edge: float  # |x| of the left curb
    park_right: float  # width of the parking strip inside the right curb (0 = none)
    park_left: float
    sidewalk: tuple[float, float]  # widths (left, right)
    verge: tuple[float, float]  # grass strip between curb and sidewalk (left, right; 0 = none)
    curvature: float  # 1/m
    dash: tuple[float, float]  # dash (period, length) in m of dashed lines
    lines: tuple[tuple[float, bool], ...]  # painted lines: (x, dashed)

    def edge(self, side: int) -> float:
        """|x| of the curb on ``side`` (-1 left, +1 right)."""
        return self.right_edge if side > 0 else self.left_edge

    def walk_start(self, side: int) -> float:
        """|x| where the sidewalk begins on ``side`` (after curb and verge)."""
        return self.edge(side) + CURB_W + self.verge[0 if side < 0 else 1]

    def walk_end(self, side: int) -> float:
        """|x| of the outer sidewalk edge on ``side`` (the roadside objects stand beyond it)."""
        return self.walk_start(side) + self.sidewalk[0 if side < 0 else 1]


@dataclass(frozen=True)
class GroundLook:
    """Per-sequence ground and sky colours."""

    road: Color
    marking: Color
    curb: Color
    sidewalk: tuple[Color, Color]  # (left, right)
    terrain: tuple[Color, Color]
    paved: tuple[Color, Color]  # paved ground behind the sidewalk (sidewalk class)
    sky_top: Color
    sky_horizon: Color


@dataclass
class Facade:
    """A vertical plane parallel to the road: building front, hedge, fence, wall, forest edge."""

    side: int
    x: float  # |x| of the plane
    z0: float
    z1: float
    height: float
    sem: int
    color: Color
    style: str
    layer: int
    end_depth: float = 0.0  # > 0: draw the end face at z0 (a building's side wall), this deep
    top: np.ndarray | None = None  # irregular top: heights at evenly spaced z over [z0, z1]
    windows: np.ndarray | None = None  # [N, 4] (z_a, z_b, y_lo, y_hi) in m
    window_color: Color = (0.0, 0.0, 0.0)
    roof_color: Color | None = None  # cornice band along the top


@dataclass
class Tree:
    side: int
    x: float  # signed world x
    z: float
    trunk_h: float
    radius: float
    color: Color
    bark: Color
    jitter: np.ndarray  # [K] relative radius jitter of the canopy outline
    layer: int


@dataclass
class Pole:
    side: int
    x: float  # signed world x
    z: float
    height: float
    color: Color
    kind: str  # "lamp" | "sign" | "light" | "plain"
    sign_shape: str = "circle"  # circle | triangle | square | rect
    sign_colors: tuple[Color, Color] = ((0.0, 0.0, 0.0), (0.0, 0.0, 0.0))  # (rim/face, inner)


@dataclass
class Car:
    x: float  # centre, signed
    z0: float  # centre at frame 0
    vz: float  # m / frame
    heading: int  # +1: drives towards +z (we see its rear), -1: towards us (we see its front)
    length: float
    width: float
    height: float
    color: Color
    glass: Color
    track: int = 0

    def z(self, t: float) -> float:
        return self.z0 + self.vz * t


@dataclass
class Person:
    x0: float
    z0: float
    vx: float
    vz: float
    height: float
    skin: Color
    hair: Color
    shirt: Color
    pants: Color
    phase0: float
    track: int = 0

    def x(self, t: float) -> float:
        return self.x0 + self.vx * t

    def z(self, t: float) -> float:
        return self.z0 + self.vz * t


@dataclass
class World:
    """Everything needed to render any frame of one sequence."""

    frames: int
    ego_speed: float  # m / frame
    pitch: tuple[float, float, float]  # (amplitude as a fraction of f, period in frames, phase)
    exposure: float
    road: Road
    look: GroundLook
    beyond: tuple[np.ndarray, np.ndarray]  # per side: uint8 per 0.5 m bin, 0 terrain / 1 paved
    beyond_z0: float  # world z of bin 0
    skyline: np.ndarray  # [K] heights above the horizon (fraction of f) across the image
    skyline_sem: int
    skyline_color: Color
    facades: list[Facade] = field(default_factory=list)
    trees: list[Tree] = field(default_factory=list)
    poles: list[Pole] = field(default_factory=list)
    cars: list[Car] = field(default_factory=list)
    people: list[Person] = field(default_factory=list)

    def camera_z(self, t: float) -> float:
        return self.ego_speed * t

    def horizon_shift(self, t: float) -> float:
        """Horizon offset (fraction of f) from the camera's pitch bounce at frame ``t``."""
        amp, period, phase = self.pitch
        return amp * float(np.sin(2.0 * np.pi * t / period + phase))


BIN = 0.5  # m per ``World.beyond`` bin
