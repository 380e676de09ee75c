"""One synthetic scene: its world, cameras and style, and writing one view of it to disk.

Randomness is derived from ``(seed, scene index[, view index], stream)`` through
``numpy.random.SeedSequence``, so a scene, and every view of it, comes out the same whichever
process renders it and in whatever order: the same seed gives byte-identical files. Cameras and
scenery do not depend on the number of frames. With ``camera_motion > 0`` every camera moves about
its rest pose (``motion``), each from its own generator; at 0 nothing else changes.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Optional, Sequence, Union

import cv2
import numpy as np

from atomic import atomic_path
from datasets.synthetic.background import SceneStyle, render_background, sample_style
from datasets.synthetic.camera import Camera, place_cameras
from datasets.synthetic.detector import DetectorNoise, simulate_detections
from datasets.synthetic.figure import Figures, build_figures, pose
from datasets.synthetic.motion import camera_path
from datasets.synthetic.moving_background import MovingBackground
from datasets.synthetic.render import ViewRenderer
from datasets.synthetic.world import World, make_world
from loader.frames import VideoWriter
from loader.mot import write_mot

# Independent random streams: per scene (world, cameras, style) and per view (render, detector, motion).
# Non-zero ids: SeedSequence pads keys with zeros, so a trailing 0 would alias a shorter key.
STREAMS = {"world": 1, "cameras": 2, "style": 3, "render": 4, "detector": 5, "motion": 6}


def generator(seed: int, *keys: int) -> np.random.Generator:
    """The random generator of one (scene, view, stream) key path under the master ``seed``."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), *(int(k) for k in keys)]))


@dataclass
class Scene:
    """Everything needed to render any view of one scene."""

    world: World
    cameras: Sequence[Camera]
    style: SceneStyle
    figures: Figures


def make_scene(seed: int, index: int, n_views: int, n_frames: int, people: tuple,
               size: tuple, fps: float = 10.0, radius: float = 8.0, camera_motion: float = 0.0) -> Scene:
    """Scene number ``index`` (0-based) of the dataset with master ``seed``.

    ``people`` is the inclusive range ``(min, max)`` of the number of people; ``size`` the image
    ``(width, height)`` in pixels; ``radius`` the walking disc's radius in metres;
    ``camera_motion`` the hand-held camera motion level (0 = static cameras).
    """
    rng = generator(seed, index, STREAMS["world"])
    n_people = int(rng.integers(people[0], people[1] + 1))
    world = make_world(rng, n_people, n_frames, fps=fps, radius=radius)
    cameras = place_cameras(generator(seed, index, STREAMS["cameras"]), n_views, size, radius)
    if camera_motion > 0:
        paths = [camera_path(generator(seed, index, v + 1, STREAMS["motion"]), cam, n_frames, fps, camera_motion)
                 for v, cam in enumerate(cameras)]
        cameras = [dataclasses.replace(cam, path_R=R, path_t=t) for cam, (R, t) in zip(cameras, paths)]
    style = sample_style(generator(seed, index, STREAMS["style"]))
    return Scene(world=world, cameras=cameras, style=style, figures=build_figures(world.people))


def render_view_frames(scene: Scene, view: int, seed: int, index: int) -> Iterator:
    """Yield a :class:`~datasets.synthetic.render.FrameResult` per frame of view ``view`` (0-based)."""
    cam = scene.cameras[view]
    moving = MovingBackground(cam, scene.style) if cam.moving else None
    renderer = ViewRenderer(cam.at(0), None if cam.moving else render_background(cam, scene.style),
                            scene.figures, scene.world.props, scene.style.light, scene.style.brightness,
                            generator(seed, index, view + 1, STREAMS["render"]))
    w = scene.world
    for t in range(w.num_frames):
        corners, head = pose(scene.figures, w.xy[t], w.heading[t], w.phase[t], w.speed[t])
        if moving is None:
            yield renderer.render(corners, head, w.heading[t], w.present[t])
        else:
            yield renderer.render(corners, head, w.heading[t], w.present[t], camera=cam.at(t),
                                  background=moving.frame(t))


def round_tlwh(box: np.ndarray, decimals: int = 2) -> np.ndarray:
    """Round a tlwh box's corners (not its size), so the written box stays inside the image."""
    corners = np.round(np.concatenate([box[:, :2], box[:, :2] + box[:, 2:]], axis=1), decimals)
    return np.concatenate([corners[:, :2], corners[:, 2:] - corners[:, :2]], axis=1)


def write_view(scene: Scene, view: int, out: Union[str, Path], seed: int, index: int,
               min_visibility: float = 0.15, det_noise: Optional[DetectorNoise] = None,
               jpeg_quality: int = 90, on_frame: Optional[Callable[[], None]] = None,
               video: bool = False, fps: float = 10.0) -> dict:
    """Render view ``view`` (0-based) into ``out`` (the view folder) and return counts.

    Writes ``images/<frame>.jpg`` (with ``video``: one ``video.mp4`` instead, mp4v at ``fps``,
    frame ``t`` = the ``t``-th frame), ``gt_det/gt.txt`` (``frame, id, x, y, w, h, 1, 1, visibility,
    -1`` for people at least ``min_visibility`` visible) and ``gt_det/det.txt``.
    """
    out = Path(out)
    (out if video else out / "images").mkdir(parents=True, exist_ok=True)
    writer = VideoWriter(out / "video.mp4", fps) if video else None
    det_noise = DetectorNoise() if det_noise is None else det_noise
    det_rng = generator(seed, index, view + 1, STREAMS["detector"])
    size = scene.cameras[view].size
    gt, det = [], []
    for t, res in enumerate(render_view_frames(scene, view, seed, index)):
        if writer is not None:
            writer.write(res.image)
        else:
            ok, buf = cv2.imencode(".jpg", res.image, [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)])
            if not ok:
                raise RuntimeError(f"JPEG encoding failed for frame {t} of {out}")
            with atomic_path(out / "images" / f"{t}.jpg") as tmp:  # rename, no fsync: a frame is cheap
                tmp.write_bytes(buf.tobytes())
        vis, box = np.round(res.visibility, 3), round_tlwh(res.box)
        keep = (vis >= min_visibility) & (box[:, 2] > 0) & (box[:, 3] > 0)
        rows = np.full((int(keep.sum()), 10), -1.0)
        rows[:, 0], rows[:, 1] = t, res.person[keep] + 1
        rows[:, 2:6] = box[keep]
        rows[:, 6], rows[:, 7], rows[:, 8] = 1, 1, vis[keep]
        gt.append(rows)
        det.append(simulate_detections(det_rng, t, res.box, vis, size, min_visibility, det_noise))
        if on_frame is not None:
            on_frame()
    if writer is not None:
        writer.close()
    gt_rows, det_rows = np.concatenate(gt), np.concatenate(det)
    write_mot(out / "gt_det" / "gt.txt", gt_rows)
    write_mot(out / "gt_det" / "det.txt", det_rows)
    return {"frames": scene.world.num_frames, "gt": len(gt_rows), "det": len(det_rows)}
