"""Videos of tracking results: one mp4 per view and a mosaic of all views, in which one person
has one colour in every view (colour = function of the track ID, :mod:`drawing`), plus a few
PNG mosaic frames."""
from __future__ import annotations

from pathlib import Path
from typing import Dict, Sequence

import cv2
import numpy as np
from tqdm import tqdm

from atomic import atomic_path
from drawing import draw_tracks, mosaic
from errors import OutputError
from loader.frames import VideoWriter
from loader.layout import DatasetLayout


def render_scene(layout: DatasetLayout, scene: str, frames: Sequence[int], rows: Dict[str, np.ndarray],
                 out_dir: Path, fps: float = 10.0, png_frames: int = 4, progress: bool = True) -> list:
    """Write ``<scene>_<view>.mp4`` per view, ``<scene>_mosaic.mp4`` and a few mosaic PNGs."""
    views = layout.views(scene)
    names = [layout.result_name(scene, v)[:-4] for v in views]
    videos = [VideoWriter(out_dir / f"{n}.mp4", fps) for n in names]
    mosaic_video = VideoWriter(out_dir / f"{scene}_mosaic.mp4", fps)
    snapshots = set(np.linspace(0, len(frames) - 1, num=min(png_frames, len(frames))).round().astype(int).tolist())
    by_frame = {v: {f: rows[v][rows[v][:, 0] == f] for f in np.unique(rows[v][:, 0])} for v in views}
    written, sizes = [], {}  # view -> (width, height) of its first image: every frame must have it
    try:
        for i, frame in enumerate(tqdm(frames, desc=f"render scene {scene}", disable=not progress, unit="frame")):
            tiles = []
            for v, n, video in zip(views, names, videos):
                image = layout.read_frame(scene, v, frame, size=sizes.get(v))
                sizes.setdefault(v, (image.shape[1], image.shape[0]))
                draw_tracks(image, by_frame[v].get(frame, np.zeros((0, 10))), f"view {n.split('_')[-1]}  frame {frame}")
                video.write(image)
                tiles.append(image)
            m = mosaic(tiles)
            mosaic_video.write(m)
            if i in snapshots:
                png = out_dir / f"{scene}_mosaic_{frame}.png"
                with atomic_path(png) as tmp:
                    ok, data = cv2.imencode(".png", m)
                    if not ok:
                        raise OutputError(f"cannot write {png}: PNG encoding failed")
                    tmp.write_bytes(data.tobytes())
                written.append(png)
        for video in videos + [mosaic_video]:
            video.close()
    except BaseException:
        for video in videos + [mosaic_video]:
            video.close(complete=False)
        raise
    return written + [v.path for v in videos] + [mosaic_video.path]
