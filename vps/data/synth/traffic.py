"""Movers: parked and driving cars, pedestrians, and their track ids.

Cars park in the parking strips, lead the ego car in its lane at a similar speed, or come the other way in
the oncoming lane; pedestrians stand or walk along the sidewalks, alone or in small groups. Everything moves
linearly, so objects enter (from the distance or the image border) and leave (past the camera) through
ego-motion and their own motion.

Things are only drawn between ``NEAR_THING`` and ``CAR_MAX_Z`` / ``PERSON_MAX_Z`` metres: beyond that they
would be a few pixels at training resolutions (at 96x320 a car 40 m away is about 8x7 px). Track ids are
handed out in order of first (approximate) visibility, 1..255, one counter for both classes, so an id never
names two objects in one sequence; movers that are never visible or come after id 255 are dropped.
"""

from __future__ import annotations

import numpy as np

from vps.data.synth import palette as P
from vps.data.synth.camera import FOCAL_FRAC
from vps.data.synth.world import Car, Person, Road

CAR_MAX_Z = 40.0  # m
PERSON_MAX_Z = 25.0  # m
NEAR_THING = 1.0  # m
MAX_TRACKS = 255


def _car(rng: np.random.Generator, x: float, z: float, vz: float, heading: int) -> Car:
    van = rng.random() < 0.12
    length = rng.uniform(4.7, 5.2) if van else rng.uniform(3.8, 4.8)
    height = rng.uniform(1.85, 2.1) if van else rng.uniform(1.4, 1.6)
    return Car(x, z, vz, heading, length, rng.uniform(1.7, 1.9), height, P.pick(rng, P.CAR, 14.0),
               P.pick(rng, P.CAR_GLASS, 6.0))


def parked_cars(rng: np.random.Generator, road: Road, z_lo: float, z_hi: float) -> list[Car]:
    """Rows of parked cars in the parking strips (with empty stretches)."""
    cars = []
    for side, strip in ((1, road.park_right), (-1, road.park_left)):
        if strip <= 0:
            continue
        z = z_lo + rng.uniform(0, 6)
        while z < z_hi:
            if rng.random() < 0.45:
                z += rng.uniform(6.0, 22.0)
                continue
            x = side * (road.edge(side) - strip / 2 + rng.uniform(-0.15, 0.1))
            car = _car(rng, x, 0.0, 0.0, side)
            car.z0 = z + car.length / 2
            cars.append(car)
            z += car.length + rng.uniform(1.0, 5.0)
    return cars


def _stream(rng: np.random.Generator, x: float, v: float, ego: float, span: int, heading: int,
            gap: tuple[float, float]) -> list[Car]:
    """Cars in one lane at world speed ``v``, spaced ``gap`` m, covering what passes the view in ``span``."""
    dv = v - ego  # relative speed: > 0 pulls away / overtakes from behind, < 0 comes closer
    lo, hi = min(-6.0, -6.0 - dv * span), max(CAR_MAX_Z, CAR_MAX_Z - dv * span)
    cars, z = [], lo + rng.uniform(0.0, gap[1])
    while z < hi:
        cars.append(_car(rng, x + rng.uniform(-0.2, 0.2), z, v, heading))
        z += rng.uniform(*gap)
    return cars


def driving_cars(rng: np.random.Generator, road: Road, ego: float, frames: int) -> list[Car]:
    """Leaders in the ego lane (about ego speed), a same-direction lane on the right, oncoming traffic."""
    cars, span = [], max(frames - 1, 1)
    if rng.random() < 0.6:
        z_rel = rng.uniform(12.0, 30.0)
        dv = float(np.clip(rng.uniform(-0.06, 0.04), (9.0 - z_rel) / span, (CAR_MAX_Z - 4.0 - z_rel) / span))
        cars.append(_car(rng, rng.uniform(-0.2, 0.2), z_rel, ego + dv, 1))
        if rng.random() < 0.35:
            cars.append(_car(rng, rng.uniform(-0.2, 0.2), z_rel + rng.uniform(9.0, 15.0), ego + dv, 1))
    if road.extra_right:
        v = ego + rng.choice([-1.0, 1.0]) * rng.uniform(0.05, 0.15)
        cars += _stream(rng, road.lane_w, v, ego, span, 1, (14.0, 45.0))
    for lane in range(road.oncoming):
        v = -rng.uniform(0.35, 0.8)
        cars += _stream(rng, -road.lane_w * (1 + lane), v, ego, span, -1, (12.0, 55.0))
    return cars


def _person(rng: np.random.Generator, x: float, z: float, vx: float, vz: float) -> Person:
    child = rng.random() < 0.08
    height = rng.uniform(1.1, 1.4) if child else rng.uniform(1.6, 1.9)
    return Person(x, z, vx, vz, height, P.pick(rng, P.SKIN, 8.0), P.pick(rng, P.HAIR, 10.0),
                  P.pick(rng, P.SHIRT, 18.0), P.pick(rng, P.PANTS, 12.0), rng.uniform(0, 2 * np.pi))


def pedestrians(rng: np.random.Generator, road: Road, z_lo: float, z_hi: float) -> list[Person]:
    """People on both sidewalks: standing or walking along, 1-3 per group."""
    people = []
    for side in (-1, 1):
        x_lo, x_hi = road.walk_start(side) + 0.35, road.walk_end(side) - 0.35
        z = z_lo + rng.uniform(0, 10)
        while z < z_hi:
            walking = rng.random() < 0.7
            vz = rng.choice([-1.0, 1.0]) * rng.uniform(0.09, 0.15) if walking else 0.0
            x = rng.uniform(x_lo, max(x_hi, x_lo))
            size = int(rng.choice([1, 2, 3], p=[0.7, 0.22, 0.08]))
            for k in range(size):
                dx = k * rng.uniform(0.45, 0.7) * (-1 if x > 0.5 * (x_lo + x_hi) else 1)
                people.append(_person(rng, side * (x + dx), z + rng.uniform(-0.6, 0.6), 0.0, vz))
            z += rng.uniform(6.0, 26.0)
    return people


def _first_visible(x: np.ndarray, z: np.ndarray, half: float, max_z: float, ego: float,
                   curvature: float) -> int:
    """First frame (-1 if none) at which a mover at ``x[t], z[t]`` is in range and in the field of view."""
    t = np.arange(len(z))
    Z = z - ego * t
    xc = x + 0.5 * curvature * Z * Z
    in_range = (Z + half > NEAR_THING) & (max_z > Z)
    ok = in_range & (np.abs(xc) < 0.5 / FOCAL_FRAC * (Z + half) + half)
    hits = np.flatnonzero(ok)
    return int(hits[0]) if len(hits) else -1


def assign_tracks(cars: list[Car], people: list[Person], ego: float, frames: int, curvature: float,
                  ) -> tuple[list[Car], list[Person]]:
    """Number visible movers 1..255 by first appearance; drop the never-visible and the overflow."""
    t = np.arange(frames, dtype=np.float64)
    ranked: list[tuple[int, float, int, Car | Person]] = []
    for i, c in enumerate(cars):
        first = _first_visible(np.full(frames, c.x), c.z0 + c.vz * t, c.length / 2, CAR_MAX_Z, ego, curvature)
        if first >= 0:
            ranked.append((first, c.z(first) - ego * first, i, c))
    for i, p in enumerate(people):
        first = _first_visible(p.x0 + p.vx * t, p.z0 + p.vz * t, 0.4, PERSON_MAX_Z, ego, curvature)
        if first >= 0:
            ranked.append((first, p.z(first) - ego * first, len(cars) + i, p))
    ranked.sort(key=lambda r: (r[0], r[1], r[2]))
    kept = [r[3] for r in ranked[:MAX_TRACKS]]
    for track, obj in enumerate(kept, start=1):
        obj.track = track
    return [o for o in kept if isinstance(o, Car)], [o for o in kept if isinstance(o, Person)]
