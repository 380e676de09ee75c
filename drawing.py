"""Drawing IDs on images, one colour per ID everywhere, and tiling images into a mosaic.

Shared by the tracking videos (:mod:`pipeline.render`) and the synthetic dataset's preview
pictures (:mod:`datasets.synthetic.preview`), so a person's ID has the same colour in both.
Images are BGR uint8 ``(H, W, 3)`` (OpenCV's order); boxes are MOT rows ``(M, >=6)``:
frame, id, then the ``tlwh`` box in pixels.
"""
from __future__ import annotations

import colorsys
import math
from typing import Optional, Sequence

import cv2
import numpy as np


def id_color(track_id: int) -> tuple:
    """A BGR colour per ID, far apart for consecutive IDs (golden-ratio hue steps)."""
    hue = (track_id * 0.618033988749895) % 1.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.85, 1.0)
    return int(b * 255), int(g * 255), int(r * 255)


def draw_tracks(image: np.ndarray, rows: np.ndarray, label: str = "") -> np.ndarray:
    """Draw MOT rows ``(M, >=6)`` of one frame (box and ID in the ID's colour) and a ``label`` at
    the bottom left on a BGR image, in place; returns it."""
    thick = max(1, image.shape[0] // 300)
    for row in rows:
        tid, (x, y, w, h) = int(row[1]), row[2:6]
        color = id_color(tid)
        cv2.rectangle(image, (int(x), int(y)), (int(x + w), int(y + h)), color, thick)
        cv2.putText(image, str(tid), (int(x), max(12, int(y) - 3)), cv2.FONT_HERSHEY_SIMPLEX,
                    0.4 * thick + 0.1, color, thick, cv2.LINE_AA)
    if label:
        cv2.putText(image, label, (8, image.shape[0] - 10), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 2)
    return image


def mosaic(images: Sequence[np.ndarray], width: Optional[int] = 1280, cols: Optional[int] = None) -> np.ndarray:
    """Tile images in a grid of ``cols`` columns (default: near-square), empty cells black.

    With ``width`` every image is resized to a common cell so that the grid is ``width`` pixels
    wide; with ``width=None`` the images (all of one size) are tiled as they are.
    """
    cols = cols or math.ceil(math.sqrt(len(images)))
    rows = math.ceil(len(images) / cols)
    h0, w0 = images[0].shape[:2]
    if width is None:
        cw, ch = w0, h0
    else:
        cw = width // cols
        ch = int(round(cw * h0 / w0))
    out = np.zeros((rows * ch, cols * cw, 3), np.uint8)
    for i, im in enumerate(images):
        r, c = divmod(i, cols)
        if width is not None:
            im = cv2.resize(im, (cw, ch), interpolation=cv2.INTER_AREA)
        out[r * ch:(r + 1) * ch, c * cw:(c + 1) * cw] = im
    return out
