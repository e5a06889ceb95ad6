"""Render one frame of a :class:`~vps.data.synth.world.World`: ground, polygons, textures, noise.

Pipeline (all vectorised numpy/OpenCV):

1. ``ground_pass``: every pixel below the horizon is intersected with the ground plane (inverse
   projection), giving world coordinates ``(x, z)``; the road cross-section turns them into road, lane
   markings, curb, sidewalk, terrain or paved ground. Above the horizon is sky.
2. Objects are emitted as polygons (``objects``, ``things``) and painted far to near with ``cv2.fillPoly``
   into a part-id map (painter's algorithm gives occlusion).
3. ``compose``: part ids index per-part tables (class, track id, colour, texture style, texture anchor);
   textures are periodic noise sampled in surface metres; car contact shadows, darker outlines along thing
   boundaries, a slight blur, per-sequence exposure and sensor noise finish the image.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from vps.data.meta import KITTI_STEP
from vps.data.synth import palette as P
from vps.data.synth.camera import CAMERA_HEIGHT, FOCAL_FRAC, HORIZON_FRAC, SHIFT, Camera, Part, PartList
from vps.data.synth.objects import emit_facade, emit_pole, emit_skyline, emit_tree
from vps.data.synth.things import emit_car, emit_person, emit_shadow
from vps.data.synth.world import BIN, CURB_W, ROAD, SIDEWALK, SKY, TERRAIN, Road, World

SKY_ID, ROAD_ID, MARK_ID, CURB_ID, WALK_L, WALK_R, TERRAIN_L, TERRAIN_R, PAVED_L, PAVED_R = range(10)
N_GROUND = 10
MARK_W = 0.13  # m
MAX_GROUND_Z = 1000.0  # m
_TEX_OFFSET = float(2**21)  # keeps texel coordinates positive so int truncation is floor


@lru_cache(maxsize=1)
def noise_tiles() -> tuple[np.ndarray, np.ndarray]:
    """Periodic 256x256 noise in [-1, 1]: smooth blotches and fine grain (fixed seed, shared by all)."""
    rng = np.random.default_rng(20240601)
    small = rng.uniform(-1, 1, (16, 16)).astype(np.float32)
    big = cv2.resize(np.tile(small, (3, 3)), (768, 768), interpolation=cv2.INTER_CUBIC)[256:512, 256:512]
    coarse = big / np.abs(big).max()
    fine = rng.uniform(-1, 1, (256, 256)).astype(np.float32)
    return np.ascontiguousarray(coarse), fine


def ground_table(world: World) -> list[Part]:
    """Parts for the ground ids (no polygons; their texture coordinates are ground metres)."""
    lk = world.look
    rows = [(SKY, lk.sky_top, "sky"), (ROAD, lk.road, "road"), (ROAD, lk.marking, "marking"),
            (SIDEWALK, lk.curb, "flat"), (SIDEWALK, lk.sidewalk[0], "paved"),
            (SIDEWALK, lk.sidewalk[1], "paved"),
            (TERRAIN, lk.terrain[0], "grass"), (TERRAIN, lk.terrain[1], "grass"),
            (SIDEWALK, lk.paved[0], "paved"), (SIDEWALK, lk.paved[1], "paved")]
    return [Part([], sem, 0, color, P.style_id(style), (0.0, 0.0), 1.0) for sem, color, style in rows]


def _classify_side(d: np.ndarray, road: Road, side: int, beyond: np.ndarray, ids: tuple[int, int, int],
                   ) -> np.ndarray:
    """Ground ids ``d`` metres past one curb: curb, verge, sidewalk, then terrain or paved (per row)."""
    walk_id, terrain_id, paved_id = ids
    start, end = road.walk_start(side) - road.edge(side), road.walk_end(side) - road.edge(side)
    far = np.where(beyond[:, None] == 1, paved_id, terrain_id)
    out = np.where(d < start, terrain_id, np.where(d < end, walk_id, far))
    return np.where(d < CURB_W, CURB_ID, out)


def ground_pass(world: World, cam: Camera) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Part-id map ``int32 [H, W]`` of sky and ground, plus texture coordinates ``tu, tv`` (float32)."""
    H, W = cam.height, cam.width
    prim = np.zeros((H, W), np.int32)
    u = np.arange(W, dtype=np.float64) + 0.5
    v = np.arange(H, dtype=np.float64) + 0.5
    sky_scale = cam.f / 100.0  # sky texture: screen position in "metres at 100 m"
    tu = np.broadcast_to((u / sky_scale)[None, :], (H, W)).astype(np.float32)
    tv = np.broadcast_to((v / sky_scale)[:, None], (H, W)).astype(np.float32)
    r0 = int(np.clip(np.floor(cam.horizon + 0.25 - 0.5) + 1, 0, H))
    if r0 >= H:
        return prim, tu, tv
    Z = np.minimum(cam.f * CAMERA_HEIGHT / np.maximum(v[r0:] - cam.horizon, 1e-3), MAX_GROUND_Z)  # [Hg]
    zw = cam.z + Z
    x = (u[None, :] - cam.cx) * (Z / cam.f)[:, None] - 0.5 * cam.curvature * (Z * Z)[:, None]  # [Hg, W]
    road = world.road
    bins = np.clip(((zw - world.beyond_z0) / BIN).astype(np.int64), 0, len(world.beyond[0]) - 1)
    g = np.full(x.shape, ROAD_ID, np.int32)
    dash = np.mod(zw, road.dash[0]) < road.dash[1]
    mark = np.zeros(x.shape, bool)
    for line_x, dashed in road.lines:
        hit = np.abs(x - line_x) < MARK_W / 2
        mark |= hit & dash[:, None] if dashed else hit
    g[mark] = MARK_ID
    d_right, d_left = x - road.right_edge, -x - road.left_edge
    right = _classify_side(d_right, road, 1, world.beyond[1][bins], (WALK_R, TERRAIN_R, PAVED_R))
    left = _classify_side(d_left, road, -1, world.beyond[0][bins], (WALK_L, TERRAIN_L, PAVED_L))
    g = np.where(d_right >= 0, right, np.where(d_left >= 0, left, g))
    prim[r0:] = g
    tu[r0:] = x
    tv[r0:] = zw[:, None]
    return prim, tu, tv


def frame_camera(world: World, t: int, height: int, width: int) -> Camera:
    """The camera of frame ``t`` (ego position, pitch bounce) for an image of ``height`` x ``width``."""
    horizon = HORIZON_FRAC * height + FOCAL_FRAC * width * world.horizon_shift(t)
    return Camera(height, width, world.camera_z(t), world.road.curvature, horizon)


def emit_all(world: World, cam: Camera, t: int) -> tuple[PartList, list[np.ndarray]]:
    """Every object's parts for frame ``t``, plus the car contact-shadow polygons."""
    parts, shadows = PartList(), []
    emit_skyline(parts, cam, world.skyline, world.skyline_sem, world.skyline_color)
    for fac in world.facades:
        emit_facade(parts, cam, fac)
    for tree in world.trees:
        emit_tree(parts, cam, tree)
    for pole in world.poles:
        emit_pole(parts, cam, pole)
    for car in world.cars:
        emit_car(parts, cam, car, t)
        emit_shadow(shadows, cam, car, t)
    for person in world.people:
        emit_person(parts, cam, person, t)
    return parts, shadows


def _lookup(tile: np.ndarray, tu: np.ndarray, tv: np.ndarray, freq: np.ndarray) -> np.ndarray:
    """Sample periodic ``tile [256, 256]`` at texel ``(tv, tu) * freq`` (nearest texel, wrapped)."""
    iu = (tu * freq + _TEX_OFFSET).astype(np.int32) & 255
    iv = (tv * freq + _TEX_OFFSET).astype(np.int32) & 255
    return tile.ravel()[(iv << 8) | iu]


def _texture(prim: np.ndarray, table: list[Part], tu_g: np.ndarray, tv_g: np.ndarray) -> np.ndarray:
    """Per-pixel brightness factor ``float32 [H, W]`` from each part's style, in surface coordinates.

    Ground pixels use ground metres ``(tu_g, tv_g)``; object pixels use metres from their part's anchor.
    """
    H, W = prim.shape
    geo = np.array([(p.anchor[0], p.anchor[1], 1.0 / p.ppm) for p in table], np.float32)  # [P, 3]
    st = P.style_table()[np.array([p.style for p in table], np.int64)]  # [P, 7]
    inv = geo[:, 2][prim]
    ground = prim < N_GROUND
    tu = np.where(ground, tu_g, (np.arange(W, dtype=np.float32)[None, :] + 0.5 - geo[:, 0][prim]) * inv)
    tv = np.where(ground, tv_g, (np.arange(H, dtype=np.float32)[:, None] + 0.5 - geo[:, 1][prim]) * inv)
    coarse, fine = noise_tiles()
    factor = 1.0 + st[:, 0][prim] * _lookup(coarse, tu, tv, st[:, 1][prim])
    factor += st[:, 2][prim] * _lookup(fine, tu, tv, st[:, 3][prim])
    striped = st[:, 6][prim] > 0
    if striped.any():
        p = prim[striped]
        fu, fv = np.mod(tu[striped] * st[p, 5], 1.0), np.mod(tv[striped] * st[p, 5], 1.0)
        lines = np.where(st[p, 6] == 1, fu < 0.3, (fu < 0.07) | (fv < 0.07))
        factor[striped] -= st[p, 4] * lines
    return factor


def _sky(world: World, cam: Camera) -> np.ndarray:
    """Vertical sky gradient ``float32 [H, 1, 3]`` from the zenith colour to the horizon haze."""
    v = (np.arange(cam.height, dtype=np.float32) + 0.5) / max(cam.horizon, 1.0)
    w = np.clip(v, 0.0, 1.0)[:, None] ** 0.8
    top, hor = np.array(world.look.sky_top, np.float32), np.array(world.look.sky_horizon, np.float32)
    return (top[None, :] * (1 - w) + hor[None, :] * w)[:, None, :]


def _outline(inst: np.ndarray) -> np.ndarray:
    """``bool [H, W]``: thing pixels whose 4-neighbourhood holds a different instance (inner silhouette)."""
    edge = np.zeros(inst.shape, bool)
    dy = inst[1:] != inst[:-1]
    dx = inst[:, 1:] != inst[:, :-1]
    edge[1:] |= dy
    edge[:-1] |= dy
    edge[:, 1:] |= dx
    edge[:, :-1] |= dx
    return edge & (inst > 0)


def _shading(prim: np.ndarray, inst: np.ndarray, shadows: list[np.ndarray]) -> np.ndarray:
    """``float32 [H, W]`` darkening: car contact shadows on the ground, outlines along thing boundaries."""
    shade = np.ones(prim.shape, np.float32)
    if shadows:
        mask = np.zeros(prim.shape, np.uint8)
        polys = [np.round(s * (1 << SHIFT)).astype(np.int32) for s in shadows]
        cv2.fillPoly(mask, polys, 1, cv2.LINE_8, SHIFT)
        shade[(mask > 0) & (prim > SKY_ID) & (prim < N_GROUND)] = 0.55
    shade[_outline(inst)] *= 0.72
    return shade


def compose(world: World, cam: Camera, prim: np.ndarray, table: list[Part], tu: np.ndarray, tv: np.ndarray,
            shadows: list[np.ndarray], rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """RGB ``uint8 [H, W, 3]`` and panoptic ``int32 [H, W]`` from the painted part-id map."""
    sem = np.array([p.sem for p in table], np.int32)[prim]
    inst = np.array([p.inst for p in table], np.int32)[prim]
    rgb = np.take(np.array([p.color for p in table], np.float32), prim, axis=0)  # [H, W, 3]
    rows = int(np.clip(np.ceil(cam.horizon) + 1, 0, cam.height))  # sky lies above the horizon
    sky = prim[:rows] == SKY_ID
    rgb[:rows][sky] = np.broadcast_to(_sky(world, cam)[:rows], (rows, cam.width, 3))[sky]
    rgb *= (_texture(prim, table, tu, tv) * _shading(prim, inst, shadows) * world.exposure)[..., None]
    rgb = cv2.GaussianBlur(rgb, (0, 0), 0.6)
    # sensor noise: sum of two uniform integers in [-3, 3] (triangular, std ~2.8 grey levels)
    noise = rng.integers(-3, 4, rgb.shape, dtype=np.int8) + rng.integers(-3, 4, rgb.shape, dtype=np.int8)
    rgb += noise
    image = np.clip(rgb + 0.5, 0, 255).astype(np.uint8)
    return image, sem * KITTI_STEP.label_divisor + inst


def render_frame(world: World, t: int, height: int, width: int, rng: np.random.Generator,
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Frame ``t`` of ``world``: (RGB ``uint8 [H, W, 3]``, panoptic ``int32 [H, W]`` = sem * 1000 + track)."""
    cam = frame_camera(world, t, height, width)
    prim, tu, tv = ground_pass(world, cam)
    parts, shadows = emit_all(world, cam, t)
    table = ground_table(world) + parts.rasterise(prim, N_GROUND)
    return compose(world, cam, prim, table, tu, tv, shadows, rng)
