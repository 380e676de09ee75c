"""The released MvMHAT dataset layout and its manifest.

On disk::

    <root>/dataset.yaml                      manifest: scenes and their frame ranges
    <root>/<scene>/<view>/images/<n>.jpg     frame number = the integer in the file name
    <root>/<scene>/<view>/video.mp4          or: the view as one video (mp4, avi, mov, ...; see below)
    <root>/<scene>/<view>/gt_det/gt.txt      training boxes (MOT text, ids global per scene)
    <root>/<scene>/<view>/gt_det/det.txt     test boxes (detector output, ids -1)

The manifest (YAML) names each scene's splits as HALF-OPEN frame ranges ``[start, end)``, as the
released loader slices them (``frames[start:end]``)::

    name: MvMHAT
    scenes:
      "1": {train: [0, 800], test: [800, 1200]}
      "12": {dir: "11", train: [500, 1500], test: [1500, 2000]}   # folder name differs from name
      "7": {train: [0, 2000], test: [2000, 2500], views: ["1", "2", "3"]}

A scene may give ``dir`` (its folder, default: its name), ``views`` (the view folders to use, in
order; default: every folder in the scene, ordered numerically) and ``first_frame`` (the frame
number of the first frame of its video views, default 0; image views take their numbers from the
file names). Any other key is a named split (``val: [700, 800]`` adds a ``val`` split).

A view folder holds ``images/`` or one ``video.<ext>`` (:mod:`loader.frames`): the ``i``-th
decoded frame (0-based) of a video is frame ``first_frame + i``; frames are decoded in order,
never extracted to disk. Views are always ordered numerically ("2" before "10"),
never in ``os.listdir`` order; result files use the 1-based position of a view in that order.

What a range counts (``ranges=``, config ``data.ranges``): ``frames``, frame numbers (the frame
of an image is the integer in its name); or ``positions``, positions in the scene's sorted list of
images, as the released loader slices it (``sorted_images[start:end]``). They differ where frame
numbers do not start at 0: MvMHAT's self-collected scenes 1-6 number their frames from 1, so
positions ``[0, 800)`` are frames 1-800 and frame numbers ``[0, 800)`` are frames 1-799. A
position range is turned into the frame-number range of the images it selects (a range that runs
past the last image stops there, as a Python slice does).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Union

import numpy as np
import yaml

from atomic import atomic_open
from errors import KnownError, UnknownNameError
from loader.mot import read_mot

MANIFEST_NAME = "dataset.yaml"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
RANGE_UNITS = ("frames", "positions")  # what a manifest range counts (see the module docstring)
ANNOTATION_FILES = {"gt": "gt.txt", "det": "det.txt"}
_FRAME_NAME = re.compile(r"\D*?(\d+)")


class DatasetError(KnownError, ValueError):
    """The dataset on disk or its manifest does not follow the layout; the message says where."""


def natural_key(name: str) -> tuple:
    """Sort key that orders the numbers inside a name by value: ``View2`` < ``View10``."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name))


@dataclass(frozen=True)
class SceneSpec:
    """One scene of a manifest: folder name, named half-open frame ranges, optional view list."""

    name: str
    dir: str
    splits: dict  # split name -> (start, end), half-open
    views: Optional[tuple] = None
    first_frame: int = 0  # frame number of the first decoded frame of the scene's video views


@dataclass(frozen=True)
class Manifest:
    name: str
    scenes: dict = field(default_factory=dict)  # scene name -> SceneSpec, in file order
    source: str = "<memory>"

    def to_dict(self) -> dict:
        scenes = {}
        for s in self.scenes.values():
            entry = {} if s.dir == s.name else {"dir": s.dir}
            entry.update({k: [int(a), int(b)] for k, (a, b) in s.splits.items()})
            if s.views is not None:
                entry["views"] = list(s.views)
            if s.first_frame:
                entry["first_frame"] = int(s.first_frame)
            scenes[s.name] = entry
        return {"name": self.name, "scenes": scenes}


def _parse_range(value, where: str) -> tuple:
    if (not isinstance(value, (list, tuple)) or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)):
        raise DatasetError(f"{where}: a frame range must be [start, end] with two integers, got {value!r}")
    start, end = value
    if not 0 <= start < end:
        raise DatasetError(f"{where}: frame range needs 0 <= start < end, got [{start}, {end}]")
    return int(start), int(end)


def parse_manifest(data: dict, source: str = "<memory>") -> Manifest:
    """Validate a manifest dictionary (as loaded from YAML); errors name ``source`` and the key."""
    if not isinstance(data, dict) or not isinstance(data.get("scenes"), dict) or not data["scenes"]:
        raise DatasetError(f"{source}: a manifest needs a non-empty 'scenes' mapping")
    unknown = set(data) - {"name", "scenes"}
    if unknown:
        raise DatasetError(f"{source}: unknown top-level key(s) {sorted(unknown)}; expected 'name', 'scenes'")
    scenes = {}
    for raw_name, entry in data["scenes"].items():
        name = str(raw_name)
        where = f"{source}: scene {name!r}"
        if not isinstance(entry, dict):
            raise DatasetError(f"{where}: expected a mapping of splits, got {entry!r}")
        entry = dict(entry)
        folder = str(entry.pop("dir", name))
        views = entry.pop("views", None)
        if views is not None:
            if not isinstance(views, list) or not views:
                raise DatasetError(f"{where}: 'views' must be a non-empty list of folder names")
            views = tuple(str(v) for v in views)
        first_frame = entry.pop("first_frame", 0)
        if not isinstance(first_frame, int) or isinstance(first_frame, bool) or first_frame < 0:
            raise DatasetError(f"{where}: 'first_frame' must be an integer >= 0, got {first_frame!r}")
        splits = {str(k): _parse_range(v, f"{where} split {k!r}") for k, v in entry.items()}
        for required in ("train", "test"):
            if required not in splits:
                raise DatasetError(f"{where}: missing the {required!r} frame range")
        scenes[name] = SceneSpec(name=name, dir=folder, splits=splits, views=views, first_frame=first_frame)
    return Manifest(name=str(data.get("name", "dataset")), scenes=scenes, source=source)


def load_manifest(path: Union[str, Path]) -> Manifest:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"dataset manifest not found: {path}")
    with open(path, "r", encoding="utf-8") as f:
        try:
            data = yaml.safe_load(f)
        except yaml.YAMLError as e:
            raise DatasetError(f"{path}: not valid YAML: {e}") from None
    return parse_manifest(data, source=str(path))


def write_manifest(path: Union[str, Path], manifest: Manifest) -> None:
    with atomic_open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump(manifest.to_dict(), f, sort_keys=False, default_flow_style=None)


def holdout_split(manifest: Manifest, split: str, fraction: float,
                  names: tuple = ("fit", "val")) -> Manifest:
    """A manifest with ``split`` of every scene cut in two: the first ``1 - fraction`` of its frame
    range becomes ``names[0]``, the rest ``names[1]`` (held-out frames for validation)."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"hold-out fraction must be in (0, 1), got {fraction}")
    scenes = {}
    for name, spec in manifest.scenes.items():
        start, end = spec.splits[split]
        cut = end - max(1, round((end - start) * fraction))
        if cut <= start:
            raise DatasetError(f"scene {name!r}: split {split!r} [{start}, {end}) is too short to hold out {fraction}")
        splits = dict(spec.splits)
        splits[names[0]], splits[names[1]] = (start, cut), (cut, end)
        scenes[name] = SceneSpec(name=spec.name, dir=spec.dir, splits=splits, views=spec.views,
                                 first_frame=spec.first_frame)
    return Manifest(name=manifest.name, scenes=scenes, source=f"{manifest.source} (hold-out {fraction} of {split!r})")


def frame_number(filename: str) -> int:
    """The frame number of an image file: the first integer in its name (``000123.jpg`` -> 123)."""
    m = _FRAME_NAME.match(Path(filename).stem)
    if m is None:
        raise DatasetError(f"image file name without a frame number: {filename}")
    return int(m.group(1))


class DatasetLayout:
    """Read access to a dataset in the MvMHAT layout, driven by its manifest.

    ``manifest`` is a path to a manifest file (default ``<root>/dataset.yaml``) or a ``Manifest``;
    ``ranges``: what its ranges count, ``frames`` or ``positions`` (see the module docstring).
    Directory listings are read lazily and cached.
    """

    def __init__(self, root: Union[str, Path], manifest: Union[str, Path, Manifest, None] = None,
                 ranges: str = "frames"):
        if ranges not in RANGE_UNITS:
            raise ValueError(f"ranges={ranges!r}; valid: {list(RANGE_UNITS)}")
        self.ranges = ranges
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"dataset root not found: {self.root}")
        if manifest is None:
            manifest = self.root / MANIFEST_NAME
        self.manifest = manifest if isinstance(manifest, Manifest) else load_manifest(manifest)
        self._views: dict = {}
        self._sources: dict = {}

    @property
    def scenes(self) -> list:
        return list(self.manifest.scenes)

    def _spec(self, scene: str) -> SceneSpec:
        try:
            return self.manifest.scenes[scene]
        except KeyError:
            raise UnknownNameError(f"scene {scene!r} is not in {self.manifest.source}; scenes: {self.scenes}") from None

    def scene_dir(self, scene: str) -> Path:
        path = self.root / self._spec(scene).dir
        if not path.is_dir():
            raise FileNotFoundError(f"scene folder not found: {path}")
        return path

    def views(self, scene: str) -> list:
        """View folder names of a scene in numeric order (or the manifest's explicit list)."""
        if scene not in self._views:
            spec, sdir = self._spec(scene), self.scene_dir(scene)
            if spec.views is not None:
                names = list(spec.views)
                for v in names:
                    if not (sdir / v).is_dir():
                        raise FileNotFoundError(f"view folder not found: {sdir / v}")
            else:
                names = sorted((p.name for p in sdir.iterdir() if p.is_dir() and not p.name.startswith(".")),
                               key=natural_key)
                if not names:
                    raise DatasetError(f"scene folder has no view folders: {sdir}")
            self._views[scene] = names
        return self._views[scene]

    def split_range(self, scene: str, split: str) -> tuple:
        """Half-open frame-number range ``(start, end)`` of a split of a scene (a position range
        is converted: the frames of the images it selects)."""
        splits = self._spec(scene).splits
        if split not in splits:
            raise UnknownNameError(f"scene {scene!r} has no split {split!r} in {self.manifest.source}; splits: {sorted(splits)}")
        start, end = splits[split]
        if self.ranges == "frames":
            return start, end
        images = sorted(set().union(*(self.frame_numbers(scene, v) for v in self.views(scene))))
        chosen = images[start:end]
        if not chosen:
            raise DatasetError(f"scene {scene!r} split {split!r}: positions [{start}, {end}) select no image; "
                               f"the scene has {len(images)} frames under {self.scene_dir(scene)}")
        return chosen[0], chosen[-1] + 1

    def frame_source(self, scene: str, view: str):
        """The :mod:`loader.frames` source of one view (image folder or video), opened once."""
        key = (scene, view)
        if key not in self._sources:
            from loader.frames import view_source  # loader.frames imports this module
            self._sources[key] = view_source(self.scene_dir(scene) / view, self._spec(scene).first_frame)
        return self._sources[key]

    def frame_numbers(self, scene: str, view: str) -> list:
        """Sorted frame numbers of one view (its images, or its video's decoded frames)."""
        return self.frame_source(scene, view).frames

    def read_frame(self, scene: str, view: str, frame: int, size: Optional[tuple] = None) -> np.ndarray:
        """BGR uint8 ``(H, W, 3)`` of one frame of a view; ``size = (width, height)`` it must have.
        Video views decode forward: read each view's frames in increasing order."""
        return self.frame_source(scene, view).read(frame, size)

    def image_size(self, scene: str, view: str, frame: int) -> tuple:
        """``(width, height)`` of one frame of a view."""
        return self.frame_source(scene, view).image_size(frame)

    def image_paths(self, scene: str, view: str) -> dict:
        """``{frame number: image path}`` of one image view (every image in its ``images/`` folder)."""
        source = self.frame_source(scene, view)
        if source.kind != "images":
            raise DatasetError(f"view {view!r} of scene {scene!r} is a video ({source.where}), not images")
        return source.paths

    def image_path(self, scene: str, view: str, frame: int) -> Path:
        source = self.frame_source(scene, view)
        if source.kind != "images":
            raise DatasetError(f"view {view!r} of scene {scene!r} is a video ({source.where}), not images")
        return source.path(frame)

    def frames(self, scene: str, split: str) -> list:
        """Sorted frame numbers of a split that have an image; every view must have the same ones.

        A range that runs past the scene's last image, or holds none, is an error naming the
        scene, the split and the frames that exist (a range may start before the first image: the
        released ranges start at 0 where frames are numbered from 1)."""
        start, end = self.split_range(scene, split)
        per_view = {}
        for view in self.views(scene):
            per_view[view] = {f for f in self.frame_numbers(scene, view) if start <= f < end}
        union = set().union(*per_view.values())
        existing = set().union(*(self.frame_numbers(scene, v) for v in self.views(scene)))
        if not union or end - 1 > max(existing):
            have = f"its images are frames {min(existing)}-{max(existing)}" if existing else "it has no images"
            raise DatasetError(f"scene {scene!r} split {split!r} [{start}, {end}) "
                               f"{'runs past the last image' if union else 'has no images'}: {have} under "
                               f"{self.scene_dir(scene)} (ranges from {self.manifest.source})")
        for view, have in per_view.items():
            missing = sorted(union - have)
            if missing:
                folder = self.frame_source(scene, view).where
                raise FileNotFoundError(
                    f"{len(missing)} image(s) of split {split!r} missing in {folder}, "
                    f"first: frame {missing[0]} (present in another view)")
        return sorted(union)

    def check_split(self, split: str) -> None:
        """Every scene has ``split`` and images over its whole range (errors as :meth:`frames`)."""
        for scene in self.scenes:
            self.frames(scene, split)

    def annotation_path(self, scene: str, view: str, kind: str = "gt") -> Path:
        if kind not in ANNOTATION_FILES:
            raise ValueError(f"annotation kind must be one of {sorted(ANNOTATION_FILES)}, got {kind!r}")
        return self.scene_dir(scene) / view / "gt_det" / ANNOTATION_FILES[kind]

    def read_boxes(self, scene: str, view: str, kind: str = "gt", split: Optional[str] = None) -> np.ndarray:
        """MOT rows of one view's annotation file, restricted to a split's frame range if given."""
        rows = read_mot(self.annotation_path(scene, view, kind))
        if split is not None:
            start, end = self.split_range(scene, split)
            rows = rows[(rows[:, 0] >= start) & (rows[:, 0] < end)]
        return rows

    def result_name(self, scene: str, view: str) -> str:
        """Official result/GT file name of a view: ``<scene>_<1-based view position>.txt``."""
        return f"{scene}_{self.views(scene).index(view) + 1}.txt"
