"""Per-camera videos with VATIC text annotations: ``epfl`` (EPFL multi-camera pedestrians) and
``campus`` (UCLA CAMPUS), the sources of MvMHAT's scenes 7-14.

An annotation file has the stem of its video and one space-separated row per box::

    track_id xmin ymin xmax ymax frame lost occluded generated "label"

corners in pixels, ``frame`` the 0-based index of the decoded video frame, ``lost = 1`` when the
person is outside the view (those rows carry stale corners and are dropped), the label a quoted
string (ignored). Boxes are clipped to the video's frame size and dropped when nothing is left
inside; the result is ``x, y, w, h``. Track ids are shared by the cameras of a sequence and kept.

Output: a video view per camera, ``<scene>/<view>/video<ext>`` (an absolute link to the source
video) and ``gt_det/gt.txt``; frame numbers are the annotation's, i.e. decoded-frame indices from
0 (the videos-as-views reader numbers frames from 0 by default). Ranges: over the frames
``[0, n)`` with ``n`` the smallest frame count the views' containers state, the last
``test_fraction`` (default 0.2, MvMHAT's scene 7 cut: 2000 of 2500) is ``test``, the rest ``train``.

Source layouts:

- ``epfl`` (``--src``: any folder): videos ``<seq>-c<k>.<ext>`` (``k`` from 0) anywhere below it,
  each with ``<seq>-c<k>.txt`` anywhere below it. Scene = ``<seq>`` (``terrace1``), view = ``k + 1``.
- ``campus`` (``--src``: the folder of scene folders): ``<Scene>/view-<CAM><k>.<ext>`` with
  ``<Scene>/view-<CAM><k>.txt`` (``CAM`` = HC, IP, GL, Contour). Scene = ``<Scene>`` (``Garden1``);
  view = ``k``, or ``<CAM><k>`` where a scene has cameras of several kinds (``HC1``, ``IP1``).
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from datasets.convert.common import (ConvertError, View, fraction_split,
                                     manifest_of, mot_rows, require_dir, subfolders, video_info, write_dataset)
from loader.frames import VIDEO_SUFFIXES
from loader.mot import corners_to_tlwh

TEST_FRACTION = 0.2
EPFL_NAME = re.compile(r"(.+)-c(\d+)$")
CAMPUS_NAME = re.compile(r"view-([A-Za-z]+)(\d+)$")
ROW = "track_id xmin ymin xmax ymax frame lost occluded generated \"label\""


def read_vatic(path: Path) -> np.ndarray:
    """``(N, 7)`` rows ``track, x1, y1, x2, y2, frame, lost`` of a VATIC file; errors name file and line."""
    if not path.is_file():
        raise ConvertError(f"annotation file not found: {path} (expected beside its video, same stem, .txt)")
    rows = []
    with open(path, "r", encoding="utf-8", errors="replace") as f:
        for lineno, line in enumerate(f, start=1):
            fields = line.split(maxsplit=9)
            if not fields:
                continue
            try:
                if len(fields) < 9:
                    raise ValueError
                track, frame, lost = int(fields[0]), int(fields[5]), int(fields[6])
                corners = [float(v) for v in fields[1:5]]
                int(fields[7]), int(fields[8])
            except ValueError:
                raise ConvertError(f"{path}:{lineno}: expected a VATIC row {ROW}, got {line.strip()!r}") from None
            if frame < 0 or lost not in (0, 1) or not np.all(np.isfinite(corners)):
                raise ConvertError(f"{path}:{lineno}: frame must be >= 0, lost 0 or 1 and corners finite, "
                                   f"got {line.strip()!r}")
            rows.append([track, *corners, frame, lost])
    return np.asarray(rows, dtype=np.float64).reshape(-1, 7)


def video_view(scene: str, view: str, video: Path, annotation: Path) -> tuple:
    """The :class:`View` of one camera and its video's frame count."""
    width, height, count = video_info(video)
    a = read_vatic(annotation)
    a = a[a[:, 6] == 0]  # lost rows: outside the view
    tlwh, keep = corners_to_tlwh(a[:, 1:5], width, height)
    rows = [[frame, track, *box, 1] for frame, track, box in zip(a[keep, 5], a[keep, 0], tlwh[keep])]
    return View(scene=scene, view=view, video=video, gt=mot_rows(rows)), count


def _finish(name: str, cameras: dict, out: Path, test_fraction: float) -> Path:
    """``cameras``: scene -> [(view, video, annotation)] -> views, ranges, written dataset."""
    views, splits = [], {}
    for scene, entries in sorted(cameras.items()):
        counts = []
        for view, video, annotation in entries:
            v, n = video_view(scene, view, video, annotation)
            views.append(v)
            counts.append(n)
        splits[scene] = fraction_split(range(min(counts)), test_fraction, f"scene {scene!r}")
    return write_dataset(out, views, manifest_of(name, splits))


def _videos(folder: Path, recursive: bool) -> list:
    found = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(p for p in found if p.suffix.lower() in VIDEO_SUFFIXES and p.is_file())


def convert_epfl(src: Path, out: Path, test_fraction: float = TEST_FRACTION) -> Path:
    """Convert EPFL videos with VATIC annotations below ``src`` into ``out``."""
    require_dir(src, "epfl source folder")
    texts: dict = {}
    for p in sorted(src.rglob("*.txt")):
        texts.setdefault(p.stem, []).append(p)
    cameras: dict = {}
    for video in _videos(src, recursive=True):
        m = EPFL_NAME.match(video.stem)
        if m is None:
            continue
        found = texts.get(video.stem, [video.with_suffix(".txt")])
        if len(found) > 1:
            raise ConvertError(f"{video}: two annotation files named {video.stem}.txt: {found[0]} and {found[1]}")
        annotation = found[0]
        cameras.setdefault(m.group(1), []).append((str(int(m.group(2)) + 1), video, annotation))
    if not cameras:
        raise ConvertError(f"{src}: no video named <seq>-c<k>{'/'.join(VIDEO_SUFFIXES)} below it")
    for scene, entries in cameras.items():
        views = [e[0] for e in entries]
        if len(set(views)) != len(views):
            raise ConvertError(f"{src}: sequence {scene!r} has two videos of one camera: "
                               f"{[str(e[1]) for e in entries]}")
    return _finish("EPFL", cameras, out, test_fraction)


def convert_campus(src: Path, out: Path, test_fraction: float = TEST_FRACTION) -> Path:
    """Convert CAMPUS scene folders below ``src`` into ``out``."""
    require_dir(src, "campus source folder")
    cameras: dict = {}
    for scene in subfolders(src):
        found = [(CAMPUS_NAME.match(v.stem), v) for v in _videos(src / scene, recursive=False)]
        found = [(m.group(1), m.group(2), v) for m, v in found if m is not None]
        if not found:
            continue
        kinds = {kind for kind, _, _ in found}
        cameras[scene] = [(str(int(k)) if len(kinds) == 1 else f"{kind}{int(k)}", v, v.with_suffix(".txt"))
                          for kind, k, v in found]
    if not cameras:
        raise ConvertError(f"{src}: no scene folder holding videos view-<CAM><k>{'/'.join(VIDEO_SUFFIXES)}")
    return _finish("CAMPUS", cameras, out, test_fraction)
