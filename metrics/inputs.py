"""Which files and frame ranges an evaluation reads, and reading them.

Two ways to name the ground truth:

* a folder of ``<scene>_<view>.txt`` files plus a scenes CSV (``scene,start_frame,end_frame,
  num_views``, inclusive range; views ``1..num_views``), as ``../shared/data/mvmhat_eval``;
* a dataset root in the MvMHAT layout with a manifest (``loader.layout``): the test range of each
  scene (half-open there, converted to inclusive here) and ``<root>/<scene>/<view>/gt_det/gt.txt``.

Results are always ``<res>/<scene>_<i>.txt``, i the 1-based position of the view in numeric order.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence, Union

import numpy as np

from errors import KnownError, UnknownNameError
from loader.mot import read_mot

PathLike = Union[str, Path]
CSV_COLUMNS = ("scene", "start_frame", "end_frame", "num_views")


class MissingFilesError(KnownError, FileNotFoundError):
    """Some input files do not exist; ``paths`` lists every one of them."""

    def __init__(self, what: str, paths: Sequence[Path]):
        self.paths = list(paths)
        listing = "\n".join(f"  {p}" for p in self.paths)
        super().__init__(f"{len(self.paths)} {what} file(s) missing:\n{listing}")


class ScenesFileError(KnownError, ValueError):
    """A malformed scenes CSV; the message names the file and line."""


@dataclass
class ViewFiles:
    key: str  # "<scene>_<i>", as in the file names
    gt_path: Path
    res_path: Path


@dataclass
class SceneFiles:
    name: str
    start: int  # first frame of the evaluated range
    end: int  # last frame, inclusive
    views: list = field(default_factory=list)  # ViewFiles in view order


@dataclass
class ViewData:
    key: str
    gt: np.ndarray  # (N, >=6) MOT rows as read
    res: np.ndarray  # (M, >=6)


@dataclass
class SceneData:
    name: str
    start: int
    end: int
    views: list  # ViewData in view order


def read_scenes_csv(path: PathLike) -> list[tuple[str, int, int, int]]:
    """``(scene, start, end, num_views)`` rows of a scenes CSV (inclusive frame range)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"scenes file not found: {path}")
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ScenesFileError(f"{path}:1: header needs columns {list(CSV_COLUMNS)}, missing {missing}")
        out = []
        for row in reader:
            line = reader.line_num
            try:
                scene, start, end, n = (row["scene"].strip(), int(row["start_frame"]), int(row["end_frame"]),
                                        int(row["num_views"]))
            except (TypeError, ValueError, AttributeError):
                raise ScenesFileError(f"{path}:{line}: expected scene,start,end,num_views with integers, "
                                      f"got {row}") from None
            if not scene or n < 1 or end < start:
                raise ScenesFileError(f"{path}:{line}: need a scene name, num_views >= 1 and start <= end")
            out.append((scene, start, end, n))
    return out


def scenes_from_csv(gt_dir: PathLike, res_dir: PathLike, scenes_csv: PathLike) -> list[SceneFiles]:
    """Scenes of a GT folder of ``<scene>_<view>.txt`` files described by a scenes CSV."""
    gt_dir, res_dir = Path(gt_dir), Path(res_dir)
    specs = []
    for scene, start, end, n in read_scenes_csv(scenes_csv):
        views = [ViewFiles(f"{scene}_{i}", gt_dir / f"{scene}_{i}.txt", res_dir / f"{scene}_{i}.txt")
                 for i in range(1, n + 1)]
        specs.append(SceneFiles(scene, start, end, views))
    return specs


def scenes_from_layout(root: PathLike, res_dir: PathLike, manifest: Optional[PathLike] = None,
                       ranges: str = "frames") -> list[SceneFiles]:
    """Scenes of a dataset root (``loader.layout``): each scene's test range and views.

    ``ranges``: what the manifest's ranges count, ``frames`` or ``positions`` (as in tracking)."""
    from loader.layout import DatasetLayout  # the dataset layout is only needed in this mode

    layout = DatasetLayout(root, manifest, ranges)
    res_dir = Path(res_dir)
    specs = []
    for scene in layout.scenes:
        start, stop = layout.split_range(scene, "test")  # half-open
        views = []
        for view in layout.views(scene):
            name = layout.result_name(scene, view)
            views.append(ViewFiles(Path(name).stem, layout.annotation_path(scene, view, "gt"), res_dir / name))
        specs.append(SceneFiles(scene, start, stop - 1, views))
    return specs


def select_scenes(specs: list[SceneFiles], names: Optional[Sequence[str]]) -> list[SceneFiles]:
    """The scenes named in ``names`` (all when None); an unknown name is an error listing the valid ones."""
    if not names:
        return specs
    known = {s.name: s for s in specs}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise UnknownNameError(f"unknown scene(s) {unknown}; scenes: {list(known)}")
    return [known[n] for n in names]


def load_scenes(specs: Sequence[SceneFiles], missing_as_empty: bool = False) -> tuple[list[SceneData], list[str]]:
    """Read every GT and result file. Returns the data and notes for the report.

    Missing GT files are always an error; missing result files are an error listing all of them
    (:class:`MissingFilesError`) unless ``missing_as_empty``, which scores them as empty results.
    Malformed rows raise ``loader.mot.MotFormatError`` naming the file and line. Result rows
    outside the scored frames get a note per file (:func:`range_notes`).
    """
    views = [v for s in specs for v in s.views]
    missing_gt = [v.gt_path for v in views if not v.gt_path.is_file()]
    if missing_gt:
        raise MissingFilesError("ground-truth", missing_gt)
    missing_res = [v.res_path for v in views if not v.res_path.is_file()]
    if missing_res and not missing_as_empty:
        raise MissingFilesError("result", missing_res)
    notes = [f"missing result scored as empty: {p}" for p in missing_res]
    empty = np.zeros((0, 10))
    data = []
    for s in specs:
        loaded = [ViewData(v.key, read_mot(v.gt_path), read_mot(v.res_path) if v.res_path.is_file() else empty)
                  for v in s.views]
        for v, d in zip(s.views, loaded):
            notes += range_notes(v.res_path, d.res, s.start, s.end)
        data.append(SceneData(s.name, s.start, s.end, loaded))
    return data, notes


WARNING = "WARNING: "  # the start of a note that most of a file is not scored


def range_notes(path: Path, res: np.ndarray, start: int, end: int) -> list[str]:
    """A note when result rows of ``path`` lie outside the scored frames ``max(1, start)..end``:
    the official rules drop them without a word. When most rows do, the note starts with
    :data:`WARNING` (a shifted frame numbering scores 0 and looks like a bad tracker)."""
    if len(res) == 0:
        return []
    frames = res[:, 0]
    outside = int(((frames < max(1, start)) | (frames > end)).sum())
    if outside == 0:
        return []
    text = (f"{path}: {outside} of {len(res)} result rows lie outside the scene's scored frames "
            f"{max(1, start)}-{end} and are not scored (official rule)")
    if 2 * outside > len(res):
        return [f"{WARNING}{text}; the rows span frames {int(frames.min())}-{int(frames.max())}: "
                f"is the frame numbering shifted?"]
    return [text]
