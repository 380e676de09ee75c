"""MvMHAT's own releases: ``mvmhat`` (conference, realgump/MvMHAT) and ``mvmhat++`` (journal,
RuizeHan/MvMHAT ``MvMHAT++/``).

Source (``--src``: the folder of sequence folders, ``dataset/`` for the journal code)::

    <src>/<seq>/<view>/images/<n>.jpg          seq = 1 ... 13 (the released loader's keys)
    <src>/<seq>/<view>/gt_det/gt.txt           mvmhat:   boxes   (mvmhat++: gt_det/anno.txt)
    <src>/<seq>/<view>/gt_det/det.txt          mvmhat:   detections, optional (mvmhat++: det_res.txt)

Rows are comma-separated ``frame, id, x, y, w, h, ...`` (``x, y`` the top-left corner, pixels;
scientific notation allowed). They are copied unchanged except rows with ``w <= 0`` or ``h <= 0``,
which are dropped; ids are global per scene in the source and stay so.

Frame numbers: the integer in the image name, which is also the frame column of the annotation
rows (scenes 1-6 number from 1, the others from 0); nothing is renumbered. Images are linked as
``images/<n>.jpg``.

Scenes and ranges: every view folder of a scene is kept (the released loader took the first 4 of
``os.listdir``); the manifest is ``configs/datasets/mvmhat.yaml`` restricted to the sequences found,
scene names as the official evaluation gives them (folders 11-13 are scenes 12-14, the ``dir``
entries). Those ranges are **positions in the sorted image list**, as the released loader's
``cut_dict``: train and track with ``--data.ranges=positions`` (``configs/release.yaml`` and
``configs/paper.yaml`` set it). A sequence folder that is not one of the 13 is an error.
"""
from __future__ import annotations

from pathlib import Path

from datasets.convert.common import (ConvertError, View, keep_positive, list_images, read_numeric_table,
                                     require_dir, subfolders, write_dataset)
from loader.layout import Manifest, load_manifest

RANGES_FILE = Path(__file__).resolve().parents[2] / "configs" / "datasets" / "mvmhat.yaml"
# format -> (box file, detection file) inside <view>/gt_det/
FILES = {"mvmhat": ("gt.txt", "det.txt"), "mvmhat++": ("anno.txt", "det_res.txt")}


def read_view(src: Path, seq: str, view: str, fmt: str) -> View:
    vdir = src / seq / view
    box_file, det_file = FILES[fmt]
    images = list_images(vdir / "images")
    gt_path = vdir / "gt_det" / box_file
    gt = keep_positive(read_numeric_table(gt_path), gt_path)
    det_path = vdir / "gt_det" / det_file
    det = keep_positive(read_numeric_table(det_path), det_path) if det_path.is_file() else None
    return View(scene=seq, view=view, images=images, gt=gt, det=det)


def convert(src: Path, out: Path, fmt: str = "mvmhat") -> Path:
    """Convert the MvMHAT release at ``src`` (``fmt``: ``mvmhat`` or ``mvmhat++``) into ``out``."""
    if fmt not in FILES:
        raise ValueError(f"format {fmt!r}; valid: {sorted(FILES)}")
    require_dir(src, f"{fmt} source folder")
    ranges = load_manifest(RANGES_FILE)
    by_folder = {spec.dir: spec for spec in ranges.scenes.values()}
    seqs = subfolders(src)
    unknown = [s for s in seqs if s not in by_folder]
    if unknown:
        raise ConvertError(f"{src}: sequence folder(s) {unknown} are not MvMHAT's; expected folders named "
                           f"{sorted(by_folder, key=int)} (the released loader's keys)")
    if not seqs:
        raise ConvertError(f"{src}: no sequence folders; expected folders named {sorted(by_folder, key=int)}")
    views = []
    for seq in seqs:
        names = subfolders(src / seq)
        if not names:
            raise ConvertError(f"sequence folder without view folders: {src / seq}")
        views += [read_view(src, seq, v, fmt) for v in names]
    scenes = {spec.name: spec for spec in ranges.scenes.values() if spec.dir in seqs}
    return write_dataset(out, views, Manifest(name=ranges.name, scenes=scenes))
