"""The background of a moving camera, warped per frame from a few wider pre-rendered images.

Rendering the background (``background``) costs about 30 times more than warping it, so a
moving camera renders a few wider images (tiles) of its surroundings and warps one per frame:

* the ground through the ground plane's homography, exact for any pose;
* facades and sky through the homography of the plane touching the facade ring where the tile
  looks: exact for a pure rotation, and within a pixel or two for the camera's small drift.

The ground's outline comes from the ground warp, so the ground-facade edge is exact too.
"""
from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from datasets.synthetic.background import WALL_RADIUS, SceneStyle, trace_background
from datasets.synthetic.camera import Camera


def _ground_homography(K: np.ndarray, R: np.ndarray, t: np.ndarray) -> np.ndarray:
    """(..., 3, 3) maps from ground points (x, y, 1), metres, to continuous pixels."""
    return K @ np.stack([R[..., :, 0], R[..., :, 1], t], axis=-1)


_PIXEL = np.array([[1, 0, 0.5], [0, 1, 0.5], [0, 0, 1]])  # pixel index to continuous coordinates
_UNPIXEL = np.array([[1, 0, -0.5], [0, 1, -0.5], [0, 0, 1]])


def _half_plane(line: np.ndarray, size: tuple) -> np.ndarray:
    """(H, W) uint8 mask, 255 where pixel indices (x, y) satisfy ``line @ (x, y, 1) > 0``."""
    w, h = size
    mask = np.zeros((h, w), np.uint8)
    rect = np.array([[-1, -1, 1], [w, -1, 1], [w, h, 1], [-1, h, 1]], float)
    val = rect @ line
    poly = []
    for i in range(4):  # clip the rectangle by the half plane (Sutherland-Hodgman, one edge)
        j = (i + 1) % 4
        if val[i] > 0:
            poly.append(rect[i, :2])
        if (val[i] > 0) != (val[j] > 0):
            poly.append(rect[i, :2] + (rect[j, :2] - rect[i, :2]) * val[i] / (val[i] - val[j]))
    if len(poly) >= 3:
        cv2.fillConvexPoly(mask, np.round(np.array(poly) * 16).astype(np.int32), 255, cv2.LINE_8, 4)
    return mask


class MovingBackground:
    """Per-frame backgrounds of one moving camera, warped from wider images (tiles) rendered once.

    A tile is the view from one frame's pose, ``margin`` (share of the width, height) wider on
    every side. A frame uses a tile that covers it: all of its pixels, and a camera centre at most
    ``max_shift`` metres from the tile's. When none does, a new tile is rendered from the pose,
    among the next ``lookahead`` frames, whose tile covers the most frames in a row from this one,
    so a camera panning about its rest pose needs only a few tiles, each about three plain
    backgrounds' work.
    """

    def __init__(self, camera: Camera, style: SceneStyle, margin: tuple = (0.35, 0.3),
                 max_shift: float = 1.0, lookahead: int = 30, max_run: int = 150):
        if not camera.moving:
            raise ValueError("MovingBackground needs a camera with per-frame poses")
        self.camera, self.style, self.margin, self.max_shift = camera, style, margin, max_shift
        self.lookahead, self.max_run = lookahead, max_run
        self.tiles = []  # (tile camera, (H', W', 4) uint8: BGR and 255 where the pixel sees ground)
        R, t, K = camera.path_R, camera.path_t, camera.K
        w, h = camera.size
        self.centre = -np.einsum("fji,fj->fi", R, t)  # (F, 3)
        self.unground = np.linalg.inv(_ground_homography(K, R, t))  # (F, 3, 3)
        self.uv = np.array([[x, y, 1.0] for x in (0, w / 2, w) for y in (0, h / 2, h)])  # corners, mid-edges
        ray = np.einsum("pk,fkj->fpj", self.uv @ np.linalg.inv(K).T, R)  # (F, 9, 3) world directions
        down = np.minimum(ray[..., 2], -1e-9)
        hit = self.centre[:, None, :2] - (self.centre[:, None, 2:] / down[..., None]) * ray[..., :2]
        self.on_ground = (ray[..., 2] < -1e-6) & (np.hypot(hit[..., 0], hit[..., 1]) < WALL_RADIUS)  # (F, 9)

    def _maps(self, tile: Camera, frames: np.ndarray) -> tuple:
        """(F', 3, 3) homographies from continuous pixels of ``frames`` to the tile's: facades, ground.

        Facades: the plane ``n . X = WALL_RADIUS`` touching the facade ring where the tile looks,
        ``H = K' (R_rel + t_rel n_f^T / d_f) K^-1`` in the frame's camera coordinates.
        """
        cam = self.camera
        look = tile.R[2, :2] / max(np.linalg.norm(tile.R[2, :2]), 1e-9)  # tile's horizontal view direction
        c = tile.centre[:2]
        ahead = -c @ look + np.sqrt(max((c @ look) ** 2 - c @ c + WALL_RADIUS ** 2, 0.0))
        n = np.r_[(c + ahead * look) / WALL_RADIUS, 0.0]  # unit normal of the facade ring there
        R = cam.path_R[frames]  # (F', 3, 3)
        rel = tile.R @ np.swapaxes(R, 1, 2)
        t_rel = (self.centre[frames] - tile.centre) @ tile.R.T  # (F', 3)
        n_f = R @ n  # (F', 3)
        d_f = WALL_RADIUS - self.centre[frames] @ n  # (F',) distance of the plane from each frame's eye
        plane = rel + t_rel[:, :, None] * n_f[:, None, :] / d_f[:, None, None]
        facade = tile.K @ plane @ np.linalg.inv(cam.K)
        ground = _ground_homography(tile.K, tile.R, tile.t) @ self.unground[frames]
        return facade, ground

    def _covers(self, tile: Camera, frames: np.ndarray) -> np.ndarray:
        """(F',) bool: every pixel of each frame (through the homography it uses) lies inside ``tile``."""
        facade, ground = self._maps(tile, frames)
        p = np.concatenate([self.uv @ np.swapaxes(facade, 1, 2), self.uv @ np.swapaxes(ground, 1, 2)], axis=1)
        used = np.concatenate([np.ones_like(self.on_ground[frames]), self.on_ground[frames]], axis=1)
        z = p[..., 2]
        xy = p[..., :2] / np.where(np.abs(z) > 1e-9, z, 1e-9)[..., None]
        (tw, th) = tile.size
        inside = (z > 1e-9) & (xy[..., 0] >= 1) & (xy[..., 1] >= 1) & (xy[..., 0] <= tw - 1) & (xy[..., 1] <= th - 1)
        near = np.linalg.norm(self.centre[frames] - tile.centre, axis=1) <= self.max_shift
        return near & (inside | ~used).all(axis=1)

    def _tile_camera(self, frame: int) -> Camera:
        cam = self.camera.at(frame)
        w, h = cam.size
        mx, my = int(round(self.margin[0] * w)), int(round(self.margin[1] * h))
        K = cam.K.copy()
        K[0, 2] += mx
        K[1, 2] += my
        return dataclasses.replace(cam, K=K, size=(w + 2 * mx, h + 2 * my))

    def _new_tile(self, frame: int) -> tuple:
        """Render the tile that covers the most frames in a row from ``frame``."""
        frames = np.arange(frame, min(frame + self.max_run, len(self.centre)))
        best, best_run = None, -1
        for c in range(frame, min(frame + self.lookahead, len(self.centre))):
            tile = self._tile_camera(c)
            covered = self._covers(tile, frames)
            run = len(frames) if covered.all() else int(np.argmin(covered))
            if run > best_run:
                best, best_run = tile, run
        if best_run < 1:  # nothing ahead covers this frame: the frame's own view does
            best = self._tile_camera(frame)
        img, ground = trace_background(best, self.style)
        return best, np.ascontiguousarray(np.dstack([img, ground.astype(np.uint8) * 255]))

    def frame(self, frame: int) -> np.ndarray:
        """The empty scene seen by the camera at ``frame``: uint8 image (H, W, 3)."""
        hit = next((k for k in range(len(self.tiles) - 1, -1, -1)
                    if self._covers(self.tiles[k][0], np.array([frame]))[0]), None)
        if hit is None:
            self.tiles.append(self._new_tile(frame))
            hit = len(self.tiles) - 1
        self.tiles.append(self.tiles.pop(hit))  # most recently used last: it is tried first
        tile, img = self.tiles[-1]
        size, flags = self.camera.size, cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
        facade, ground = (_UNPIXEL @ m[0] @ _PIXEL for m in self._maps(tile, np.array([frame])))
        far = cv2.warpPerspective(img, facade, size, flags=flags, borderMode=cv2.BORDER_REPLICATE)
        near = cv2.warpPerspective(img, ground, size, flags=flags, borderMode=cv2.BORDER_REPLICATE)
        # a pixel sees the ground where the ground warp lands on the tile's ground, below the horizon
        # (the third row of the inverse ground homography is > 0 for ground points in front)
        front = _half_plane(self.unground[frame][2] @ _PIXEL, size)
        ground_px = cv2.bitwise_and(cv2.compare(cv2.extractChannel(near, 3), 127, cv2.CMP_GT), front)
        return cv2.cvtColor(cv2.copyTo(near, ground_px, far), cv2.COLOR_BGRA2BGR)
