"""Static roadside: building fronts, hedges, fences, walls, trees, poles and signs along one side.

Each side of the road is cut into segments of a random kind (urban/residential mix like KITTI's Karlsruhe
drives): ``building`` (a facade with windows, set back behind the sidewalk), ``vegetation`` (hedge with trees
behind), ``fence`` / ``wall`` (low barrier with trees or a building behind) and ``open`` (grass, trees far
back). A continuous *back row* of taller buildings or forest stands further out so gaps between segments show
city rather than empty sky. Poles (street lamps, sign posts, traffic lights) and street trees stand on the
sidewalk.
"""

from __future__ import annotations

import numpy as np

from vps.data.synth import palette as P
from vps.data.synth.world import (
    BIN,
    BUILDING,
    FENCE,
    LAYER_BACK,
    LAYER_BEHIND,
    LAYER_FRONT,
    LAYER_OBJECTS,
    VEGETATION,
    WALL,
    Facade,
    Pole,
    Road,
    Tree,
)

KINDS = ("building", "vegetation", "fence", "wall", "open")
KIND_P = (0.46, 0.24, 0.1, 0.06, 0.14)
POLE_HEIGHT = {"lamp": (6.0, 8.0), "sign": (2.6, 3.2), "plain": (3.0, 5.0), "light": (3.2, 3.8)}
KIND_LEN = {"building": (12.0, 35.0), "vegetation": (15.0, 45.0), "fence": (10.0, 30.0),
            "wall": (10.0, 25.0), "open": (12.0, 30.0)}


def _windows(rng: np.random.Generator, z0: float, z1: float, height: float) -> np.ndarray | None:
    """Window grid ``[N, 4]`` (z_a, z_b, y_lo, y_hi) of a facade, or None for a blank (industrial) front."""
    if rng.random() < 0.12 or height < 3.5:
        return None
    spacing, width = rng.uniform(2.6, 3.6), rng.uniform(1.0, 1.6)
    win_h, floor_h = rng.uniform(1.2, 1.6), rng.uniform(2.9, 3.3)
    cols = np.arange(z0 + rng.uniform(0.6, 1.6), z1 - width - 0.4, spacing)
    floors = np.arange(0.9, height - win_h - 0.6, floor_h)
    if not len(cols) or not len(floors):
        return None
    zz, yy = np.meshgrid(cols, floors, indexing="ij")
    zz, yy = zz.ravel(), yy.ravel()
    return np.stack([zz, zz + width, yy, yy + win_h], axis=1)


def _irregular_top(rng: np.random.Generator, z0: float, z1: float, height: float, rough: float) -> np.ndarray:
    """Heights every ~1 m along [z0, z1]: ``height`` with smooth random bumps of relative size ``rough``."""
    n = max(int(z1 - z0) + 1, 2)
    noise = np.convolve(rng.normal(0, 1, n + 4), np.ones(5) / 5, mode="valid")[:n]
    return np.maximum(height * (1 + rough * noise * 2.2), 0.3)


def _building(rng: np.random.Generator, side: int, x: float, z0: float, z1: float, layer: int) -> Facade:
    height = rng.uniform(5.0, 16.0)
    return Facade(side, x, z0, z1, height, BUILDING, P.pick(rng, P.BUILDING), "facade", layer,
                  end_depth=rng.uniform(8.0, 14.0), windows=_windows(rng, z0, z1, height),
                  window_color=P.pick(rng, P.WINDOW, 8.0), roof_color=P.pick(rng, P.ROOF, 10.0))


def _canopy_jitter(rng: np.random.Generator, k: int = 24) -> np.ndarray:
    """Smooth circular radius jitter ``[k]`` of a canopy outline (bumpy, not spiky)."""
    raw = rng.uniform(-1.0, 1.0, k)
    smooth = (np.roll(raw, 1) + raw + np.roll(raw, -1)) / 3.0
    return 0.3 * smooth + 0.08 * rng.uniform(-1.0, 1.0, k)


def _tree_row(rng: np.random.Generator, side: int, x: tuple[float, float], z0: float, z1: float,
              spacing: tuple[float, float], radius: tuple[float, float], layer: int) -> list[Tree]:
    """Trees at ``x`` in ``[x0, x1]`` (|x|) every ``spacing`` m along [z0, z1]."""
    trees, z = [], z0 + rng.uniform(0, spacing[1])
    while z < z1:
        r = rng.uniform(*radius)
        trees.append(Tree(side, side * rng.uniform(*x), z, rng.uniform(1.8, 3.4), r,
                          P.pick(rng, P.VEGETATION), P.pick(rng, P.BARK, 6.0), _canopy_jitter(rng), layer))
        z += rng.uniform(*spacing)
    return trees


def _segment(rng: np.random.Generator, kind: str, side: int, garden: float, xb: float, z0: float, z1: float,
             ) -> tuple[list[Facade], list[Tree]]:
    """Facades and trees of one roadside segment with front line at |x| = ``xb`` (sidewalk ends at
    ``garden``)."""
    facades: list[Facade] = []
    trees: list[Tree] = []
    if kind == "building":
        facades.append(_building(rng, side, xb, z0, z1 - rng.uniform(0.0, 5.0), LAYER_FRONT))
        if xb - garden > 2.5 and rng.random() < 0.5:  # front-garden hedge
            h = rng.uniform(0.8, 1.8)
            facades.append(Facade(side, garden + 0.3, z0, z1, h, VEGETATION, P.pick(rng, P.VEGETATION),
                                  "foliage", LAYER_FRONT, top=_irregular_top(rng, z0, z1, h, 0.12)))
    elif kind == "vegetation":
        h = rng.uniform(1.0, 2.6)
        facades.append(Facade(side, xb, z0, z1, h, VEGETATION, P.pick(rng, P.VEGETATION), "foliage",
                              LAYER_FRONT, top=_irregular_top(rng, z0, z1, h, 0.15)))
        trees += _tree_row(rng, side, (xb + 1.0, xb + 5.0), z0, z1, (3.0, 7.0), (2.0, 3.6), LAYER_BEHIND)
    elif kind in ("fence", "wall"):
        sem, style = (FENCE, "fence") if kind == "fence" else (WALL, "facade")
        colors = P.FENCE if kind == "fence" else P.WALL
        facades.append(Facade(side, xb, z0, z1, rng.uniform(1.0, 2.2), sem, P.pick(rng, colors), style,
                              LAYER_FRONT))
        if rng.random() < 0.5:
            facades.append(_building(rng, side, xb + rng.uniform(3.0, 8.0), z0, z1, LAYER_BEHIND))
        else:
            trees += _tree_row(rng, side, (xb + 1.0, xb + 6.0), z0, z1, (3.0, 8.0), (2.0, 3.5), LAYER_BEHIND)
    else:  # open: grass with a few trees further back
        trees += _tree_row(rng, side, (xb + 3.0, xb + 12.0), z0, z1, (5.0, 14.0), (2.0, 3.8), LAYER_BEHIND)
    return facades, trees


def _back_row(rng: np.random.Generator, side: int, x0: float, z_lo: float, z_hi: float) -> list[Facade]:
    """Continuous distant row of tall buildings / forest behind the roadside segments."""
    out, z = [], z_lo
    while z < z_hi:
        z1 = z + rng.uniform(20.0, 60.0)
        x = x0 + rng.uniform(10.0, 25.0)
        if rng.random() < 0.5:
            h = rng.uniform(9.0, 20.0)
            out.append(Facade(side, x, z, z1, h, BUILDING, P.pick(rng, P.BACK_BUILDING), "facade", LAYER_BACK,
                              windows=_windows(rng, z, z1, h), window_color=P.pick(rng, P.WINDOW, 8.0)))
        else:
            h = rng.uniform(8.0, 16.0)
            out.append(Facade(side, x, z, z1, h, VEGETATION, P.pick(rng, P.VEGETATION), "foliage", LAYER_BACK,
                              top=_irregular_top(rng, z, z1, h, 0.12)))
        z = z1
    return out


def _poles(rng: np.random.Generator, side: int, x: float, z_lo: float, z_hi: float) -> list[Pole]:
    """Street lamps, sign posts and traffic lights at |x| = ``x`` (just behind the curb)."""
    poles, z = [], z_lo + rng.uniform(0, 20.0)
    while z < z_hi:
        kind = str(rng.choice(["lamp", "sign", "plain", "light"], p=[0.42, 0.36, 0.1, 0.12]))
        height = rng.uniform(*POLE_HEIGHT[kind])
        shape = str(rng.choice(["circle", "triangle", "square", "rect"]))
        rim = P.pick(rng, P.SIGN[:2] if shape in ("circle", "triangle") else P.SIGN[1:3], 8.0)
        inner = P.pick(rng, P.SIGN[3:], 6.0) if shape in ("circle", "triangle") else rim
        lamp = P.pick(rng, ((200, 40, 30), (40, 200, 90), (230, 160, 30)), 10.0)
        colors = (P.pick(rng, P.LIGHT_BOX, 6.0), lamp) if kind == "light" else (rim, inner)
        poles.append(Pole(side, side * x, z, height, P.pick(rng, P.POLE, 8.0), kind, shape, colors))
        z += rng.uniform(15.0, 35.0)
    return poles


def build_side(rng: np.random.Generator, road: Road, side: int, z_lo: float, z_hi: float,
               ) -> tuple[list[Facade], list[Tree], list[Pole], np.ndarray]:
    """All static objects on ``side`` over [z_lo, z_hi] plus the ground type behind the sidewalk per bin."""
    line = road.walk_end(side)
    beyond = np.zeros(int(np.ceil((z_hi - z_lo) / BIN)) + 1, np.uint8)
    facades, trees = _back_row(rng, side, line + 8.0, z_lo, z_hi), []
    z = z_lo
    while z < z_hi:
        kind = str(rng.choice(KINDS, p=KIND_P))
        z1 = z + rng.uniform(*KIND_LEN[kind])
        setback = rng.uniform(0.0, 9.0) if kind == "building" else rng.uniform(0.3, 3.0)
        paved = kind in ("building", "wall") and (setback < 1.5 or rng.random() < 0.25)
        beyond[int((z - z_lo) / BIN):int((z1 - z_lo) / BIN) + 1] = 1 if paved else 0
        f, t = _segment(rng, kind, side, line, line + setback, z, z1)
        facades += f
        trees += t
        z = z1
    if rng.random() < 0.55:  # avenue trees in the verge or on the sidewalk
        verge = road.walk_start(side) - road.edge(side)
        x = road.edge(side) + verge / 2 if verge > 0.8 else line - 0.7
        trees += _tree_row(rng, side, (x - 0.1, x + 0.1), z_lo, z_hi, (7.0, 14.0), (1.5, 2.8), LAYER_OBJECTS)
    poles = _poles(rng, side, road.edge(side) + 0.45, z_lo, z_hi)
    return facades, trees, poles, beyond
