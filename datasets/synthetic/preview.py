"""The preview picture of a scene: one frame of every view side by side, GT boxes and ids drawn."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from atomic import atomic_open
from drawing import draw_tracks, mosaic
from loader.frames import view_source
from loader.mot import read_mot


def draw_preview(images: list, boxes: list, names: list) -> np.ndarray:
    """Views side by side (two rows when more than four), GT boxes (N, 10 MOT rows) and ids drawn
    in the colours the tracking videos give them."""
    tiles = [draw_tracks(img.copy(), rows, f"view {name}") for img, rows, name in zip(images, boxes, names)]
    return mosaic(tiles, width=None, cols=len(tiles) if len(tiles) <= 4 else (len(tiles) + 1) // 2)


def write_preview(scene_dir: Path, views: list, frame: int) -> Path:
    """Write ``<scene_dir>/preview.png`` of ``frame`` from the files already on disk."""
    images, boxes = [], []
    for v in views:
        source = view_source(scene_dir / v)
        images.append(source.read(frame))
        source.close()
        rows = read_mot(scene_dir / v / "gt_det" / "gt.txt")
        boxes.append(rows[rows[:, 0] == frame])
    ok, buf = cv2.imencode(".png", draw_preview(images, boxes, views), [cv2.IMWRITE_PNG_COMPRESSION, 9])
    if not ok:
        raise RuntimeError(f"PNG encoding failed for the preview of {scene_dir}")
    path = scene_dir / "preview.png"
    with atomic_open(path, "wb") as f:
        f.write(buf.tobytes())
    return path
