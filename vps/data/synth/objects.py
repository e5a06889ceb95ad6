"""Static objects as flat-shaded polygons: facades (with windows), trees, poles with signs, skyline.

Each ``emit_*`` projects one object for the current camera and appends its parts to a
:class:`~vps.data.synth.camera.PartList`; parts of one object share a sort key so they stay together in
painter's order. Objects behind the camera or beyond ``MAX_Z`` are skipped.
"""

from __future__ import annotations

import numpy as np

from vps.data.synth import palette as P
from vps.data.synth.camera import NEAR, Camera, Part, PartList
from vps.data.synth.world import (
    LAYER_OBJECTS,
    LAYER_SKYLINE,
    LIGHT,
    POLE,
    SIGN,
    VEGETATION,
    Facade,
    Pole,
    Tree,
)

MAX_Z = 200.0  # m; farther static objects are not drawn
_SHAPES = ("circle", "triangle", "square", "rect")


def part(polys: list[np.ndarray], sem: int, color: P.Color, style: str, anchor: np.ndarray, ppm: float,
         inst: int = 0) -> Part:
    """A :class:`Part` with its style looked up by name."""
    return Part(polys, sem, inst, color, P.style_id(style), (float(anchor[0]), float(anchor[1])), ppm)


def plane_x(cam: Camera, x: float, z0: float, z1: float, y0: float, y1: float | np.ndarray,
            top_z: np.ndarray | None = None, n: int = 6) -> np.ndarray:
    """Polygon ``[2n, 2]`` of the vertical plane |x = const| between z0..z1 and heights y0..y1.

    Sampled evenly in inverse depth (evenly in the image) so curvature bends it smoothly; ``y1`` may be an
    array of top heights sampled at ``top_z``.
    """
    d0, d1 = max(z0 - cam.z, NEAR), max(z1 - cam.z, NEAR)
    zs = cam.z + 1.0 / np.linspace(1.0 / d0, 1.0 / d1, n)
    top = np.interp(zs, top_z, y1) if top_z is not None else np.full(n, y1)
    bottom = cam.project(x, y0, zs)
    upper = cam.project(x, top, zs)
    return np.concatenate([bottom, upper[::-1]], axis=0)


def billboard(cam: Camera, x: float, z: float, pts: np.ndarray) -> np.ndarray:
    """``pts [N, 2]`` of (dx, y) metres in the plane facing the camera at (x, z), to pixels ``[N, 2]``."""
    return cam.project(x + pts[:, 0], pts[:, 1], np.full(len(pts), z))


def _ellipse(cx: float, cy: float, rx: float, ry: float, jitter: np.ndarray | None = None) -> np.ndarray:
    k = len(jitter) if jitter is not None else 16
    a = np.linspace(0.0, 2.0 * np.pi, k + 1)[:-1]
    r = 1.0 + (jitter if jitter is not None else 0.0)
    return np.stack([cx + rx * r * np.cos(a), cy + ry * r * np.sin(a)], axis=1)


def _windows(cam: Camera, fac: Facade, x: float) -> list[np.ndarray]:
    """Projected window quads of ``fac`` that lie fully in front of the camera."""
    w = fac.windows
    if w is None:
        return []
    w = w[(w[:, 0] - cam.z > NEAR) & (w[:, 0] - cam.z < MAX_Z)]
    if not len(w):
        return []
    z = np.stack([w[:, 0], w[:, 1], w[:, 1], w[:, 0]], axis=1)  # [N, 4]
    y = np.stack([w[:, 2], w[:, 2], w[:, 3], w[:, 3]], axis=1)
    return list(cam.project(x, y, z))  # N x [4, 2]


def emit_facade(parts: PartList, cam: Camera, fac: Facade) -> None:
    """A building front / hedge / fence / wall plane, its end face and windows."""
    if fac.z1 - cam.z <= NEAR or fac.z0 - cam.z > MAX_Z:
        return
    x = fac.side * fac.x
    z_a = max(fac.z0, cam.z + NEAR)
    key = parts.key(fac.layer, z_a - cam.z)
    ppm = cam.ppm(0.5 * (z_a + fac.z1))
    anchor = cam.project(x, fac.height, z_a)
    if fac.end_depth > 0 and fac.z0 - cam.z > NEAR:  # side wall of the building, facing the camera
        xs = fac.side * np.array([fac.x, fac.x + fac.end_depth, fac.x + fac.end_depth, fac.x])
        end = cam.project(xs, np.array([0.0, 0.0, fac.height, fac.height]), np.full(4, fac.z0))
        parts.add(key, part([end], fac.sem, P.scale(fac.color, 0.8), fac.style, anchor, ppm))
    top_z = None if fac.top is None else np.linspace(fac.z0, fac.z1, len(fac.top))
    top = fac.height if fac.top is None else fac.top
    poly = plane_x(cam, x, z_a, fac.z1, 0.0, top, top_z)
    parts.add(key, part([poly], fac.sem, fac.color, fac.style, anchor, ppm))
    if fac.roof_color is not None:
        band = plane_x(cam, x, z_a, fac.z1, fac.height - 0.5, fac.height)
        parts.add(key, part([band], fac.sem, fac.roof_color, "facade", anchor, ppm))
    quads = _windows(cam, fac, x)
    if quads:
        parts.add(key, part(quads[0::3], fac.sem, P.scale(fac.window_color, 1.35), "glass", anchor, ppm))
        lit = quads[1::3] + quads[2::3]
        if lit:
            parts.add(key, part(lit, fac.sem, fac.window_color, "glass", anchor, ppm))


def emit_tree(parts: PartList, cam: Camera, tree: Tree) -> None:
    """Trunk plus an irregular two-tone canopy (all vegetation), facing the camera."""
    Z = tree.z - cam.z
    if Z < 1.0 or Z > MAX_Z or not cam.visible_x(tree.x, tree.z, tree.radius * 1.3):
        return
    key = parts.key(tree.layer, Z)
    ppm, r = cam.ppm(tree.z), tree.radius
    cy = tree.trunk_h + 0.85 * r
    anchor = billboard(cam, tree.x, tree.z, np.array([[-r, cy + r]]))[0]
    tw = 0.12 + 0.04 * r
    trunk = np.array([[-tw, 0.0], [tw, 0.0], [tw * 0.8, cy], [-tw * 0.8, cy]])
    parts.add(key, part([billboard(cam, tree.x, tree.z, trunk)], VEGETATION, tree.bark, "bark", anchor, ppm))
    canopy = _ellipse(0.0, cy, r, 0.9 * r, tree.jitter)
    parts.add(key, part([billboard(cam, tree.x, tree.z, canopy)], VEGETATION, tree.color, "foliage", anchor,
                        ppm))
    shade = _ellipse(0.15 * r, cy - 0.35 * r, 0.75 * r, 0.5 * r, tree.jitter[::-1])
    parts.add(key, part([billboard(cam, tree.x, tree.z, shade)], VEGETATION, P.scale(tree.color, 0.78),
                        "foliage", anchor, ppm))


def _sign_parts(pole: Pole, y: float) -> list[tuple[np.ndarray, P.Color]]:
    """(outline in (dx, y) metres, colour) of the sign plate(s) on top of a sign post."""
    rim, inner = pole.sign_colors
    if pole.sign_shape == "circle":
        return [(_ellipse(0.0, y, 0.38, 0.38), rim), (_ellipse(0.0, y, 0.26, 0.26), inner)]
    if pole.sign_shape == "triangle":
        outer = np.array([[-0.45, y + 0.34], [0.45, y + 0.34], [0.0, y - 0.44]])
        return [(outer, rim), (np.array([[-0.27, y + 0.22], [0.27, y + 0.22], [0.0, y - 0.24]]), inner)]
    hw, hh = (0.34, 0.34) if pole.sign_shape == "square" else (0.5, 0.34)
    return [(np.array([[-hw, y - hh], [hw, y - hh], [hw, y + hh], [-hw, y + hh]]), rim)]


def emit_pole(parts: PartList, cam: Camera, pole: Pole) -> None:
    """A pole (street lamp with arm, sign post, traffic light or plain) and what it carries."""
    Z = pole.z - cam.z
    if Z < 1.0 or Z > MAX_Z or not cam.visible_x(pole.x, pole.z, 2.0):
        return
    key, ppm, h = parts.key(LAYER_OBJECTS, Z), cam.ppm(pole.z), pole.height
    anchor = billboard(cam, pole.x, pole.z, np.array([[0.0, h]]))[0]
    hw = 0.1 if pole.kind == "lamp" else 0.07
    shapes = [np.array([[-hw, 0.0], [hw, 0.0], [hw, h], [-hw, h]])]
    if pole.kind == "lamp":  # arm reaching over the road, lamp head at its end
        reach = -pole.x / abs(pole.x) * 1.6 if pole.x else 1.6
        shapes.append(np.array([[0.0, h - 0.12], [reach, h - 0.05], [reach, h + 0.02], [0.0, h]]))
        shapes.append(np.array([[reach - 0.3, h - 0.2], [reach + 0.3, h - 0.2], [reach + 0.3, h - 0.02],
                                [reach - 0.3, h - 0.02]]))
    polys = [billboard(cam, pole.x, pole.z, s) for s in shapes]
    parts.add(key, part(polys, POLE, pole.color, "metal", anchor, ppm))
    if pole.kind == "sign":
        for outline, color in _sign_parts(pole, h - 0.3):
            parts.add(key, part([billboard(cam, pole.x, pole.z, outline)], SIGN, color, "flat", anchor, ppm))
    elif pole.kind == "light":
        box = np.array([[-0.2, h - 0.9], [0.2, h - 0.9], [0.2, h + 0.1], [-0.2, h + 0.1]])
        parts.add(key, part([billboard(cam, pole.x, pole.z, box)], LIGHT, pole.sign_colors[0], "flat", anchor,
                            ppm))
        lamp = _ellipse(0.0, h - 0.1 - 0.25 * (_SHAPES.index(pole.sign_shape) % 3), 0.1, 0.1)
        parts.add(key, part([billboard(cam, pole.x, pole.z, lamp)], LIGHT, pole.sign_colors[1], "flat",
                            anchor, ppm))


def emit_skyline(parts: PartList, cam: Camera, heights: np.ndarray, sem: int, color: P.Color) -> None:
    """Silhouette at infinity (does not move with ego-motion) sitting on the horizon."""
    u = np.linspace(-0.02, 1.02, len(heights)) * cam.width
    top = np.stack([u, cam.horizon - cam.f * heights], axis=1)
    base = np.array([[u[-1], cam.horizon + 0.5], [u[0], cam.horizon + 0.5]])
    poly = np.concatenate([top, base], axis=0)
    style = "foliage" if sem == VEGETATION else "facade"
    origin = np.array([0.0, 0.0])
    parts.add(parts.key(LAYER_SKYLINE, 1e9), part([poly], sem, color, style, origin, cam.f / 150))
