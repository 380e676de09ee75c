"""3D stick-box figures: every person is a set of boxes (legs, shoes, torso, arms, neck,
backpack, logo) plus a spherical head, posed on the ground plane with swinging legs and arms.

A figure is built in its local frame (x forward, y to its left, z up, metres, feet at the origin)
for a 1.75 m template and scaled to the person's height and build. ``pose`` places all figures of
one frame at once, vectorised over people and parts.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from datasets.synthetic.looks import PATTERNS, Appearance

TEMPLATE_HEIGHT = 1.75  # metres
HEAD_Z, HEAD_R = 1.625, 0.115  # head centre height and radius of the template, metres
HIP_Z, SHOULDER_Z = 0.88, 1.42

# part: (lo xyz, hi xyz, pivot xyz, swing sign); swing rotates the box about the pivot's y axis
_PARTS = {
    "thigh_l": ((-0.075, 0.02, 0.47), (0.075, 0.17, 0.90), (0, 0.095, HIP_Z), 1.0),
    "shin_l": ((-0.065, 0.03, 0.07), (0.065, 0.16, 0.49), (0, 0.095, HIP_Z), 1.0),
    "shoe_l": ((-0.08, 0.035, 0.0), (0.14, 0.155, 0.08), (0, 0.095, HIP_Z), 1.0),
    "thigh_r": ((-0.075, -0.17, 0.47), (0.075, -0.02, 0.90), (0, -0.095, HIP_Z), -1.0),
    "shin_r": ((-0.065, -0.16, 0.07), (0.065, -0.03, 0.49), (0, -0.095, HIP_Z), -1.0),
    "shoe_r": ((-0.08, -0.155, 0.0), (0.14, -0.035, 0.08), (0, -0.095, HIP_Z), -1.0),
    "torso": ((-0.12, -0.2, 0.86), (0.12, 0.2, 1.46), (0, 0, 0), 0.0),
    "arm_l": ((-0.05, 0.2, 0.80), (0.05, 0.29, 1.45), (0, 0.245, SHOULDER_Z), -0.8),
    "arm_r": ((-0.05, -0.29, 0.80), (0.05, -0.2, 1.45), (0, -0.245, SHOULDER_Z), 0.8),
    "neck": ((-0.045, -0.05, 1.44), (0.045, 0.05, 1.54), (0, 0, 0), 0.0),
    "backpack": ((-0.31, -0.15, 1.0), (-0.12, 0.15, 1.42), (0, 0, 0), 0.0),
    "logo": ((0.12, -0.07, 1.17), (0.13, 0.07, 1.32), (0, 0, 0), 0.0),
}
PART_NAMES = tuple(_PARTS)
TORSO = PART_NAMES.index("torso")
_LO, _HI, _PIVOT, _SWING = (np.array([v[k] for v in _PARTS.values()], dtype=np.float64) for k in range(4))

# unit-box corner i has bits (x, y, z) = (i & 1, i >> 1 & 1, i >> 2 & 1)
UNIT_CORNERS = np.array([[i & 1, i >> 1 & 1, i >> 2 & 1] for i in range(8)], dtype=np.float64)
# faces as corner indices (a, b, c, d): a->b runs horizontally, a->d upwards on side faces, and
# cross(b - a, d - a) points out of the box. Order: front +x, back -x, left +y, right -y, top, bottom.
FACES = np.array([[1, 3, 7, 5], [2, 0, 4, 6], [3, 2, 6, 7], [0, 1, 5, 4], [4, 5, 7, 6], [0, 2, 3, 1]])
SIDE_FACES = 4  # the first four faces are vertical and carry clothing patterns
# (P, 6) faces worth drawing: the tops of thighs, shins and neck are covered by the part above,
# bottoms face the ground, and the logo is a decal on the chest (front face only)
DRAWN = np.ones((len(PART_NAMES), 6), dtype=bool)
DRAWN[:, 5] = False
DRAWN[[PART_NAMES.index(n) for n in ("thigh_l", "shin_l", "thigh_r", "shin_r", "neck")], 4] = False
DRAWN[PART_NAMES.index("logo"), 1:] = False


@dataclass
class Figures:
    """Per-person, per-part geometry and colours of ``N`` people with ``P`` parts each."""

    lo: np.ndarray  # (N, P, 3) box corner with the smallest coordinates, local frame, metres
    hi: np.ndarray  # (N, P, 3) opposite box corner
    pivot: np.ndarray  # (N, P, 3) swing pivot
    swing: np.ndarray  # (P,) swing sign and scale
    valid: np.ndarray  # (N, P) bool: the person has this part (backpack, logo are optional)
    colour: np.ndarray  # (N, P, 3) BGR
    alt: np.ndarray  # (N, P, 3) BGR, second pattern colour
    pattern: np.ndarray  # (N, P) int index into PATTERNS (only the torso is patterned)
    head_z: np.ndarray  # (N,) head centre height, metres
    head_r: np.ndarray  # (N,) head radius, metres
    skin: np.ndarray  # (N, 3) BGR
    hair: np.ndarray  # (N, 3) BGR


def build_figures(people: Sequence[Appearance]) -> Figures:
    """Scale the template to every person and assign part colours."""
    n, p = len(people), len(PART_NAMES)
    sz = np.array([a.height / TEMPLATE_HEIGHT for a in people])
    sxy = np.array([a.build for a in people]) * np.sqrt(sz)
    scale = np.stack([sxy, sxy, sz], axis=1)[:, None, :]  # (N, 1, 3)
    colour, alt = np.zeros((n, p, 3)), np.zeros((n, p, 3))
    pattern = np.zeros((n, p), dtype=int)
    valid = np.ones((n, p), dtype=bool)
    idx = {name: k for k, name in enumerate(PART_NAMES)}
    for i, a in enumerate(people):
        for side in "lr":
            colour[i, idx["thigh_" + side]] = a.bottom
            colour[i, idx["shin_" + side]] = a.skin if a.shorts else a.bottom
            colour[i, idx["shoe_" + side]] = a.shoes
            colour[i, idx["arm_" + side]] = a.top if a.sleeves else a.skin
        colour[i, TORSO], alt[i, TORSO] = a.top, a.top_alt
        pattern[i, TORSO] = PATTERNS.index(a.pattern)
        colour[i, idx["neck"]] = a.skin
        colour[i, idx["backpack"]] = a.backpack if a.backpack is not None else 0
        colour[i, idx["logo"]] = a.logo if a.logo is not None else 0
        valid[i, idx["backpack"]] = a.backpack is not None
        valid[i, idx["logo"]] = a.logo is not None
    return Figures(lo=_LO[None] * scale, hi=_HI[None] * scale, pivot=_PIVOT[None] * scale,
                   swing=_SWING.copy(), valid=valid, colour=colour, alt=alt, pattern=pattern,
                   head_z=HEAD_Z * sz, head_r=HEAD_R * sxy,
                   skin=np.array([a.skin for a in people]), hair=np.array([a.hair for a in people]))


def pose(fig: Figures, xy: np.ndarray, heading: np.ndarray, phase: np.ndarray,
         speed: np.ndarray) -> tuple:
    """World corners of every part and head centres of all people at one frame.

    ``xy`` (N, 2) metres, ``heading`` (N,) radians, ``phase`` (N,) gait phase, ``speed`` (N,) m/s
    (the swing amplitude grows with speed; standing people have straight limbs).
    Returns ``corners (N, P, 8, 3)`` and ``head (N, 3)``, world metres.
    """
    local = fig.lo[:, :, None] + (fig.hi - fig.lo)[:, :, None] * UNIT_CORNERS  # (N, P, 8, 3)
    amp = 0.5 * np.clip(np.nan_to_num(speed) / 1.3, 0, 1)  # (N,) radians
    ang = fig.swing[None] * (amp * np.sin(np.nan_to_num(phase)))[:, None]  # (N, P)
    c, s = np.cos(ang)[..., None], np.sin(ang)[..., None]
    rel = local - fig.pivot[:, :, None]
    x = fig.pivot[:, :, None, 0] + c * rel[..., 0] + s * rel[..., 2]
    z = fig.pivot[:, :, None, 2] - s * rel[..., 0] + c * rel[..., 2]
    y = local[..., 1]
    ch, sh = np.cos(heading)[:, None, None], np.sin(heading)[:, None, None]
    wx = xy[:, 0, None, None] + ch * x - sh * y
    wy = xy[:, 1, None, None] + sh * x + ch * y
    corners = np.stack([wx, wy, z], axis=-1)
    head = np.stack([xy[:, 0], xy[:, 1], fig.head_z], axis=-1)
    return corners, head


def prop_corners(props: Sequence) -> np.ndarray:
    """World corners (Q, 8, 3) of static props (boxes standing on the ground), metres."""
    if len(props) == 0:
        return np.zeros((0, 8, 3))
    size = np.array([p.size for p in props])  # (Q, 3)
    local = (UNIT_CORNERS[None] - [0.5, 0.5, 0.0]) * size[:, None]  # (Q, 8, 3)
    yaw = np.array([p.yaw for p in props])[:, None]
    c, s = np.cos(yaw), np.sin(yaw)
    cx, cy = (np.array([p.centre for p in props]).T)[:, :, None]
    x = cx + c * local[..., 0] - s * local[..., 1]
    y = cy + s * local[..., 0] + c * local[..., 1]
    return np.stack([x, y, local[..., 2]], axis=-1)
