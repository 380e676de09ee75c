"""Videos of tracking results: one mp4 per view and a mosaic of all views, in which one person
has one colour in every view (colour = function of the track ID, :mod:`drawing`), plus a few
PNG mosaic frames."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Dict, Sequence

import cv2
import numpy as np
from tqdm import tqdm

from atomic import atomic_path
from drawing import draw_tracks, mosaic
from errors import OutputError
from loader.layout import DatasetLayout


class _Video:
    """An mp4v writer that becomes ``path`` only when closed after a complete run, checked: the
    writer must open, take every frame, and the finished file must hold every frame (OpenCV's
    writer fails silently on a full disk); else an :class:`~errors.OutputError` naming ``path``."""

    def __init__(self, path: Path, fps: float):
        self.path, self.fps, self.writer, self.frames = Path(path), fps, None, 0
        self.tmp = self.path.with_name(f".{self.path.stem}.partial.mp4")

    def write(self, frame: np.ndarray) -> None:
        if self.writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.writer = cv2.VideoWriter(str(self.tmp), cv2.VideoWriter_fourcc(*"mp4v"), self.fps,
                                          (frame.shape[1], frame.shape[0]))
            if not self.writer.isOpened():
                raise OutputError(f"cannot write video {self.path}: OpenCV cannot open an mp4v writer for {self.tmp}")
        if self.writer.write(frame) is False:  # OpenCV 5 says; before, write() returned None
            raise OutputError(f"cannot write video {self.path}: frame {self.frames + 1} was not written "
                              f"(disk full?)")
        self.frames += 1

    def close(self, complete: bool = True) -> None:
        """Finish the file and move it into place (``complete``) or remove it; a second call does nothing."""
        if self.writer is None:
            return
        self.writer.release()
        self.writer = None
        if not complete:
            self.tmp.unlink(missing_ok=True)
            return
        found = video_frames(self.tmp)
        if found != self.frames:
            self.tmp.unlink(missing_ok=True)
            raise OutputError(f"cannot write video {self.path}: the finished file holds {found} of {self.frames} "
                              f"frames (disk full?)")
        os.replace(self.tmp, self.path)


def video_frames(path: Path) -> int:
    """The number of frames a video file holds by its container's index (0 if it cannot be opened)."""
    capture = cv2.VideoCapture(str(path))
    try:
        return int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) if capture.isOpened() else 0
    finally:
        capture.release()


def render_scene(layout: DatasetLayout, scene: str, frames: Sequence[int], rows: Dict[str, np.ndarray],
                 out_dir: Path, fps: float = 10.0, png_frames: int = 4, progress: bool = True) -> list:
    """Write ``<scene>_<view>.mp4`` per view, ``<scene>_mosaic.mp4`` and a few mosaic PNGs."""
    views = layout.views(scene)
    names = [layout.result_name(scene, v)[:-4] for v in views]
    videos = [_Video(out_dir / f"{n}.mp4", fps) for n in names]
    mosaic_video = _Video(out_dir / f"{scene}_mosaic.mp4", fps)
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
