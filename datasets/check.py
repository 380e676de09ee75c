"""``python -m datasets.check ROOT``: what a dataset in this project's layout holds, and what is wrong
with it, before a training run finds out.

    python -m datasets.check data/MvMHAT [--manifest FILE] [--ranges frames|positions]

Reports scenes, views (frames with images, or a view's video and its frame count; image size),
and per split: frames, boxes and ids of ``gt_det/gt.txt`` (and boxes of ``det.txt`` when there).

Errors (exit status 1): a manifest, scene folder, view folder, image folder or annotation file
that is missing or malformed; a first image that cannot be decoded; a split whose range holds no
frame or runs past the last one; a frame of a split that has an image in one view and not in
another; a box with no pixel inside its image. Warnings (exit status 0 when there are only
warnings): boxes on frames without an image, frames with an image but no box, boxes partly outside
the image, ids seen in one view only within a split. Only the first image of each view is decoded
(its size stands for the view's).

A view is an image folder (``<view>/images/<n>.jpg``) or a video (``<view>/video.<ext>``, frames
numbered from the scene's ``first_frame``, default 0), read through :mod:`loader.frames`.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from errors import KNOWN_ERRORS
from loader.layout import RANGE_UNITS, DatasetLayout
from loader.mot import read_mot

SHOW = 5  # ids or frames named per message


@dataclass
class Report:
    lines: list = field(default_factory=list)  # what the dataset holds
    errors: list = field(default_factory=list)
    warnings: list = field(default_factory=list)

    def text(self) -> str:
        out = self.lines + [f"error: {e}" for e in self.errors] + [f"warning: {w}" for w in self.warnings]
        out.append(f"{len(self.errors)} error(s), {len(self.warnings)} warning(s)")
        return "\n".join(out) + "\n"


@dataclass
class ViewInfo:
    frames: set  # frame numbers with an image (or a decoded video frame)
    size: tuple  # (width, height)
    what: str  # "12 images" / "video.mp4 (300 frames)"


def _first(values, n: int = SHOW) -> str:
    values = sorted(values)
    return ", ".join(str(int(v)) for v in values[:n]) + (", ..." if len(values) > n else "")


def view_info(layout: DatasetLayout, scene: str, view: str) -> ViewInfo:
    """Frames and image size of one view (its first frame's size stands for the view's); an
    unreadable view raises a known error naming it."""
    source = layout.frame_source(scene, view)
    frames = source.frames
    if not frames:
        raise FileNotFoundError(f"view without images: no image file in {source.where}")
    size = source.image_size(frames[0])
    what = f"{len(frames)} images" if source.kind == "images" else f"{source.where.name} ({len(frames)} frames)"
    return ViewInfo(set(frames), size, what)


def split_range(layout: DatasetLayout, scene: str, split: str, all_frames: list) -> Optional[tuple]:
    """Half-open frame range of a split (positions turned into frames over ``all_frames``)."""
    start, end = layout.manifest.scenes[scene].splits[split]
    if layout.ranges == "frames":
        return start, end
    chosen = all_frames[start:end]
    return (chosen[0], chosen[-1] + 1) if chosen else None


def box_problems(rows: np.ndarray, size: tuple) -> tuple:
    """``(no pixel inside, partly outside)`` boolean masks of MOT rows in an image of ``size``."""
    w, h = size
    x1, y1 = rows[:, 2], rows[:, 3]
    x2, y2 = x1 + rows[:, 4], y1 + rows[:, 5]
    outside = (x2 <= 0) | (y2 <= 0) | (x1 >= w) | (y1 >= h)
    partly = ~outside & ((x1 < 0) | (y1 < 0) | (x2 > w) | (y2 > h))
    return outside, partly


def check_split(report: Report, layout: DatasetLayout, scene: str, split: str, infos: dict, gts: dict,
                dets: dict) -> None:
    all_frames = sorted(set().union(*(i.frames for i in infos.values())))
    where = f"scene {scene!r} split {split!r}"
    rng = split_range(layout, scene, split, all_frames)
    if rng is None:
        start, end = layout.manifest.scenes[scene].splits[split]
        report.errors.append(f"{where}: positions [{start}, {end}) select no frame (the scene has {len(all_frames)})")
        return
    start, end = rng
    union = {f for f in all_frames if start <= f < end}
    if not union:
        report.errors.append(f"{where} [{start}, {end}): no frame with an image; the scene's frames are "
                             f"{all_frames[0]}-{all_frames[-1]}")
        return
    if end - 1 > all_frames[-1]:
        report.errors.append(f"{where} [{start}, {end}): runs past the last frame {all_frames[-1]}")
    boxes, ids_by_view = 0, {}
    for view, info in infos.items():
        vwhere = f"{where} view {view!r}"
        have = {f for f in info.frames if start <= f < end}
        missing = union - have
        if missing:
            report.errors.append(f"{vwhere}: {len(missing)} frame(s) with an image in another view but not in "
                                 f"this one (first: {_first(missing)}); every view needs the same frames")
        rows = gts[view]
        rows = rows[(rows[:, 0] >= start) & (rows[:, 0] < end)]
        boxes += len(rows)
        ids_by_view[view] = set(rows[:, 1].astype(int).tolist())
        orphan = sorted(set(rows[:, 0].astype(int).tolist()) - have)
        if orphan:
            report.warnings.append(f"{vwhere}: boxes on {len(orphan)} frame(s) without an image (first: {_first(orphan)})")
        empty = have - set(rows[:, 0].astype(int).tolist())
        if empty:
            report.warnings.append(f"{vwhere}: {len(empty)} frame(s) with an image but no box (first: {_first(empty)})")
        outside, partly = box_problems(rows, info.size)
        if outside.any():
            report.errors.append(f"{vwhere}: {int(outside.sum())} box(es) with no pixel inside the "
                                 f"{info.size[0]}x{info.size[1]} image (first at frame {int(rows[outside][0, 0])}, "
                                 f"id {int(rows[outside][0, 1])}) in {layout.annotation_path(scene, view)}")
        if partly.any():
            report.warnings.append(f"{vwhere}: {int(partly.sum())} box(es) partly outside the image "
                                   f"(clipped when cropped)")
    ids = set().union(*ids_by_view.values())
    det = ""
    if any(d is not None for d in dets.values()):
        n = sum(int(((d[:, 0] >= start) & (d[:, 0] < end)).sum()) for d in dets.values() if d is not None)
        det = f", {n} detections"
    report.lines.append(f"  split {split} [{start}, {end}): {len(union)} frames, {boxes} boxes, {len(ids)} ids{det}")
    if len(ids_by_view) > 1:
        lonely = {i for i in ids if sum(i in s for s in ids_by_view.values()) == 1}
        if lonely:
            report.warnings.append(f"{where}: {len(lonely)} id(s) seen in one view only (first: {_first(lonely)})")


def check_scene(report: Report, layout: DatasetLayout, scene: str) -> None:
    views = layout.views(scene)
    report.lines.append(f"scene {scene} (folder {layout.manifest.scenes[scene].dir}): {len(views)} view(s)")
    infos, gts, dets = {}, {}, {}
    for view in views:
        try:
            info = view_info(layout, scene, view)
            gts[view] = read_mot(layout.annotation_path(scene, view, "gt"))
            det_path = layout.annotation_path(scene, view, "det")
            dets[view] = read_mot(det_path) if det_path.is_file() else None
        except KNOWN_ERRORS as e:
            report.errors.append(f"scene {scene!r} view {view!r}: {e}")
            continue
        infos[view] = info
        frames = sorted(info.frames)
        report.lines.append(f"  view {view}: {info.what}, frames {frames[0]}-{frames[-1]}, "
                            f"{info.size[0]}x{info.size[1]}")
    if len(infos) != len(views):
        return
    for split in layout.manifest.scenes[scene].splits:
        check_split(report, layout, scene, split, infos, gts, dets)


def check_dataset(root, manifest=None, ranges: str = "frames") -> Report:
    """Check the dataset at ``root`` (see the module docstring); problems go into the report."""
    report = Report()
    try:
        layout = DatasetLayout(root, manifest, ranges)
    except KNOWN_ERRORS as e:
        report.errors.append(str(e))
        return report
    report.lines.append(f"dataset {layout.manifest.name} ({layout.manifest.source}): {len(layout.scenes)} scene(s), "
                        f"ranges count {ranges}")
    for scene in layout.scenes:
        try:
            check_scene(report, layout, scene)
        except KNOWN_ERRORS as e:
            report.errors.append(f"scene {scene!r}: {e}")
    return report


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m datasets.check", description=__doc__.splitlines()[0])
    p.add_argument("root", help="dataset root (holds dataset.yaml)")
    p.add_argument("--manifest", default=None, help="manifest file (default: ROOT/dataset.yaml)")
    p.add_argument("--ranges", choices=RANGE_UNITS, default="frames",
                   help="what the manifest's ranges count (as --data.ranges; MvMHAT's released ranges: positions)")
    return p.parse_args(argv)


def main(args: argparse.Namespace) -> int:
    report = check_dataset(args.root, args.manifest, args.ranges)
    sys.stdout.write(report.text())
    return 1 if report.errors else 0


if __name__ == "__main__":
    sys.exit(main(parse_args()))
