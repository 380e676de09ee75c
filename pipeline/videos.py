"""Tracking a set of synchronised videos: one scene, one ID space, one command.

    python inference.py --videos cam1.mp4 cam2.mp4 cam3.mp4 --checkpoint CK --out OUT \
        [--detections DIR] [--render] [--first-frame N]

:func:`prepare_videos` turns the videos into a one-scene dataset in the project layout under
``OUT/data`` (nothing is decoded or copied: each view folder links to its video), with the
detections of every view in ``OUT/data/<scene>/<k>/gt_det/det.txt``; :func:`track_videos` then
runs :func:`pipeline.split.track_split` on it. View ``k`` is the ``k``-th video given (1-based),
so the results are ``OUT/<scene>_<k>.txt``.

Frame numbers: the 0-based index of the decoded frame, plus ``first_frame``. Where the videos
have different lengths, the scene is as long as the shortest (a warning says so). The manifest
``OUT/data/dataset.yaml`` gives the scene's whole length as both its ``train`` and ``test`` range
(the layout requires both; only ``test`` is tracked).

Detections: with ``detections=DIR``, view ``k``'s are read from ``DIR/<stem of video k>.txt``
(MOT rows ``frame, id, x, y, w, h, conf, ...``, frames numbered as above). Otherwise the built-in
person detector (:mod:`pipeline.detect`) runs over every frame and writes ``det.txt`` with a
``det.json`` beside it naming the video, detector, weights and threshold: a rerun with the same
ones reads ``det.txt`` instead of detecting again.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import os
from pathlib import Path
from typing import Optional, Sequence, Union

from atomic import atomic_open
from engine.distributed import resolve_device
from errors import KnownError
from loader.frames import VIDEO_STEM, VIDEO_SUFFIXES, VideoFile
from loader.layout import MANIFEST_NAME, Manifest, SceneSpec, write_manifest
from loader.mot import read_mot, write_mot
from pipeline.detect import DEFAULT_DETECTOR, detect_frames, load_detector
from pipeline.split import track_split

log = logging.getLogger(__name__)


class VideoInputError(KnownError, ValueError):
    """A video or detection file given on the command line that cannot be used; the message names it."""


def _link_video(video: Path, view_dir: Path) -> Path:
    """``view_dir/video.<ext>`` as a symlink to ``video`` (replacing an older link or file)."""
    view_dir.mkdir(parents=True, exist_ok=True)
    for old in view_dir.iterdir():
        if old.stem == VIDEO_STEM and old.suffix.lower() in VIDEO_SUFFIXES:
            old.unlink()
    link = view_dir / f"{VIDEO_STEM}{video.suffix.lower()}"
    os.symlink(video.resolve(), link)
    return link


def _detection_key(video: Path, detector: str, weights: Optional[str], min_score: float,
                   frames: tuple) -> dict:
    stat = video.stat()
    return {"video": str(video.resolve()), "bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns,
            "detector": detector, "weights": None if weights is None else str(Path(weights).resolve()),
            "min_score": float(min_score), "frames": list(frames)}


def prepare_videos(videos: Sequence[Union[str, Path]], root: Union[str, Path], scene: str = "videos",
                   first_frame: int = 0, detections: Union[str, Path, None] = None,
                   detector: str = DEFAULT_DETECTOR, detector_weights: Optional[str] = None,
                   min_score: float = 0.5, batch_size: int = 4, device: str = "cpu",
                   progress: bool = True) -> tuple:
    """Write the one-scene dataset of ``videos`` under ``root`` (see the module docstring);
    returns ``(root, fps of the first video)``. ``first_frame``: the number of every video's first frame."""
    videos = [Path(v) for v in videos]
    if not videos:
        raise VideoInputError("no video given")
    for v in videos:
        if not v.is_file():
            raise FileNotFoundError(f"video not found: {v}")
        if v.suffix.lower() not in VIDEO_SUFFIXES:
            raise VideoInputError(f"{v}: not a video file name (expected one of {', '.join(VIDEO_SUFFIXES)})")
    stems = [v.stem for v in videos]
    if detections is not None and len(set(stems)) != len(stems):
        raise VideoInputError(f"two videos share a name ({', '.join(stems)}): their detection files "
                              f"DIR/<name>.txt would be the same")
    if first_frame < 0:
        raise VideoInputError(f"first frame must be >= 0, got {first_frame}")
    root = Path(root)
    view_dirs = [root / scene / str(k + 1) for k in range(len(videos))]
    sources = [VideoFile(_link_video(v, d), first_frame) for v, d in zip(videos, view_dirs)]
    count = min(s.count for s in sources)
    if any(s.count != count for s in sources):
        log.warning("the videos have different lengths (%s frames); tracking the first %d frames of each",
                    ", ".join(str(s.count) for s in sources), count)
    frames = (first_frame, first_frame + count)
    if detections is not None:
        det_dir = Path(detections)
        if not det_dir.is_dir():
            raise FileNotFoundError(f"detections folder not found: {det_dir}")
        for v, d in zip(videos, view_dirs):
            src = det_dir / f"{v.stem}.txt"
            if not src.is_file():
                raise FileNotFoundError(f"detections of {v} not found: expected {src} (MOT rows, one file per "
                                        f"video, named after the video)")
            write_mot(d / "gt_det" / "det.txt", read_mot(src))
            (d / "gt_det" / "det.json").unlink(missing_ok=True)  # these are not the detector's
    else:
        _detect(videos, view_dirs, sources, frames, detector, detector_weights, min_score, batch_size, device,
                progress)
    for s in sources:
        s.close()
    # views listed: a view folder left by an earlier run with more videos is not one of them
    manifest = Manifest(name="videos", scenes={scene: SceneSpec(
        name=scene, dir=scene, splits={"train": frames, "test": frames}, first_frame=first_frame,
        views=tuple(d.name for d in view_dirs))})
    write_manifest(root / MANIFEST_NAME, manifest)
    return root, sources[0].fps


def _detect(videos, view_dirs, sources, frames, detector, weights, min_score, batch_size, device, progress):
    """Run the built-in detector on every view whose ``det.txt`` is missing or from other inputs."""
    model = None
    for k, (video, view_dir, source) in enumerate(zip(videos, view_dirs, sources)):
        key = _detection_key(video, detector, weights, min_score, frames)
        det, record = view_dir / "gt_det" / "det.txt", view_dir / "gt_det" / "det.json"
        if det.is_file() and record.is_file() and json.loads(record.read_text()) == key:
            log.info("view %d: detections of %s reused from %s", k + 1, video, det)
            continue
        if model is None:
            model = load_detector(detector, weights, device)
        rows = detect_frames(model, source, range(*frames), device, batch_size, min_score, progress,
                             desc=f"detect view {k + 1}")
        record.unlink(missing_ok=True)
        write_mot(det, rows)
        with atomic_open(record, "w") as f:
            json.dump(key, f, indent=1)
        log.info("view %d: %d detections written to %s", k + 1, len(rows), det)


def track_videos(cfg, videos: Sequence[Union[str, Path]], checkpoint: str, out: Union[str, Path],
                 detections: Union[str, Path, None] = None, render: bool = False, scene: str = "videos",
                 first_frame: int = 0, detector: str = DEFAULT_DETECTOR,
                 detector_weights: Optional[str] = None, min_score: float = 0.5, detector_batch: int = 4,
                 reuse_features: bool = False, frames_per_batch: int = 8, export_features: bool = False) -> dict:
    """Track ``videos`` as one scene with the network of ``checkpoint`` into ``out`` (the files of
    :func:`pipeline.split.track_split`, plus the dataset ``out/data``). ``cfg``: a ``Config``;
    its ``data`` section is replaced by the videos' dataset."""
    out = Path(out)
    device = resolve_device(cfg.train.device)
    root, fps = prepare_videos(videos, out / "data", scene, first_frame, detections, detector, detector_weights,
                          min_score, detector_batch, str(device))
    data = dataclasses.replace(cfg.data, root=str(root), manifest=None, ranges="frames")
    cfg = dataclasses.replace(cfg, data=data)
    return track_split(cfg, checkpoint, out, split="test", boxes="det", render=render,
                       reuse_features=reuse_features, frames_per_batch=frames_per_batch,
                       export_features=export_features, render_fps=fps if fps > 0 else 10.0)
