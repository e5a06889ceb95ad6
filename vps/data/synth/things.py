"""Cars and people as flat-shaded polygons carrying their track id.

A car is two boxes (body and a set-back, narrower cabin) with the faces the camera can see: the inner side
(when it is off the camera axis), the tops (when lower than the camera), the near face (rear or front with
lights, plate, windows), tyres. A person is a camera-facing figure: legs swinging with the walk phase,
torso, arms, head with hair. Every part of one object carries the object's semantic class and track id.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from vps.data.synth import palette as P
from vps.data.synth.camera import CAMERA_HEIGHT, NEAR, Camera, PartList
from vps.data.synth.objects import billboard, part, plane_x
from vps.data.synth.traffic import CAR_MAX_Z, NEAR_THING, PERSON_MAX_Z
from vps.data.synth.world import CAR, LAYER_OBJECTS, PERSON, Car, Person

AddPart = Callable[[list[np.ndarray], P.Color, str], None]
_WHEEL = np.linspace(0.0, 2.0 * np.pi, 11)[:-1]


def _plane_z(cam: Camera, z: float, x0: float, x1: float, y0: float, y1: float) -> np.ndarray:
    """Quad ``[4, 2]`` of the vertical plane z = const between x0..x1 and heights y0..y1."""
    return cam.project(np.array([x0, x1, x1, x0]), np.array([y0, y0, y1, y1]), np.full(4, z))


def _top(cam: Camera, y: float, x0: float, x1: float, z0: float, z1: float) -> np.ndarray:
    """Quad ``[4, 2]`` of the horizontal plane y = const over x0..x1, z0..z1."""
    return cam.project(np.array([x0, x1, x1, x0]), np.full(4, y), np.array([z0, z0, z1, z1]))


def _wheel(cam: Camera, x: float, z: float, r: float) -> np.ndarray:
    """Tyre disc in the car's side plane x = const, centred at axle position z."""
    return cam.project(np.full(len(_WHEEL), x), r + r * np.sin(_WHEEL), z + r * np.cos(_WHEEL))


def _cabin(car: Car, near: float, far: float) -> tuple[float, float]:
    """World z range of the cabin (set back from the near end: trunk behind, longer hood in front)."""
    L = car.length
    if car.height > 1.8:  # van: cabin almost full length
        return near + 0.05 * L, far - 0.2 * L
    return (near + 0.18 * L, far - 0.32 * L) if car.heading > 0 else (near + 0.32 * L, far - 0.18 * L)


def _car_side(cam: Camera, car: Car, near: float, far: float, yb: float, add: AddPart) -> None:
    """Inner side face (body, cabin with windows, tyres) when the car is off the camera axis."""
    Z = 0.5 * (near + far) - cam.z
    xc = car.x + 0.5 * cam.curvature * Z * Z
    if abs(xc) <= car.width / 2:
        return
    s = 1.0 if xc > 0 else -1.0
    xs = car.x - s * car.width / 2
    c0, c1 = _cabin(car, near, far)
    add([plane_x(cam, xs, near, far, 0.28, yb, n=2)], P.scale(car.color, 0.74), "flat")
    add([plane_x(cam, xs + s * 0.1, c0, c1, yb, car.height, n=2)], P.scale(car.color, 0.74), "flat")
    add([plane_x(cam, xs + s * 0.1, c0 + 0.15, c1 - 0.1, yb + 0.08, car.height - 0.1, n=2)],
        P.scale(car.glass, 1.15), "glass")
    r = 0.33
    add([_wheel(cam, xs, near + 0.2 * car.length, r), _wheel(cam, xs, far - 0.2 * car.length, r)],
        P.TIRE[0], "flat")


def emit_car(parts: PartList, cam: Camera, car: Car, t: float) -> None:
    """All visible faces of ``car`` at frame ``t``."""
    zc = car.z(t)
    near, far = zc - car.length / 2, zc + car.length / 2
    if far - cam.z < NEAR_THING or zc - cam.z > CAR_MAX_Z:
        return
    if not cam.visible_x(car.x, zc, car.length):
        return
    near_c = max(near, cam.z + NEAR)
    key = parts.key(LAYER_OBJECTS, near_c - cam.z)
    anchor, ppm = cam.project(car.x, car.height, near_c), cam.ppm(near_c)

    def add(polys: list[np.ndarray], color: P.Color, style: str) -> None:
        parts.add(key, part(polys, CAR, color, style, anchor, ppm, inst=car.track))

    yb = 0.55 * car.height if car.height < 1.8 else 0.5 * car.height
    x0, x1 = car.x - car.width / 2, car.x + car.width / 2
    c0, c1 = _cabin(car, near, far)
    _car_side(cam, car, near, far, yb, add)
    if car.height < CAMERA_HEIGHT - 0.05:  # roof seen from above
        add([_top(cam, car.height, x0 + 0.1, x1 - 0.1, c0, c1)], P.scale(car.color, 1.12), "flat")
    if near > cam.z + NEAR:
        add([_plane_z(cam, c0, x0 + 0.1, x1 - 0.1, yb, car.height)], P.scale(car.color, 0.92), "flat")
        add([_plane_z(cam, c0, x0 + 0.22, x1 - 0.22, yb + 0.08, car.height - 0.08)], car.glass, "glass")
        add([_top(cam, yb, x0, x1, near, c0)], P.scale(car.color, 1.06), "flat")
        add([_plane_z(cam, near + 0.6, x0 + 0.05, x0 + 0.32, 0.0, 0.35),
             _plane_z(cam, near + 0.6, x1 - 0.32, x1 - 0.05, 0.0, 0.35)], P.TIRE[0], "flat")
        add([_plane_z(cam, near, x0, x1, 0.28, yb)], P.scale(car.color, 0.9), "flat")
        light = P.TAIL_LIGHT[0] if car.heading > 0 else P.HEAD_LIGHT[0]
        ly = yb - 0.12
        add([_plane_z(cam, near, x0 + 0.05, x0 + 0.35, ly - 0.14, ly),
             _plane_z(cam, near, x1 - 0.35, x1 - 0.05, ly - 0.14, ly)], light, "flat")
        add([_plane_z(cam, near, car.x - 0.26, car.x + 0.26, 0.42, 0.54)], (225.0, 225.0, 220.0), "flat")


def emit_shadow(shadows: list[np.ndarray], cam: Camera, car: Car, t: float) -> None:
    """Dark contact patch under ``car`` (darkens the ground only; labels are unaffected)."""
    zc = car.z(t)
    near, far = zc - car.length / 2 - 0.15, zc + car.length / 2 + 0.15
    if far - cam.z < NEAR_THING or zc - cam.z > CAR_MAX_Z:
        return
    x0, x1 = car.x - car.width / 2 - 0.1, car.x + car.width / 2 + 0.1
    shadows.append(_top(cam, 0.0, x0, x1, max(near, cam.z + NEAR), far))


def _person_shapes(p: Person, t: float) -> list[tuple[np.ndarray, P.Color, str]]:
    """(outline in (dx, y) metres, colour, style) of the parts of ``p``, back to front."""
    h = p.height
    k = h / 1.75
    walked = abs(p.vz) * t + abs(p.vx) * t
    swing = 0.12 * k * np.sin(p.phase0 + walked / 0.7 * np.pi) if (p.vz or p.vx) else 0.0
    hip, shoulder = 0.5 * h, 0.81 * h
    shapes = []
    for sgn in (-1.0, 1.0):  # arms behind the torso, swinging against the legs
        sx, hand = sgn * 0.19 * k, sgn * (0.22 * k - 0.5 * swing)
        arm = np.array([[sx - 0.045 * k, shoulder], [sx + 0.045 * k, shoulder], [hand + 0.04 * k, 0.47 * h],
                        [hand - 0.04 * k, 0.47 * h]])
        shapes.append((arm, P.scale(p.shirt, 0.85), "cloth"))
    for sgn in (-1.0, 1.0):
        top = sgn * 0.075 * k
        foot = top + sgn * swing
        leg = np.array([[top - 0.07 * k, hip], [top + 0.07 * k, hip], [foot + 0.055 * k, 0.0],
                        [foot - 0.055 * k, 0.0]])
        shapes.append((leg, P.scale(p.pants, 0.95 + 0.1 * sgn), "cloth"))
    torso = np.array([[-0.16 * k, hip - 0.03 * h], [0.16 * k, hip - 0.03 * h], [0.2 * k, shoulder],
                      [-0.2 * k, shoulder]])
    shapes.append((torso, p.shirt, "cloth"))
    a = np.linspace(0.0, 2.0 * np.pi, 13)[:-1]
    cy, rx, ry = 0.905 * h, 0.09 * k, 0.115 * k
    shapes.append((np.stack([rx * np.cos(a), cy + ry * np.sin(a)], 1), p.skin, "flat"))
    b = np.linspace(0.0, np.pi, 7)
    hair = np.stack([1.08 * rx * np.cos(b), cy + 0.25 * ry + 1.05 * ry * np.sin(b)], 1)
    shapes.append((hair, p.hair, "flat"))
    return shapes


def emit_person(parts: PartList, cam: Camera, p: Person, t: float) -> None:
    """A walking or standing pedestrian at frame ``t``."""
    x, z = p.x(t), p.z(t)
    Z = z - cam.z
    if Z < NEAR_THING or Z > PERSON_MAX_Z or not cam.visible_x(x, z, 0.5):
        return
    key = parts.key(LAYER_OBJECTS, Z)
    anchor, ppm = billboard(cam, x, z, np.array([[-0.25, p.height]]))[0], cam.ppm(z)
    for outline, color, style in _person_shapes(p, t):
        parts.add(key, part([billboard(cam, x, z, outline)], PERSON, color, style, anchor, ppm, inst=p.track))
