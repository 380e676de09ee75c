"""Generating a synthetic dataset: scenes rendered view by view (in parallel), calibration,
previews, settings and manifest; and the command line of ``python -m datasets.synthetic``.

:func:`generate_dataset` writes the layout described in :mod:`datasets.synthetic`;
:func:`ensure_dataset` generates only when the folder holds no dataset made with the same settings.
On one machine the same arguments give byte-identical files, whatever ``--workers``; across CPU
kinds the written (rounded) numbers may differ in their last digit (README, "Synthetic scenes").
"""
from __future__ import annotations

import argparse
import inspect
import json
import multiprocessing
import shutil
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Union

import cv2
from tqdm import tqdm

from atomic import atomic_open
from datasets.synthetic.camera import write_calibration
from datasets.synthetic.detector import DetectorNoise
from datasets.synthetic.preview import write_preview
from datasets.synthetic.scene import make_scene, write_view
from loader.layout import MANIFEST_NAME, Manifest, SceneSpec, load_manifest, write_manifest

MANIFEST_TITLE = "synthetic"  # the manifest's name; marks a folder this generator may overwrite
INCOMPLETE = ".synthetic-incomplete"  # marks a folder while it is being generated
SETTINGS_NAME = "synthetic.json"  # the generator's settings, next to the manifest
DESCRIPTION = "Synthetic multi-view, multi-person scenes in the released MvMHAT layout: the built-in dataset."


def _render_task(job: dict) -> dict:
    """Worker entry: build scene ``job['index']`` and write one of its views."""
    cv2.setNumThreads(1)
    scene = make_scene(job["seed"], job["index"], **job["scene_args"])
    return write_view(scene, job["view"], job["out"], job["seed"], job["index"], **job["view_args"])


def _clear_output(out: Path, overwrite: bool) -> None:
    """Make sure no stale scene, view or frame of an earlier run stays in ``out``."""
    if not out.exists() or not any(out.iterdir()):
        return
    if not overwrite:
        raise FileExistsError(f"{out} is not empty; pass overwrite=True (--overwrite) to replace "
                              "a synthetic dataset there")
    manifest = out / MANIFEST_NAME
    ours = (out / INCOMPLETE).is_file() or (manifest.is_file() and load_manifest(manifest).name == MANIFEST_TITLE)
    if not ours:
        raise FileExistsError(f"{out} is not empty and holds no synthetic dataset; not deleting it")
    shutil.rmtree(out)


def ensure_dataset(out: Union[str, Path], **settings) -> bool:
    """Generate the dataset into ``out`` unless it already holds one made with these settings
    (``generate_dataset``'s keyword arguments; ``workers``/``progress`` do not matter). A synthetic
    dataset made with other settings is replaced, with a message. Returns whether it generated."""
    out = Path(out)
    if (out / MANIFEST_NAME).is_file():
        made = out / SETTINGS_NAME
        wanted = json.loads(json.dumps(dict(_SETTING_DEFAULTS, **{k: v for k, v in settings.items()
                                                                   if k in _SETTING_DEFAULTS})))
        if not wanted["video"]:
            del wanted["video"]  # settings files of image datasets do not name it
        if made.is_file() and json.loads(made.read_text()) == wanted:
            return False
        print(f"{out} holds a dataset made with other settings; generating it again with {wanted}")
        settings = dict(settings, overwrite=True)
    elif (out / INCOMPLETE).is_file():
        print(f"{out} holds an interrupted generation; generating it again")
        settings = dict(settings, overwrite=True)
    generate_dataset(out, **settings)
    return True


def generate_dataset(out: Union[str, Path], scenes: int = 4, views: int = 4, frames: int = 300,
                     people: tuple = (6, 10), size: tuple = (640, 360), seed: int = 0,
                     det_noise: float = 1.0, train_fraction: float = 0.7, min_visibility: float = 0.15,
                     fps: float = 10.0, jpeg_quality: int = 90, workers: int = 1,
                     overwrite: bool = False, progress: bool = True, camera_motion: float = 0.0,
                     video: bool = False) -> dict:
    """Generate the dataset into ``out`` and return a summary (counts, seconds).

    ``people`` is the inclusive range of people per scene, ``size`` the image ``(width, height)``,
    ``det_noise`` the simulated detector's noise level (0 = GT boxes), ``train_fraction`` the share
    of each scene's first frames in the train split, ``min_visibility`` the GT visibility threshold,
    ``camera_motion`` the hand-held camera motion level (0 = static cameras, 1 = hand-held;
    ``calibration.json`` then holds every frame's extrinsics), ``video``: each view as one
    ``video.mp4`` (mp4v, lossy) instead of ``images/`` (frame ``t`` = decoded frame ``t``).
    ``out`` must be empty or missing; with ``overwrite`` an earlier synthetic dataset there is deleted.
    """
    if scenes < 1 or views < 1 or frames < 2:
        raise ValueError(f"need scenes >= 1, views >= 1, frames >= 2; got {scenes}, {views}, {frames}")
    if not 1 <= people[0] <= people[1]:
        raise ValueError(f"people must be a range 1 <= min <= max, got {people}")
    if not 0 < train_fraction < 1:
        raise ValueError(f"train_fraction must be in (0, 1), got {train_fraction}")
    if not camera_motion >= 0:
        raise ValueError(f"camera_motion must be >= 0, got {camera_motion}")
    cv2.setNumThreads(1)
    out, start = Path(out), time.perf_counter()
    _clear_output(out, overwrite)
    out.mkdir(parents=True, exist_ok=True)
    (out / INCOMPLETE).touch()
    scene_args = dict(n_views=views, n_frames=frames, people=tuple(people), size=tuple(size), fps=fps)
    motion_info = {}
    if camera_motion > 0:  # static cameras: exactly the arguments and files of before
        scene_args["camera_motion"] = float(camera_motion)
        motion_info["camera_motion"] = float(camera_motion)
    view_args = dict(min_visibility=min_visibility, det_noise=DetectorNoise(level=det_noise),
                     jpeg_quality=jpeg_quality)
    if video:  # image views: exactly the arguments and files of before
        view_args.update(video=True, fps=fps)
    names = [str(s + 1) for s in range(scenes)]
    view_names = [str(v + 1) for v in range(views)]
    bar = tqdm(total=scenes * views * frames, unit="frame", desc="synthetic", disable=not progress)
    results = {}
    if workers <= 1:
        for s in range(scenes):
            scene = make_scene(seed, s, **scene_args)
            for v in range(views):
                results[(s, v)] = write_view(scene, v, out / names[s] / view_names[v], seed, s,
                                             on_frame=lambda: bar.update(1), **view_args)
    else:
        jobs = [dict(seed=seed, index=s, view=v, out=out / names[s] / view_names[v], scene_args=scene_args,
                     view_args=view_args) for s in range(scenes) for v in range(views)]
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            futures = {pool.submit(_render_task, job): (job["index"], job["view"]) for job in jobs}
            for fut in as_completed(futures):
                results[futures[fut]] = fut.result()
                bar.update(frames)
    bar.close()

    n_train = min(max(int(round(frames * train_fraction)), 1), frames - 1)
    specs = {}
    for s, name in enumerate(names):
        scene = make_scene(seed, s, **scene_args)
        write_calibration(out / name / "calibration.json", dict(zip(view_names, scene.cameras)),
                          scene=name, seed=seed, fps=fps, frames=frames,
                          people=len(scene.world.people), walk_radius_m=scene.world.radius, **motion_info)
        write_preview(out / name, view_names, frames // 2)
        specs[name] = SceneSpec(name=name, dir=name, splits={"train": (0, n_train), "test": (n_train, frames)})
    settings = dict(scenes=scenes, views=views, frames=frames, people=list(people), size=list(size), seed=seed,
                    det_noise=det_noise, train_fraction=train_fraction, min_visibility=min_visibility, fps=fps,
                    jpeg_quality=jpeg_quality, camera_motion=camera_motion)
    if video:
        settings["video"] = True
    with atomic_open(out / SETTINGS_NAME, "w") as f:
        json.dump(settings, f, indent=1)
    write_manifest(out / MANIFEST_NAME, Manifest(name=MANIFEST_TITLE, scenes=specs))  # written last
    (out / INCOMPLETE).unlink()
    return {"root": str(out), "scenes": scenes, "views": views, "frames": frames,
            "rendered_frames": scenes * views * frames,
            "gt_boxes": sum(r["gt"] for r in results.values()),
            "det_boxes": sum(r["det"] for r in results.values()),
            "seconds": time.perf_counter() - start}


def parse_pair(text: str, sep: str) -> tuple:
    parts = text.lower().split(sep)
    if len(parts) == 1:
        parts = parts * 2
    if len(parts) != 2:
        raise argparse.ArgumentTypeError(f"expected A{sep}B, got {text!r}")
    return int(parts[0]), int(parts[1])


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m datasets.synthetic", description=DESCRIPTION)
    p.add_argument("--out", required=True, help="output dataset root")
    p.add_argument("--scenes", type=int, default=4, help="number of scenes")
    p.add_argument("--views", type=int, default=4, help="cameras per scene")
    p.add_argument("--frames", type=int, default=300, help="frames per scene (10 fps)")
    p.add_argument("--people", type=lambda s: parse_pair(s, "-"), default=(6, 10), help="people per scene, MIN-MAX")
    p.add_argument("--size", type=lambda s: parse_pair(s, "x"), default=(640, 360), help="image size WxH")
    p.add_argument("--seed", type=int, default=0, help="master seed (same seed: byte-identical output on one machine)")
    p.add_argument("--det-noise", type=float, default=1.0, help="detector noise level (0: GT boxes)")
    p.add_argument("--train-fraction", type=float, default=0.7, help="share of frames in the train split")
    p.add_argument("--min-visibility", type=float, default=0.15, help="GT leaves out people less visible")
    p.add_argument("--camera-motion", type=float, default=0.0, metavar="LEVEL",
                   help="hand-held camera motion (0: static cameras, 1: hand-held; scales amplitudes)")
    p.add_argument("--video", action="store_true", help="write each view as video.mp4 instead of images/")
    p.add_argument("--workers", type=int, default=1, help="processes (output does not depend on it)")
    p.add_argument("--overwrite", action="store_true", help="replace an earlier synthetic dataset in --out")
    return p.parse_args(argv)


_SETTING_DEFAULTS = {k: (list(p.default) if isinstance(p.default, tuple) else p.default)
                     for k, p in inspect.signature(generate_dataset).parameters.items()
                     if k not in ("out", "workers", "overwrite", "progress")}


def main(args: argparse.Namespace) -> None:
    summary = generate_dataset(args.out, scenes=args.scenes, views=args.views, frames=args.frames,
                               people=args.people, size=args.size, seed=args.seed,
                               det_noise=args.det_noise, train_fraction=args.train_fraction,
                               min_visibility=args.min_visibility, workers=args.workers,
                               overwrite=args.overwrite, camera_motion=args.camera_motion, video=args.video)
    print(json.dumps(summary))

