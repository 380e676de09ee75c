"""Static background of a view: textured ground, a ring of building facades, and sky.

Every pixel's viewing ray is intersected with the ground plane and with a vertical cylinder of
facades around the scene, all at once with numpy. Textures are anchored in world coordinates, so
every camera of a scene sees the same ground. The result is computed once per view and copied
into every frame before the people and props are drawn (a moving camera warps wider renders
instead, ``moving_background``).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from datasets.synthetic.camera import Camera

GROUNDS = ("tiles", "grass", "asphalt")
WALL_RADIUS = 28.0  # metres from the origin to the facades


@dataclass
class SceneStyle:
    """Look of one scene's surroundings, shared by all its cameras (colours BGR 0..255)."""

    ground: str  # one of GROUNDS
    ground_colour: np.ndarray  # (3,)
    tile: float  # tile size, metres
    coarse: np.ndarray  # (64, 64) float32 noise over the +-WALL_RADIUS square
    fine: np.ndarray  # (128, 128) float32 noise repeating every 4 m
    facades: np.ndarray  # (B, 3) colours of B buildings around the ring
    facade_height: np.ndarray  # (B,) metres
    sky: np.ndarray  # (2, 3) horizon and zenith colours
    light: np.ndarray  # (3,) unit vector towards the sun
    brightness: float  # overall light level, multiplies colours


def _wrap_blur(tex: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of a texture that tiles the plane (wrap-around borders)."""
    pad = int(np.ceil(3 * sigma))
    big = cv2.GaussianBlur(np.pad(tex, pad, mode="wrap"), (0, 0), sigma)
    return np.ascontiguousarray(big[pad:-pad, pad:-pad])


def sample_style(rng: np.random.Generator) -> SceneStyle:
    """Ground kind and colours, facades, sky and sun of one scene."""
    kind = GROUNDS[int(rng.integers(len(GROUNDS)))]
    base = {"tiles": [150, 160, 170], "grass": [60, 135, 80], "asphalt": [95, 95, 100]}[kind]
    n_b = int(rng.integers(10, 18))
    sun = np.array([*rng.normal(0, 1, 2), rng.uniform(0.8, 2.0)])
    return SceneStyle(
        ground=kind, ground_colour=np.clip(np.array(base) + rng.normal(0, 12, 3), 0, 255),
        tile=float(rng.uniform(0.5, 1.2)),
        coarse=rng.normal(0, 1, (64, 64)).astype(np.float32),
        fine=_wrap_blur(rng.normal(0, 1, (128, 128)).astype(np.float32), 0.8),
        facades=np.clip(rng.uniform(70, 200, (n_b, 1)) + rng.normal(0, 20, (n_b, 3)), 0, 255),
        facade_height=rng.uniform(5, 16, n_b),
        sky=np.array([[225, 215, 200], [200, 150, 110]]) + rng.normal(0, 10, (2, 3)),
        light=sun / np.linalg.norm(sun), brightness=float(rng.uniform(0.8, 1.1)))


def _sample(tex: np.ndarray, u: np.ndarray, v: np.ndarray, wrap: bool) -> np.ndarray:
    """Bilinear lookup of a 2-D texture at float texel coordinates (H, W)."""
    border = cv2.BORDER_WRAP if wrap else cv2.BORDER_REFLECT
    return cv2.remap(tex, u.astype(np.float32), v.astype(np.float32), cv2.INTER_LINEAR, borderMode=border)


def _ground(style: SceneStyle, x: np.ndarray, y: np.ndarray, footprint: np.ndarray) -> np.ndarray:
    """Ground colour (..., 3) at world points ``x, y``; ``footprint`` = metres per pixel there."""
    n = len(style.coarse)
    coarse = _sample(style.coarse, (x / WALL_RADIUS + 1) * n / 2, (y / WALL_RADIUS + 1) * n / 2, False)
    fine = _sample(style.fine, x * 32.0, y * 32.0, True)  # 128 texels per 4 m
    fade = np.clip(0.05 / np.maximum(footprint, 1e-6), 0, 1)  # fine detail vanishes with distance
    shade = 1 + 0.08 * coarse + 0.10 * fine * fade
    if style.ground == "tiles":
        ix, iy = np.floor(x / style.tile), np.floor(y / style.tile)
        tile_var = np.sin(ix * 12.9898 + iy * 78.233) * 43758.5453
        shade += 0.08 * (tile_var - np.floor(tile_var) - 0.5)
        fx, fy = x / style.tile - ix, y / style.tile - iy
        edge = np.minimum(np.minimum(fx, 1 - fx), np.minimum(fy, 1 - fy)) * style.tile
        shade -= 0.35 * (edge < 0.02) * fade
    elif style.ground == "asphalt":
        stripe = (np.abs(np.mod(x, 6.0) - 3.0) < 0.08) & (np.mod(y, 3.0) < 1.8)
        shade += 0.9 * stripe * np.clip(0.16 / np.maximum(footprint, 1e-6), 0, 1)
    return shade[..., None] * style.ground_colour


def render_background(camera: Camera, style: SceneStyle) -> np.ndarray:
    """The empty scene seen by ``camera``: uint8 image (H, W, 3), camera look applied."""
    return trace_background(camera, style)[0]


def trace_background(camera: Camera, style: SceneStyle) -> tuple:
    """The empty scene seen by ``camera`` (H, W, 3) uint8, and (H, W) bool: the pixel sees ground."""
    w, h = camera.size
    u, v = np.meshgrid(np.arange(w) + 0.5, np.arange(h) + 0.5)
    k = camera.K
    ray_cam = np.stack([(u - k[0, 2]) / k[0, 0], (v - k[1, 2]) / k[1, 1], np.ones_like(u)], -1)
    ray = ray_cam @ camera.R  # (H, W, 3) world directions (R^T d)
    ray_len = np.linalg.norm(ray_cam, axis=-1)
    c = camera.centre
    dz = ray[..., 2]
    s_ground = np.where(dz < -1e-6, -c[2] / np.minimum(dz, -1e-6), np.inf)
    a = ray[..., 0] ** 2 + ray[..., 1] ** 2
    b = 2 * (c[0] * ray[..., 0] + c[1] * ray[..., 1])
    cc = c[0] ** 2 + c[1] ** 2 - WALL_RADIUS ** 2
    s_wall = (-b + np.sqrt(np.maximum(b * b - 4 * a * cc, 0))) / np.maximum(2 * a, 1e-9)
    on_ground = s_ground < s_wall
    s = np.where(on_ground, s_ground, s_wall)  # ray parameter of the hit, metres along `ray`
    px, py, pz = c[0] + s * ray[..., 0], c[1] + s * ray[..., 1], c[2] + s * dz
    dist = s * ray_len

    footprint = dist / camera.focal / np.maximum(np.abs(dz) / ray_len, 0.05)
    ground = _ground(style, px, py, footprint)
    n_b = len(style.facades)
    ang = np.mod(np.arctan2(py, px), 2 * np.pi)
    bid = np.minimum((ang / (2 * np.pi) * n_b).astype(int), n_b - 1)
    arc = ang * WALL_RADIUS
    window = (np.mod(arc, 2.4) > 0.8) & (np.mod(arc, 2.4) < 1.8) & (np.mod(pz, 3.0) > 1.1) & (pz > 2.5)
    facade = style.facades[bid] * (1 - 0.45 * window[..., None]) * (0.85 + 0.15 * (bid % 2))[..., None]
    t = np.clip(dz / np.maximum(ray_len, 1e-9) * 3, 0, 1)[..., None]
    sky = (1 - t) * style.sky[0] + t * style.sky[1]
    img = np.where(on_ground[..., None], ground,
                   np.where((pz < style.facade_height[bid])[..., None], facade, sky))
    haze = 1 - np.exp(-dist / 70.0)[..., None]
    img = (1 - haze) * img * style.brightness + haze * style.sky[0]
    return camera.look(img).round().astype(np.uint8), on_ground
