"""WILDTRACK (EPFL CVLab, 7 cameras, ground-plane annotations projected to boxes): ``wildtrack``.

Source (``--src``: the unpacked ``Wildtrack`` folder)::

    <src>/Image_subsets/C1 ... C7/<frame:08d>.png
    <src>/annotations_positions/<frame:08d>.json   [{"personID": 3, "positionID": ..., "views":
                                                     [{"viewNum": 0, "xmin": .., "ymin": .., "xmax": .., "ymax": ..}, ...]}, ...]

``viewNum`` 0-6 is camera ``C1``-``C7`` (read by number, not by list position); a box with all
four corners -1 means the person is not seen by that camera and gives no row. Boxes are corners
in pixels; they are clipped to the image (size from the camera's first image) and dropped when
nothing is left inside. Ids: ``personID``, global across cameras and time.

Frame numbers: the number of the file name (0, 5, 10, ... 1995), kept with their gaps; images are
linked as ``images/<frame>.png``. One scene ``wildtrack``; view folder = ``k`` of ``C<k>``.
Ranges: the last ``test_fraction`` of the annotated frames (default 0.1, MVDet's 90/10 cut:
frames 0-1795 train, 1800-1995 test) is ``test``, the rest ``train``.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from datasets.convert.common import (ConvertError, View, fraction_split, list_images,
                                     manifest_of, mot_rows, require_dir, subfolders, write_dataset)
from loader.layout import frame_number
from loader.frames import image_size
from loader.mot import corners_to_tlwh

CAMERA = re.compile(r"C(\d+)$")
SCENE = "wildtrack"
TEST_FRACTION = 0.1


def read_annotation(path: Path) -> list:
    """``[(camera number (1-based), person id, x1, y1, x2, y2), ...]`` of one annotation file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ConvertError(f"{path}:{e.lineno}: not valid JSON: {e.msg}") from None
    expected = 'a list of {"personID": int, "views": [{"viewNum", "xmin", "ymin", "xmax", "ymax"}, ...]}'
    if not isinstance(data, list):
        raise ConvertError(f"{path}: expected {expected}, got {type(data).__name__}")
    out = []
    for i, person in enumerate(data):
        try:
            pid = int(person["personID"])
            for v in person["views"]:
                box = [float(v[k]) for k in ("xmin", "ymin", "xmax", "ymax")]
                if box != [-1.0, -1.0, -1.0, -1.0]:
                    out.append((int(v["viewNum"]) + 1, pid, *box))
        except (KeyError, TypeError, ValueError):
            raise ConvertError(f"{path}: person {i} (0-based): expected {expected}, got {person!r}") from None
    return out


def convert(src: Path, out: Path, test_fraction: float = TEST_FRACTION) -> Path:
    """Convert the WILDTRACK folder ``src`` into ``out``."""
    require_dir(src, "wildtrack source folder")
    image_root = require_dir(src / "Image_subsets", "image folder (Image_subsets/C1..C7)")
    ann_dir = require_dir(src / "annotations_positions", "annotation folder")
    cameras = {}
    for name in subfolders(image_root):
        m = CAMERA.match(name)
        if m is None:
            raise ConvertError(f"{image_root / name}: expected camera folders named C1 ... C7")
        cameras[int(m.group(1))] = list_images(image_root / name)
    if not cameras:
        raise ConvertError(f"{image_root}: no camera folders C1 ... C7")
    sizes = {cam: image_size(images[min(images)]) for cam, images in cameras.items()}
    ann_files = sorted(ann_dir.glob("*.json"))
    if not ann_files:
        raise ConvertError(f"{ann_dir}: no <frame>.json annotation files")
    rows = {cam: [] for cam in cameras}
    for path in ann_files:
        frame = frame_number(path.name)
        for cam, pid, *corners in read_annotation(path):
            if cam not in cameras:
                raise ConvertError(f"{path}: viewNum {cam - 1} is camera C{cam}, which has no folder in {image_root}")
            tlwh, keep = corners_to_tlwh(np.array([corners]), *sizes[cam])
            if keep[0]:
                rows[cam].append([frame, pid, *tlwh[0], 1])
    views = [View(scene=SCENE, view=str(cam), images=cameras[cam], gt=mot_rows(rows[cam])) for cam in sorted(cameras)]
    splits = fraction_split((frame_number(p.name) for p in ann_files), test_fraction, str(ann_dir))
    return write_dataset(out, views, manifest_of("WILDTRACK", {SCENE: splits}))
