"""Colours and surface styles of the synthetic world.

Every drawable part has a base RGB colour (drawn per object from a class-specific range, so objects of one
class differ from each other) and a *style*: the texture recipe applied on top of it. Styles are rows of
:data:`STYLES`; texture coordinates are in metres on the object's surface, so textures move and scale with
the object under perspective.

The ranges are chosen for learnability first: each class keeps its own hue/brightness band (road grey-violet,
sidewalk light beige or red paving, terrain yellow-green, vegetation dark green, sky blue, cars in saturated
or clearly non-road paint with dark glass, people with skin-coloured heads and coloured clothes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Color = tuple[float, float, float]


@dataclass(frozen=True)
class Style:
    """Texture recipe: ``colour * (1 + coarse_amp * C + fine_amp * F - stripes)``.

    ``C``/``F`` are smooth/fine periodic noise in [-1, 1] sampled at ``freq`` texels per metre; ``stripe``
    mode 1 draws vertical slats (fences), mode 2 a tile grid (paving), darkening by ``stripe_amp``.
    """

    coarse_amp: float
    coarse_freq: float
    fine_amp: float
    fine_freq: float
    stripe_amp: float = 0.0
    stripe_freq: float = 0.0
    stripe_mode: int = 0


STYLE_NAMES = ("flat", "road", "marking", "paved", "grass", "foliage", "facade", "glass", "fence", "metal",
               "cloth", "sky", "bark")
STYLES: dict[str, Style] = {
    "flat": Style(0.03, 6.0, 0.03, 60.0),
    "road": Style(0.08, 3.0, 0.08, 90.0),
    "marking": Style(0.10, 4.0, 0.05, 60.0),
    "paved": Style(0.05, 5.0, 0.06, 60.0, 0.22, 2.0, 2),
    "grass": Style(0.14, 8.0, 0.14, 120.0),
    "foliage": Style(0.30, 24.0, 0.16, 90.0),
    "facade": Style(0.05, 2.0, 0.05, 50.0),
    "glass": Style(0.18, 3.0, 0.04, 50.0),
    "fence": Style(0.06, 5.0, 0.05, 60.0, 0.35, 7.0, 1),
    "metal": Style(0.04, 4.0, 0.04, 60.0),
    "cloth": Style(0.06, 12.0, 0.05, 80.0),
    "sky": Style(0.05, 0.6, 0.015, 20.0),
    "bark": Style(0.12, 10.0, 0.08, 80.0),
}


def style_id(name: str) -> int:
    """Row of ``name`` in :func:`style_table`."""
    return STYLE_NAMES.index(name)


def style_table() -> np.ndarray:
    """``float32 [S, 7]`` style parameters in :data:`STYLE_NAMES` order (for vectorised lookups)."""
    rows = []
    for name in STYLE_NAMES:
        s = STYLES[name]
        rows.append([s.coarse_amp, s.coarse_freq, s.fine_amp, s.fine_freq, s.stripe_amp, s.stripe_freq,
                     s.stripe_mode])
    return np.asarray(rows, np.float32)


# Per-class colour choices (RGB). An object picks one entry and jitters it (see ``jitter``).
ROAD = ((96, 94, 104), (104, 102, 110), (88, 88, 96))
MARKING = ((222, 222, 212),)
SIDEWALK = ((172, 164, 152), (160, 156, 150), (162, 118, 106), (182, 172, 160))
CURB = ((188, 186, 180),)
TERRAIN = ((118, 146, 62), (134, 150, 74), (150, 140, 92), (104, 136, 58))
VEGETATION = ((56, 92, 34), (70, 104, 40), (48, 80, 36), (82, 110, 44), (62, 86, 30))
BARK = ((78, 62, 46), (66, 54, 42))
BUILDING = ((206, 190, 160), (214, 208, 196), (186, 200, 170), (156, 86, 64), (212, 192, 124),
            (196, 158, 146), (178, 170, 150), (120, 112, 108))
BACK_BUILDING = ((150, 148, 150), (168, 160, 150), (130, 128, 136))
WINDOW = ((44, 54, 70), (60, 72, 86), (36, 42, 52))
ROOF = ((110, 60, 50), (80, 78, 80), (96, 70, 60))
WALL = ((146, 144, 136), (170, 150, 120), (128, 126, 132))
FENCE = ((138, 106, 74), (96, 112, 96), (150, 150, 146))
POLE = ((128, 130, 132), (70, 84, 76), (150, 150, 148))
SIGN = ((206, 30, 36), (30, 80, 170), (230, 190, 30), (236, 236, 236))
LIGHT_BOX = ((34, 34, 34), (52, 52, 40))
CAR = ((170, 28, 30), (32, 64, 156), (226, 226, 226), (182, 186, 196), (34, 34, 40), (28, 40, 86),
       (40, 104, 62), (222, 180, 40), (210, 100, 30), (120, 30, 90), (196, 184, 150), (20, 120, 150))
CAR_GLASS = ((34, 42, 58), (46, 56, 72))
TIRE = ((22, 22, 24),)
TAIL_LIGHT = ((210, 30, 28),)
HEAD_LIGHT = ((236, 234, 206),)
SKIN = ((232, 190, 160), (196, 146, 112), (140, 96, 70), (90, 62, 46))
HAIR = ((40, 30, 24), (80, 60, 40), (20, 20, 20), (170, 140, 90), (120, 120, 120))
SHIRT = ((200, 40, 40), (40, 80, 190), (240, 240, 236), (30, 30, 34), (230, 200, 40), (50, 140, 80),
         (230, 120, 30), (150, 60, 160), (90, 170, 200), (120, 90, 60))
PANTS = ((36, 40, 70), (30, 30, 32), (90, 90, 96), (170, 150, 110), (60, 50, 40))
SKY_TOP = ((84, 136, 206), (110, 150, 200), (140, 166, 196))
SKY_HORIZON = ((206, 220, 234), (220, 226, 232), (196, 210, 222))


def pick(rng: np.random.Generator, choices: tuple[tuple[int, int, int], ...], jitter: float = 12.0) -> Color:
    """One entry of ``choices`` with uniform per-channel jitter of +-``jitter`` (clipped to 0..255)."""
    base = np.asarray(choices[int(rng.integers(len(choices)))], np.float64)
    col = np.clip(base + rng.uniform(-jitter, jitter, 3), 0, 255)
    return (float(col[0]), float(col[1]), float(col[2]))


def scale(color: Color, factor: float) -> Color:
    """``color`` brightened/darkened by ``factor`` (flat shading of a differently oriented face)."""
    return (min(color[0] * factor, 255.0), min(color[1] * factor, 255.0), min(color[2] * factor, 255.0))
