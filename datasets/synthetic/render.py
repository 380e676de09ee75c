"""Drawing one view of one frame: people and props far to near, boxes and visibility.

People and props are drawn with the painter's algorithm (farthest first; inside a figure, its
farthest part first), so nearer objects hide farther ones. Alongside the image a label buffer
records which person owns each pixel; a person's visibility is the number of pixels it owns at the
end divided by the area of its whole silhouette (drawn alone, without clipping to the image), so
both occlusion and leaving the image lower it. Its box is the extent of the projected figure,
clipped to the image (``tlwh``, pixels).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import cv2
import numpy as np

from datasets.synthetic.camera import Camera
from datasets.synthetic.figure import DRAWN, FACES, PART_NAMES, SIDE_FACES, TORSO, Figures, prop_corners

SHIFT = 4  # fixed-point bits of polygon coordinates handed to OpenCV
ONE = 1 << SHIFT
NEAR = 0.3  # metres: anything closer to the camera is not drawn
AMBIENT = 0.55  # share of light that does not depend on the face's orientation
GRID = 6  # pattern cells per side of a torso face
_U, _V = np.meshgrid(np.linspace(0, 1, GRID + 1), np.linspace(0, 1, GRID + 1), indexing="ij")
_GRID_W = np.stack([1 - _U - _V, _U, np.zeros_like(_U), _V], -1).reshape(-1, 4)  # a + u(b-a) + v(d-a)
_CELLS = np.array([[i * (GRID + 1) + j, (i + 1) * (GRID + 1) + j, (i + 1) * (GRID + 1) + j + 1,
                    i * (GRID + 1) + j + 1] for i in range(GRID) for j in range(GRID)])
_ALT_CELLS = {1: np.array([j % 2 == 1 for i in range(GRID) for j in range(GRID)]),  # stripes
              2: np.array([(i // 2 + j) % 2 == 1 for i in range(GRID) for j in range(GRID)])}  # checks


@dataclass
class FrameResult:
    """What one camera saw of one frame."""

    image: np.ndarray  # (H, W, 3) uint8 BGR
    person: np.ndarray  # (M,) int: 0-based index of each person drawn at least partly in the image
    box: np.ndarray  # (M, 4) float tlwh of the projected figure clipped to the image, pixels
    visibility: np.ndarray  # (M,) float in [0, 1]: visible share of the whole silhouette


def _fixed(uv: np.ndarray) -> np.ndarray:
    """Continuous pixel coordinates (corner at 0) to OpenCV fixed-point pixel-centre integers."""
    return np.round((uv - 0.5) * ONE).astype(np.int32, order="C")


def _face_light(corners: np.ndarray, light: np.ndarray, eye: np.ndarray) -> tuple:
    """Face visibility and light of boxes ``corners (..., 8, 3)``: (..., 6) bool, (..., 6) float."""
    f = corners[..., FACES, :]  # (..., 6, 4, 3)
    n = np.cross(f[..., 1, :] - f[..., 0, :], f[..., 3, :] - f[..., 0, :])
    n /= np.maximum(np.linalg.norm(n, axis=-1, keepdims=True), 1e-12)
    seen = np.einsum("...k,...k->...", n, eye - f.mean(axis=-2)) > 0
    return seen, AMBIENT + (1 - AMBIENT) * np.clip(n @ light, 0, None)


class ViewRenderer:
    """Renders the frames of one camera of a scene (props and sensor noise are fixed).

    A static camera's ``background`` is copied into every frame; a moving camera passes each
    frame's pose and background to ``render``.
    """

    def __init__(self, camera: Camera, background: Optional[np.ndarray], figures: Figures, props: Sequence,
                 light: np.ndarray, brightness: float, rng: np.random.Generator):
        self.background, self.fig = background, figures
        self.light, self.brightness, self.rng = np.asarray(light, float), brightness, rng
        w, h = camera.size
        self.bank = None
        if camera.noise > 0:  # a noise field somewhat larger than the image; frames crop it at random
            noise = np.round(rng.normal(0, camera.noise, (h + 16, w + 16, 3)))
            self.bank = (np.clip(noise, 0, 255).astype(np.uint8), np.clip(-noise, 0, 255).astype(np.uint8))
        self.prop_corners = prop_corners(props)
        self.prop_colours = np.array([p.colour for p in props]).reshape(-1, 1, 3)
        self._set_camera(camera)

    def _set_camera(self, camera: Camera) -> None:
        """Take the pose of ``camera``: its eye and the props as it sees them."""
        self.cam, self.eye = camera, camera.centre
        corners = self.prop_corners
        uv, depth = camera.project(corners)
        seen, shade = _face_light(corners, self.light, self.eye)
        colours = camera.look(self.prop_colours * shade[..., None] * self.brightness)  # (Q, 6, 3)
        keep = [q for q in range(len(corners)) if depth[q].min() > NEAR]
        self.props = [(float(depth[q].mean()), uv[q].min(axis=0).tolist() + uv[q].max(axis=0).tolist(),
                       [(_fixed(uv[q, FACES[f]]), colours[q, f].tolist()) for f in np.flatnonzero(seen[q])])
                      for q in keep]
        self.prop_box = np.array([p[1] for p in self.props]).reshape(-1, 4)  # (Q, 4) x0, y0, x1, y1

    def render(self, corners: np.ndarray, head: np.ndarray, heading: np.ndarray, present: np.ndarray,
               camera: Optional[Camera] = None, background: Optional[np.ndarray] = None) -> FrameResult:
        """Draw one frame; ``corners (N, P, 8, 3)``, ``head (N, 3)``, ``heading (N,)``, ``present (N,)``.

        ``camera`` (this frame's pose) and ``background`` (H, W, 3) replace the fixed ones (moving
        camera); ``background`` is drawn into.
        """
        if camera is not None and camera is not self.cam:
            self._set_camera(camera)
        cam, fig = self.cam, self.fig
        w, h = cam.size
        img = self.background.copy() if background is None else background
        label = np.zeros((h, w), np.uint8)
        uv, depth = cam.project(corners)  # (N, P, 8, 2), (N, P, 8)
        huv, hdepth = cam.project(head)
        hr = cam.focal * fig.head_r / np.maximum(hdepth, NEAR)  # head radius, pixels
        near = np.where(fig.valid[..., None], depth, np.inf).min(axis=(1, 2))
        people = np.flatnonzero(present & (near > NEAR) & (hdepth > NEAR))
        pts = np.where(fig.valid[people, :, None, None], uv[people], np.nan)
        pts = pts.reshape(len(people), uv.shape[1] * uv.shape[2], 2)  # (M, P * 8, 2)
        lo = np.minimum(np.nanmin(pts, axis=1), huv[people] - hr[people, None]) if len(people) else pts[:, 0]
        hi = np.maximum(np.nanmax(pts, axis=1), huv[people] + hr[people, None]) if len(people) else pts[:, 0]
        inside = (hi[:, 0] > 0) & (hi[:, 1] > 0) & (lo[:, 0] < w) & (lo[:, 1] < h)
        people, lo, hi = people[inside], lo[inside], hi[inside]  # lo, hi: (M, 2) unclipped extent

        seen, shade = _face_light(corners[people], self.light, self.eye)  # (M, P, 6)
        seen &= fig.valid[people][..., None] & DRAWN
        light = shade[..., None] * self.brightness
        colour = cam.look(fig.colour[people][:, :, None] * light).tolist()  # (M, P, 6, 3)
        alt = cam.look(fig.alt[people][:, :, None] * light).tolist()
        polys = _fixed(uv[people][:, :, FACES])  # (M, P, 6, 4, 2)
        tf = corners[people, TORSO][:, FACES[:SIDE_FACES]]  # (M, 4, 4, 3) torso side faces
        grid = _fixed(cam.project(np.einsum("gk,mfkc->mfgc", _GRID_W, tf))[0])  # (M, 4, G, 2)
        to_eye = self.eye[:2] - head[people, :2]
        facing = (np.cos(heading[people]) * to_eye[:, 0] + np.sin(heading[people]) * to_eye[:, 1]) \
            / np.maximum(np.hypot(to_eye[:, 0], to_eye[:, 1]), 1e-6)
        part_depth = np.concatenate([depth[people].mean(axis=2), hdepth[people, None]], axis=1)
        order = np.argsort(-part_depth, axis=1, kind="stable").tolist()  # farthest part first
        skin = cam.look(fig.skin[people] * (AMBIENT + 0.3) * self.brightness).tolist()
        hair = cam.look(fig.hair[people] * (AMBIENT + 0.3) * self.brightness).tolist()
        seen_l, n_parts = seen.tolist(), len(PART_NAMES)

        objects = [(d, 0, k) for k, (d, _, _) in enumerate(self.props)]
        objects += [(float(hdepth[i]), 1, m) for m, i in enumerate(people)]
        objects.sort(key=lambda o: (-o[0], o[1], o[2]))
        for _, kind, m in objects:
            if kind == 0:
                for poly, col in self.props[m][2]:
                    cv2.fillConvexPoly(img, poly, col, cv2.LINE_AA, SHIFT)
                    cv2.fillConvexPoly(label, poly, 0, cv2.LINE_8, SHIFT)
                continue
            value, pattern = int(people[m]) + 1, int(fig.pattern[people[m], TORSO])
            for p in order[m]:
                if p == n_parts:
                    _head(img, label, huv[people[m]], hr[people[m]], skin[m], hair[m], facing[m], value)
                    continue
                faces = [f for f in range(6) if seen_l[m][p][f]]
                for f in faces:
                    cv2.fillConvexPoly(img, polys[m, p, f], colour[m][p][f], cv2.LINE_AA, SHIFT)
                    if p == TORSO and pattern and f < SIDE_FACES:
                        cells = grid[m, f][_CELLS[_ALT_CELLS[pattern]]]
                        cv2.fillPoly(img, cells, alt[m][p][f], cv2.LINE_AA, SHIFT)
                if faces:  # the visible faces of a box tile its outline: one even-odd fill is exact
                    cv2.fillPoly(label, polys[m, p, faces], value, cv2.LINE_8, SHIFT)

        counts = np.bincount(label.ravel(), minlength=len(corners) + 1)[1:][people]
        full = counts.astype(float)
        hidden = self._maybe_hidden(people, hdepth[people], lo, hi)
        for m in np.flatnonzero(hidden):
            full[m] = _area(polys[m], seen[m], huv[people[m]], hr[people[m]], lo[m], hi[m])
        vis = np.clip(counts / np.maximum(full, 1), 0, 1)
        box = np.concatenate([np.clip(lo, 0, [w, h]), np.clip(hi, 0, [w, h])], 1)
        box[:, 2:] -= box[:, :2]
        keep = (box[:, 2] > 0) & (box[:, 3] > 0)
        return FrameResult(image=self._sensor(img), person=people[keep], box=box[keep], visibility=vis[keep])

    def _maybe_hidden(self, people: np.ndarray, depth: np.ndarray, lo: np.ndarray,
                      hi: np.ndarray) -> np.ndarray:
        """(M,) bool: the person crosses the image border or a nearer object's extent overlaps it.

        Everyone else is fully visible, so their silhouette area is the pixel count they own.
        """
        w, h = self.cam.size
        out = (lo[:, 0] < 0) | (lo[:, 1] < 0) | (hi[:, 0] > w) | (hi[:, 1] > h)
        d = np.concatenate([depth, [p[0] for p in self.props]])
        blo = np.concatenate([lo, self.prop_box[:, :2]]) - 1
        bhi = np.concatenate([hi, self.prop_box[:, 2:]]) + 1
        overlap = (blo[None, :, 0] < hi[:, None, 0]) & (bhi[None, :, 0] > lo[:, None, 0]) & \
                  (blo[None, :, 1] < hi[:, None, 1]) & (bhi[None, :, 1] > lo[:, None, 1])
        nearer = d[None, :] <= depth[:, None]
        nearer[np.arange(len(people)), np.arange(len(people))] = False
        return out | (overlap & nearer).any(axis=1)

    def _sensor(self, img: np.ndarray) -> np.ndarray:
        """Defocus and sensor noise of this camera."""
        if self.cam.blur > 0:
            img = cv2.GaussianBlur(img, (5, 5), self.cam.blur)
        if self.bank is not None:
            h, w = img.shape[:2]
            oy, ox = (int(v) for v in self.rng.integers(0, 17, size=2))
            up, down = self.bank[0][oy:oy + h, ox:ox + w], self.bank[1][oy:oy + h, ox:ox + w]
            img = cv2.subtract(cv2.add(img, up), down)  # saturating uint8 arithmetic
        return img


def _head(img: np.ndarray, label: np.ndarray, centre: np.ndarray, radius: float, skin: list,
          hair: list, facing: float, value: int) -> None:
    """Draw a head (hair covers the back and the top) into ``img`` and ``label``."""
    c, r = tuple(int(v) for v in _fixed(centre)), max(int(round(radius * ONE)), 1)
    if facing < -0.35:  # seen from behind: all hair
        cv2.circle(img, c, r, hair, -1, cv2.LINE_AA, SHIFT)
    else:
        cv2.circle(img, c, r, skin, -1, cv2.LINE_AA, SHIFT)
        cv2.ellipse(img, c, (r, r), 0, 180, 360, hair, -1, cv2.LINE_AA, SHIFT)
    cv2.circle(label, c, r, value, -1, cv2.LINE_8, SHIFT)


def _area(polys: np.ndarray, seen: np.ndarray, centre: np.ndarray, radius: float,
          lo: np.ndarray, hi: np.ndarray) -> int:
    """Pixel area of one person's whole silhouette, drawn alone on its own canvas.

    ``polys (P, 6, 4, 2)`` fixed-point faces, ``seen (P, 6)`` faces drawn, ``lo, hi`` its extent.
    The canvas is shifted by whole pixels, so it rasterises exactly as the image does.
    """
    origin = np.floor(lo).astype(np.int32) - 1
    size = np.ceil(hi - lo).astype(int) + 3
    mask = np.zeros((size[1], size[0]), np.uint8)
    for p in np.flatnonzero(seen.any(axis=1)):  # the same fills as the label buffer's
        cv2.fillPoly(mask, polys[p, seen[p]] - origin * ONE, 1, cv2.LINE_8, SHIFT)
    c = _fixed(centre) - origin * ONE
    cv2.circle(mask, (int(c[0]), int(c[1])), max(int(round(radius * ONE)), 1), 1, -1, cv2.LINE_8, SHIFT)
    return int(cv2.countNonZero(mask))
