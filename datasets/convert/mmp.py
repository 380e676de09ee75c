"""MMP-MvMHAT (MMPTRACK as MvMHAT++ reads it) and the official MMPTRACK archives: ``mmp``.

Source (``--src``: the ``MMPTracking`` folder; ``validation`` is read as ``test``)::

    <src>/<split>/images/<time>/<scene>/rgb_<frame:05d>_<cam>.jpg      split = train, test or validation
    <src>/<split>/labels/<time>/<scene>/rgb_<frame:05d>_<cam>.json     {"<person id>": [x1, y1, x2, y2], ...}

Every image needs its label file (``{}`` for an empty frame). Boxes are corners in pixels; they
are clipped to the image (size read from the view's first image: the releases disagree on it)
and dropped when nothing is left inside; the result is ``x, y, w, h``. Ids: the JSON keys as
integers, shared by the cameras of a ``(time, scene)``.

Frame numbers: the ``<frame>`` of the file name (from 0), kept; images are linked as
``images/<frame>.jpg``. Scene = ``<time>_<scene>`` (``64pm_cafe_shop_0``); view = the 1-based
camera number of the file name.

Ranges: the source splits by session, not by frame, so every scene's ``train`` and ``test`` both
cover all its frames in ``dataset.yaml``, and two more manifests list the scenes of each source
split: ``train.yaml`` (the source's ``train``) and ``test.yaml`` (``test``/``validation``). Train
with ``--data.manifest=<out>/train.yaml`` and track with ``--data.manifest=<out>/test.yaml``.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from datasets.convert.common import (ConvertError, View, images_of, manifest_of,
                                     mot_rows, require_dir, subfolders, write_dataset)
from loader.frames import image_size
from loader.mot import corners_to_tlwh

SPLITS = {"train": "train", "test": "test", "validation": "test"}  # source folder -> our split
NAME = re.compile(r"rgb_(\d+)_(\d+)$")


def _parse_name(name: str, folder: Path) -> tuple:
    m = NAME.match(Path(name).stem)
    if m is None:
        raise ConvertError(f"{folder / name}: expected an image named rgb_<frame:05d>_<camera>.jpg")
    return int(m.group(1)), int(m.group(2))


def read_label(path: Path) -> list:
    """``[(id, x1, y1, x2, y2), ...]`` of one label file; errors name the file (and line)."""
    if not path.is_file():
        raise ConvertError(f"label file not found: {path} (every image needs one; {{}} for no person)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ConvertError(f"{path}:{e.lineno}: not valid JSON: {e.msg}") from None
    if not isinstance(data, dict):
        raise ConvertError(f"{path}: expected a JSON object {{\"<person id>\": [x1, y1, x2, y2]}}, "
                           f"got {type(data).__name__}")
    boxes = []
    for key, value in data.items():
        try:
            pid = int(key)
            coords = [float(v) for v in value]
        except (TypeError, ValueError):
            coords = None
        if coords is None or len(coords) != 4 or not np.all(np.isfinite(coords)):
            raise ConvertError(f"{path}: person {key!r}: expected an integer id and [x1, y1, x2, y2], got {value!r}")
        boxes.append((pid, *coords))
    return boxes


def read_scene(split_dir: Path, time: str, scene: str) -> list:
    """The views of one ``(time, scene)`` of a source split."""
    image_dir = split_dir / "images" / time / scene
    label_dir = split_dir / "labels" / time / scene
    require_dir(label_dir, "label folder")
    by_cam: dict = {}
    for path in images_of(image_dir):
        frame, cam = _parse_name(path.name, image_dir)
        by_cam.setdefault(cam, {})[frame] = path
    views = []
    for cam in sorted(by_cam):
        images = by_cam[cam]
        width, height = image_size(images[min(images)])
        rows = []
        for frame in sorted(images):
            boxes = read_label(label_dir / f"{images[frame].stem}.json")
            if not boxes:
                continue
            b = np.asarray(boxes, dtype=np.float64)
            tlwh, keep = corners_to_tlwh(b[:, 1:5], width, height)
            rows += [[frame, pid, *box, 1] for pid, box in zip(b[keep, 0], tlwh[keep])]
        views.append(View(scene=f"{time}_{scene}", view=str(cam), images=images, gt=mot_rows(rows)))
    return views


def convert(src: Path, out: Path) -> Path:
    """Convert the MMP-MvMHAT / MMPTRACK folder ``src`` into ``out``."""
    require_dir(src, "mmp source folder")
    present = [s for s in SPLITS if (src / s).is_dir()]
    if not present:
        raise ConvertError(f"{src}: no split folder; expected {' or '.join(SPLITS)} holding images/ and labels/")
    views, by_split = [], {"train": {}, "test": {}}
    for split in present:
        image_root = require_dir(src / split / "images", "image folder")
        for time in subfolders(image_root):
            for scene in subfolders(image_root / time):
                scene_views = read_scene(src / split, time, scene)
                frames = set().union(*(v.images for v in scene_views))
                name = scene_views[0].scene
                if any(name in s for s in by_split.values()):
                    raise ConvertError(f"{src / split / 'images' / time / scene}: scene {name!r} is in two source splits")
                by_split[SPLITS[split]][name] = {"train": (min(frames), max(frames) + 1),
                                                 "test": (min(frames), max(frames) + 1)}
                views += scene_views
    if not views:
        raise ConvertError(f"{src}: no scene folders under {', '.join(s + '/images/<time>' for s in present)}")
    everything = {**by_split["train"], **by_split["test"]}
    extra = {f"{s}.yaml": manifest_of(f"MMP {s}", scenes) for s, scenes in by_split.items() if scenes}
    return write_dataset(out, views, manifest_of("MMP", everything), extra)
