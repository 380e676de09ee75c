"""The preview picture of a scene: one frame of every view side by side, GT boxes and ids drawn."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from atomic import atomic_open
from loader.mot import read_mot


def id_colour(pid: int) -> tuple:
    """A bright BGR colour per id, far apart for consecutive ids."""
    hsv = np.uint8([[[(pid * 47) % 180, 230, 255]]])
    return tuple(int(c) for c in cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0])


def draw_preview(images: list, boxes: list, names: list) -> np.ndarray:
    """Views side by side (two rows when more than four), GT boxes (N, 10 MOT rows) and ids drawn."""
    tiles, font = [], cv2.FONT_HERSHEY_SIMPLEX
    for img, rows, name in zip(images, boxes, names):
        img = img.copy()
        for r in rows:
            x, y, w, h = (int(round(v)) for v in r[2:6])
            colour = id_colour(int(r[1]))
            cv2.rectangle(img, (x, y), (x + w - 1, y + h - 1), colour, 2)
            cv2.putText(img, str(int(r[1])), (x + 2, max(y - 4, 12)), font, 0.5, colour, 2)
        cv2.putText(img, f"view {name}", (8, img.shape[0] - 10), font, 0.6, (255, 255, 255), 2)
        tiles.append(img)
    cols = len(tiles) if len(tiles) <= 4 else (len(tiles) + 1) // 2
    while len(tiles) % cols:
        tiles.append(np.zeros_like(tiles[0]))
    lines = [np.concatenate(tiles[i:i + cols], axis=1) for i in range(0, len(tiles), cols)]
    return np.concatenate(lines, axis=0)


def write_preview(scene_dir: Path, views: list, frame: int) -> Path:
    """Write ``<scene_dir>/preview.png`` of ``frame`` from the files already on disk."""
    images, boxes = [], []
    for v in views:
        images.append(cv2.imread(str(scene_dir / v / "images" / f"{frame}.jpg"), cv2.IMREAD_COLOR))
        rows = read_mot(scene_dir / v / "gt_det" / "gt.txt")
        boxes.append(rows[rows[:, 0] == frame])
    ok, buf = cv2.imencode(".png", draw_preview(images, boxes, views), [cv2.IMWRITE_PNG_COMPRESSION, 9])
    if not ok:
        raise RuntimeError(f"PNG encoding failed for the preview of {scene_dir}")
    path = scene_dir / "preview.png"
    with atomic_open(path, "wb") as f:
        f.write(buf.tobytes())
    return path
