"""What every converter shares: a view as the converters collect it, the one writer of the target
layout, and the small parsers and box rules of the source formats.

A converter reads its source into :class:`View` records (frames -> source image, or one source
video; annotation rows as ``(N, 10)`` MOT arrays) and a :class:`~loader.layout.Manifest`, and
hands them to :func:`write_dataset`, which links the images, writes the annotation files through
:func:`loader.mot.write_mot` and the manifest through :func:`loader.layout.write_manifest`.

Images and videos are linked with **absolute** symbolic links (``os.path.abspath`` of the source
file): the converted folder may move, the source may not. Nothing is copied.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional, Sequence

import numpy as np
from tqdm import tqdm

from loader.frames import ImageFolder, VideoFile, image_files
from loader.layout import (IMAGE_SUFFIXES, MANIFEST_NAME, DatasetError, Manifest, SceneSpec, frame_number,
                           natural_key, write_manifest)
from loader.mot import MOT_COLUMNS, write_mot

log = logging.getLogger(__name__)
NCOL = len(MOT_COLUMNS)


class ConvertError(DatasetError):
    """A source dataset that does not have the layout its converter expects; names file and line."""


@dataclass
class View:
    """One camera of one scene as a converter found it.

    ``scene``: the scene's folder in the output (the manifest's ``dir``); ``view``: the view folder;
    ``images``: frame number -> source image file (empty for a video view); ``video``: the source
    video of a video view; ``gt``/``det``: MOT rows ``(N, 10)`` (``det`` None: no detections).
    """

    scene: str
    view: str
    images: dict = field(default_factory=dict)
    video: Optional[Path] = None
    gt: np.ndarray = field(default_factory=lambda: np.zeros((0, NCOL)))
    det: Optional[np.ndarray] = None


def require_dir(path: Path, what: str) -> Path:
    """``path`` if it is a folder, else an error naming it and saying what was expected there."""
    if not path.is_dir():
        raise ConvertError(f"{what} not found: {path}")
    return path


def mot_rows(rows: Sequence[Sequence[float]]) -> np.ndarray:
    """Rows of 6 to 10 numbers as an ``(N, 10)`` MOT array, missing columns -1."""
    out = np.full((len(rows), NCOL), -1.0)
    for i, r in enumerate(rows):
        out[i, :len(r)] = r[:NCOL]
    return out


def read_numeric_table(path: Path, min_columns: int = 6) -> np.ndarray:
    """A comma- or space-separated file of numbers as an ``(N, 10)`` array (wider rows cut to 10).

    Unlike :func:`loader.mot.read_mot` it accepts ``w, h <= 0`` (sources hold such rows; the
    converters drop them); a short or non-numeric row is an error naming file and line.
    """
    if not path.is_file():
        raise ConvertError(f"annotation file not found: {path}")
    rows = []
    with open(path, "r", encoding="utf-8", errors="replace") as f:
        for lineno, line in enumerate(f, start=1):
            fields = line.replace(",", " ").split()
            if not fields:
                continue
            if len(fields) < min_columns:
                raise ConvertError(f"{path}:{lineno}: expected at least {min_columns} numeric columns "
                                   f"(frame, id, x, y, w, h, ...), got {len(fields)}")
            try:
                values = [float(v) for v in fields[:NCOL]]
            except ValueError:
                raise ConvertError(f"{path}:{lineno}: non-numeric field in {line.strip()!r}; "
                                   f"expected numbers (frame, id, x, y, w, h, ...)") from None
            if not np.all(np.isfinite(values)) or values[0] != int(values[0]) or values[1] != int(values[1]) \
                    or values[0] < 0:
                raise ConvertError(f"{path}:{lineno}: frame and id must be integers (frame >= 0), "
                                   f"got {fields[0]!r}, {fields[1]!r}")
            rows.append(values)
    return mot_rows(rows)


def keep_positive(rows: np.ndarray, source: Path) -> np.ndarray:
    """Rows with ``w > 0`` and ``h > 0`` (the rest are dropped, with a log line naming the file)."""
    ok = (rows[:, 4] > 0) & (rows[:, 5] > 0)
    if not ok.all():
        log.info("%s: dropped %d row(s) with w <= 0 or h <= 0", source, int((~ok).sum()))
    return rows[ok]


def video_info(path: Path) -> tuple:
    """``(width, height, frame count)`` of a video as its container states them."""
    try:
        video = VideoFile(path)
    except (DatasetError, FileNotFoundError) as e:
        raise ConvertError(str(e)) from None
    return (*video.size, video.count)


def fraction_split(frames: Iterable[int], test_fraction: float, where: str) -> dict:
    """``{"train": [first, cut), "test": [cut, last + 1)}``: the last ``test_fraction`` of the
    sorted ``frames`` (at least one) is the test range, the rest the training range."""
    frames = sorted(set(int(f) for f in frames))
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test fraction must be in (0, 1), got {test_fraction}")
    if len(frames) < 2:
        raise ConvertError(f"{where}: needs at least 2 frames to make a train and a test range, has {len(frames)}")
    n_test = min(len(frames) - 1, max(1, round(len(frames) * test_fraction)))
    cut = frames[len(frames) - n_test]
    return {"train": (frames[0], cut), "test": (cut, frames[-1] + 1)}


def prepare_out(out: Path) -> Path:
    """``out`` as an empty folder: an existing, non-empty one is an error (nothing is overwritten)."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConvertError(f"output folder {out} exists and is not empty; give a new or empty folder")
    out.mkdir(parents=True, exist_ok=True)
    return out


def _link(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(os.path.abspath(src), dst)


def write_view(out: Path, v: View) -> None:
    """Write one view below ``out/<scene folder>/<view>``: linked images (``images/<frame><ext>``)
    or the linked video (``video<ext>``), ``gt_det/gt.txt`` and, if any, ``gt_det/det.txt``."""
    vdir = out / v.scene / v.view
    if v.video is not None:
        _link(v.video, vdir / f"video{v.video.suffix.lower()}")
    for frame, src in v.images.items():
        _link(src, vdir / "images" / f"{int(frame)}{src.suffix.lower()}")
    write_mot(vdir / "gt_det" / "gt.txt", v.gt, precision=2)
    if v.det is not None:
        write_mot(vdir / "gt_det" / "det.txt", v.det, precision=2)


def write_dataset(out: Path, views: Sequence[View], manifest: Manifest,
                  extra_manifests: Optional[dict] = None) -> Path:
    """Write ``views`` and ``manifest`` (``<out>/dataset.yaml``) into the empty folder ``out``;
    ``extra_manifests``: more manifest files, file name -> :class:`Manifest`. Returns ``out``."""
    for v in views:  # everything is read and checked before the first file is written
        if not v.images and v.video is None:
            raise ConvertError(f"scene {v.scene!r} view {v.view!r}: no images and no video")
    out = prepare_out(Path(out))
    for v in tqdm(views, desc="converting views", unit="view", disable=None):
        write_view(out, v)
    write_manifest(out / MANIFEST_NAME, manifest)
    for name, extra in (extra_manifests or {}).items():
        write_manifest(out / name, extra)
    n_rows = sum(len(v.gt) for v in views)
    log.info("wrote %d scenes, %d views, %d ground-truth rows to %s", len(manifest.scenes), len(views), n_rows, out)
    return out


def manifest_of(name: str, splits: dict) -> Manifest:
    """A manifest from ``{scene: {split: (start, end)}}`` (scene folder = scene name)."""
    return Manifest(name=name, scenes={s: SceneSpec(name=s, dir=s, splits=dict(sp)) for s, sp in splits.items()})


def list_images(folder: Path, frame_of=frame_number) -> dict:
    """``{frame: image path}`` of the images in ``folder`` (``frame_of(name)`` gives the frame), as
    :class:`loader.frames.ImageFolder` lists them; a missing folder, a folder without images or two
    images of one frame is an error naming it."""
    images_of(folder)
    try:
        return ImageFolder(folder, frame_of).paths
    except DatasetError as e:
        raise ConvertError(str(e)) from None


def images_of(folder: Path) -> list:
    """The image files in ``folder``, sorted; a missing folder or one without images is an error."""
    if not folder.is_dir():
        raise ConvertError(f"image folder not found: {folder}")
    files = image_files(folder)
    if not files:
        raise ConvertError(f"view without images: no {'/'.join(IMAGE_SUFFIXES)} file in {folder}")
    return files


def subfolders(folder: Path) -> list:
    """Names of the (non-hidden) sub-folders of ``folder`` in numeric order."""
    return sorted((p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")), key=natural_key)
