"""DIVOTrack (per-view MOTChallenge sequences, ids shared by the views of a scene): ``divotrack``.

Source (``--src``: the ``DIVO`` folder)::

    <src>/images/<half>/<Scene>_<View>/img1/<Scene>_<View>_<frame:06d>.jpg    half = train, test
    <src>/images/<half>/<Scene>_<View>/gt/gt.txt                              frame,id,x,y,w,h,1,1,1

Names: the new ones (``Circle_View2``) or the old ones (``circleRegion_Drone``), which become the new
(scene ``circleRegion`` -> ``Circle``, ...; view ``Drone`` -> ``View1``, ``View1`` -> ``View2``,
``View2`` -> ``View3``, as DIVOTrack's ``convert_divo.py``). View folder = the ``<k>`` of ``View<k>``.

Frame numbers: the **last** integer of the image name (the first is the view's), kept; images
are linked as ``images/<frame>.jpg``. The two halves of a scene are merged into one scene
(DIVOTrack numbers the train half after the test half; a frame in both halves is an error) and
give its ranges: ``test`` = the test half's frames, ``train`` = the train half's. Both halves
must be there. A half without ``gt/gt.txt`` (five scenes' test halves) adds images only, with a
log line. Rows are copied (``x, y, w, h`` pixels, ids unchanged) except ``w <= 0`` or ``h <= 0``
rows, which are dropped. Detections are not converted (the release's location for them is unclear).
"""
from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np

from datasets.convert.common import (ConvertError, View, keep_positive, list_images, manifest_of,
                                     read_numeric_table, require_dir, subfolders, write_dataset)

log = logging.getLogger(__name__)
HALVES = ("train", "test")
OLD_SCENES = {"circleRegion": "Circle", "innerShop": "Shop", "movingView": "Moving", "park": "Park",
              "playground": "Ground", "shopFrontGate": "Gate1", "shopSecondFloor": "Floor",
              "shopSideGate": "Side", "shopSideSquare": "Square", "southGate": "Gate2"}
OLD_VIEWS = {"Drone": "1", "View1": "2", "View2": "3"}
NEW_VIEW = re.compile(r"View(\d+)$")
LAST_INT = re.compile(r"(\d+)\D*$")


def last_integer(name: str) -> int:
    m = LAST_INT.search(Path(name).stem)
    if m is None:
        raise ConvertError(f"image file name without a frame number: {name}")
    return int(m.group(1))


def scene_and_view(seq_dir: Path) -> tuple:
    """``(scene, view folder)`` of a sequence folder ``<Scene>_<View>`` in either naming."""
    scene, sep, view = seq_dir.name.rpartition("_")
    if scene in OLD_SCENES and view in OLD_VIEWS:
        return OLD_SCENES[scene], OLD_VIEWS[view]
    m = NEW_VIEW.match(view)
    if not sep or m is None or scene in OLD_SCENES:
        raise ConvertError(f"{seq_dir}: expected a sequence folder named <Scene>_View<k> (or an old name such as "
                           f"circleRegion_Drone)")
    return scene, m.group(1)


def convert(src: Path, out: Path) -> Path:
    """Convert the DIVOTrack folder ``src`` into ``out``."""
    require_dir(src, "divotrack source folder")
    scenes: dict = {}  # scene -> view -> {"images": {}, "gt": [], half: frames}
    for half in HALVES:
        half_dir = require_dir(src / "images" / half, f"DIVOTrack {half} half (images/{half})")
        for name in subfolders(half_dir):
            seq = half_dir / name
            scene, view = scene_and_view(seq)
            entry = scenes.setdefault(scene, {}).setdefault(view, {"images": {}, "gt": [], "halves": {}})
            images = list_images(seq / "img1", frame_of=last_integer)
            both = sorted(set(images) & set(entry["images"]))
            if both:
                raise ConvertError(f"{seq / 'img1'}: frame {both[0]} is in the train and the test half of "
                                   f"{scene} view {view}; expected the halves to number frames apart")
            entry["images"].update(images)
            entry["halves"][half] = set(images)
            gt_path = seq / "gt" / "gt.txt"
            if gt_path.is_file():
                entry["gt"].append(keep_positive(read_numeric_table(gt_path), gt_path))
            else:
                log.warning("%s: no gt/gt.txt; its frames get images and no boxes", seq)
    if not scenes:
        raise ConvertError(f"{src / 'images'}: no sequence folders <Scene>_View<k> in train/ or test/")
    views, splits = [], {}
    for scene, by_view in scenes.items():
        ranges = {}
        for half in HALVES:
            frames = set().union(*(e["halves"].get(half, set()) for e in by_view.values()))
            if not frames:
                raise ConvertError(f"{src / 'images' / half}: no sequence of scene {scene!r}; "
                                   f"expected both halves (train and test) of every scene")
            ranges[half] = (min(frames), max(frames) + 1)
        splits[scene] = ranges
        for view, e in by_view.items():
            gt = np.concatenate(e["gt"]) if e["gt"] else None
            views.append(View(scene=scene, view=view, images=e["images"],
                              **({"gt": gt} if gt is not None else {})))
    return write_dataset(out, views, manifest_of("DIVOTrack", splits))
