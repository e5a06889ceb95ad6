"""Random world of one sequence: road cross-section, looks, roadside, traffic, skyline.

:func:`build_world` draws everything from one ``numpy.random.Generator`` in a fixed order and never looks at
the image size, so a seed gives the same scene at every resolution (only sensor noise depends on size).
"""

from __future__ import annotations

import numpy as np

from vps.data.synth import palette as P
from vps.data.synth.layout import build_side
from vps.data.synth.traffic import CAR_MAX_Z, assign_tracks, driving_cars, parked_cars, pedestrians
from vps.data.synth.world import BUILDING, VEGETATION, GroundLook, Road, World

Z_BEHIND = 25.0  # m of world generated behind the first camera position
Z_AHEAD = 170.0  # m generated ahead of the last camera position


def _verge(rng: np.random.Generator) -> float:
    return rng.uniform(0.8, 2.4) if rng.random() < 0.55 else 0.0


def _road(rng: np.random.Generator) -> Road:
    lane_w = rng.uniform(3.2, 3.75)
    extra, oncoming = int(rng.random() < 0.4), 1 + int(rng.random() < 0.35)
    park_r = 2.2 if rng.random() < 0.55 else 0.0
    park_l = 2.2 if rng.random() < 0.4 else 0.0
    curvature = 0.0 if rng.random() < 0.5 else rng.uniform(-0.003, 0.003)
    period = rng.uniform(8.0, 12.0)
    right, left = lane_w / 2 + extra * lane_w, lane_w / 2 + oncoming * lane_w
    lines = [(-lane_w / 2, extra + oncoming == 1)]  # centre line: solid on multi-lane roads
    lines += [(lane_w / 2, True)] * extra + [(-1.5 * lane_w, True)] * (oncoming - 1)
    lines += [(right, False)] * (park_r > 0) + [(-left, False)] * (park_l > 0)
    return Road(lane_w=lane_w, extra_right=extra, oncoming=oncoming, right_edge=right + park_r,
                left_edge=left + park_l, park_right=park_r, park_left=park_l, lines=tuple(lines),
                sidewalk=(rng.uniform(1.6, 3.2), rng.uniform(1.6, 3.2)),
                verge=(_verge(rng), _verge(rng)), curvature=curvature,
                dash=(period, period * rng.uniform(0.3, 0.45)))


def _look(rng: np.random.Generator) -> GroundLook:
    sidewalk = P.pick(rng, P.SIDEWALK, 8.0)
    return GroundLook(
        road=P.pick(rng, P.ROAD, 6.0), marking=P.pick(rng, P.MARKING, 6.0), curb=P.pick(rng, P.CURB, 6.0),
        sidewalk=(sidewalk, P.pick(rng, P.SIDEWALK, 8.0) if rng.random() < 0.4 else sidewalk),
        terrain=(P.pick(rng, P.TERRAIN, 10.0), P.pick(rng, P.TERRAIN, 10.0)),
        paved=(P.pick(rng, P.SIDEWALK, 10.0), P.pick(rng, P.SIDEWALK, 10.0)),
        sky_top=P.pick(rng, P.SKY_TOP, 8.0), sky_horizon=P.pick(rng, P.SKY_HORIZON, 6.0))


def _skyline(rng: np.random.Generator) -> tuple[np.ndarray, int, P.Color]:
    """Distant treeline or city silhouette at infinity: [64] heights (fraction of f) across the image."""
    base = rng.uniform(0.01, 0.05)
    bumps = np.convolve(rng.normal(0, 1, 70), np.ones(7) / 7, mode="valid")[:64]
    if rng.random() < 0.5:
        blocky = np.repeat(rng.uniform(0.5, 1.6, 16), 4)
        return base * blocky, BUILDING, P.pick(rng, P.BACK_BUILDING, 8.0)
    return np.maximum(base * (1 + 0.8 * bumps), 0.002), VEGETATION, P.pick(rng, P.VEGETATION, 8.0)


def build_world(rng: np.random.Generator, frames: int) -> World:
    """A complete random world for a sequence of ``frames`` frames."""
    if frames < 1:
        raise ValueError(f"frames must be >= 1, got {frames}")
    road, look = _road(rng), _look(rng)
    ego = rng.uniform(0.45, 0.8)
    pitch = (rng.uniform(0.0, 0.004), rng.uniform(8.0, 20.0), rng.uniform(0, 2 * np.pi))
    skyline, sky_sem, sky_color = _skyline(rng)
    z_lo, z_hi = -Z_BEHIND, ego * (frames - 1) + Z_AHEAD
    world = World(frames=frames, ego_speed=ego, pitch=pitch, exposure=rng.uniform(0.88, 1.12), road=road,
                  look=look, beyond=(np.zeros(1, np.uint8), np.zeros(1, np.uint8)), beyond_z0=z_lo,
                  skyline=skyline, skyline_sem=sky_sem, skyline_color=sky_color)
    beyond = []
    for side in (-1, 1):
        facades, trees, poles, ground = build_side(rng, road, side, z_lo, z_hi)
        world.facades += facades
        world.trees += trees
        world.poles += poles
        beyond.append(ground)
    world.beyond = (beyond[0], beyond[1])
    thing_hi = ego * (frames - 1) + CAR_MAX_Z + 10.0
    cars = parked_cars(rng, road, z_lo, thing_hi) + driving_cars(rng, road, ego, frames)
    people = pedestrians(rng, road, z_lo, thing_hi)
    world.cars, world.people = assign_tracks(cars, people, ego, frames, road.curvature)
    return world
