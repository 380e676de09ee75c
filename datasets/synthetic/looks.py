"""What people and props look like: clothing, patterns, one-sided features; prop shapes.

Colours are BGR triples on the 0..255 scale (OpenCV order). The clothing palette is small on
purpose, and some people copy another person's whole outfit, so that appearance alone does not
always tell two people apart. Every person carries at least one feature that only one side shows:
a logo on the chest (front) and/or a backpack (back).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

PATTERNS = ("plain", "stripes", "checks")

# Clothing palette (BGR): few enough that colours repeat within a scene.
CLOTHES = np.array([
    [40, 40, 45], [235, 235, 230], [50, 50, 170], [150, 70, 30], [60, 120, 40], [40, 170, 210],
    [110, 110, 115], [120, 40, 110], [30, 90, 150], [180, 150, 100], [80, 60, 50], [150, 160, 230],
], dtype=np.float64)
SKIN = np.array([[170, 200, 240], [130, 170, 220], [90, 130, 190], [60, 90, 140], [45, 65, 100]],
                dtype=np.float64)
HAIR = np.array([[20, 20, 25], [30, 45, 70], [60, 100, 150], [140, 170, 200], [150, 150, 150]],
                dtype=np.float64)
PROP_COLOURS = np.array([[120, 125, 130], [70, 95, 120], [60, 110, 70], [150, 150, 140],
                         [50, 60, 90], [110, 90, 80]], dtype=np.float64)


@dataclass(frozen=True)
class Appearance:
    """Body shape and clothing of one person (colours BGR, 0..255)."""

    height: float  # metres, feet to top of head
    build: float  # width scale, 1 = average
    skin: tuple
    hair: tuple
    top: tuple  # shirt / jacket colour
    top_alt: tuple  # second colour of the shirt pattern
    pattern: str  # one of PATTERNS
    sleeves: bool  # long sleeves (arms in the top colour) or bare arms
    bottom: tuple  # trousers / shorts colour
    shorts: bool  # shins bare
    shoes: tuple
    logo: Optional[tuple] = None  # colour of a chest logo, seen only from the front
    backpack: Optional[tuple] = None  # colour of a backpack, seen mainly from behind


@dataclass(frozen=True)
class Prop:
    """A static box standing on the ground (pillar, crate, bench, kiosk)."""

    kind: str
    centre: tuple  # (x, y), metres
    size: tuple  # (length, width, height), metres
    yaw: float  # radians
    colour: tuple  # BGR

    @property
    def radius(self) -> float:
        """Radius of the footprint's enclosing circle, metres."""
        return 0.5 * float(np.hypot(self.size[0], self.size[1]))


def _colour(rng: np.random.Generator, palette: np.ndarray, spread: float = 12.0) -> tuple:
    c = palette[rng.integers(len(palette))] + rng.normal(0, spread, size=3)
    return tuple(float(v) for v in np.clip(c, 0, 255))


def sample_appearances(rng: np.random.Generator, n: int) -> list:
    """``n`` appearances; some share an outfit (top, pattern, bottom) with an earlier person."""
    twins = rng.uniform(size=n) < 0.3
    if n >= 4 and not twins[1:].any():
        twins[int(rng.integers(1, n))] = True
    twins[0] = False
    people = []
    for i in range(n):
        top, top_alt = _colour(rng, CLOTHES), _colour(rng, CLOTHES)
        pattern = PATTERNS[int(rng.choice(3, p=[0.5, 0.3, 0.2]))]
        bottom = _colour(rng, CLOTHES[[0, 3, 6, 8, 10, 9]])
        if twins[i]:
            src = people[int(rng.integers(i))]
            top, top_alt, pattern, bottom = src.top, src.top_alt, src.pattern, src.bottom
        side = rng.uniform()  # at least one one-sided feature
        people.append(Appearance(
            height=float(np.clip(rng.normal(1.72, 0.09), 1.5, 1.98)),
            build=float(rng.uniform(0.85, 1.2)),
            skin=_colour(rng, SKIN, 6), hair=_colour(rng, HAIR, 8),
            top=top, top_alt=top_alt, pattern=pattern, sleeves=bool(rng.uniform() < 0.7),
            bottom=bottom, shorts=bool(rng.uniform() < 0.2),
            shoes=_colour(rng, CLOTHES[[0, 1, 3, 10]], 10),
            logo=_colour(rng, CLOTHES, 30) if side < 0.65 else None,
            backpack=_colour(rng, CLOTHES, 20) if side > 0.4 else None,
        ))
    return people


PROP_KINDS = {  # kind -> (length range, width range, height range), metres
    "pillar": ((0.4, 0.7), (0.4, 0.7), (2.5, 3.5)),
    "crate": ((0.6, 1.3), (0.6, 1.2), (0.5, 1.3)),
    "bench": ((1.4, 2.0), (0.45, 0.6), (0.45, 0.55)),
    "kiosk": ((1.5, 2.5), (1.2, 2.0), (2.0, 2.6)),
}


def sample_props(rng: np.random.Generator, n: int, radius: float) -> list:
    """``n`` props inside the walking disc, at least 2.5 m apart and off the very centre."""
    kinds = list(PROP_KINDS)
    props: list = []
    for _ in range(n):
        for _ in range(50):
            r, a = radius * rng.uniform(0.3, 1.0), rng.uniform(0, 2 * np.pi)
            c = (float(r * np.cos(a)), float(r * np.sin(a)))
            if all(np.hypot(c[0] - p.centre[0], c[1] - p.centre[1]) > p.radius + 2.5 for p in props):
                break
        kind = kinds[int(rng.integers(len(kinds)))]
        size = tuple(float(rng.uniform(*rng_)) for rng_ in PROP_KINDS[kind])
        props.append(Prop(kind=kind, centre=c, size=size, yaw=float(rng.uniform(0, np.pi)),
                          colour=_colour(rng, PROP_COLOURS, 10)))
    return props
