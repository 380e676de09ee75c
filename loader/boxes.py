"""Every annotated box of one split, in one flat, ordered table.

Rows are ordered by scene (manifest order), view (numeric order), frame, then file order. The
crop cache stores crop ``i`` for row ``i``, so both data paths address crops the same way.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np

from loader.layout import DatasetError, DatasetLayout
from loader.crops import boxes_inside


@dataclass
class BoxTable:
    """Flat arrays over the N boxes of a split (see the module docstring for the order)."""

    split: str
    kind: str  # "gt" or "det": the annotation file the boxes come from
    scenes: list  # scene names
    views: dict  # scene -> view folder names (numeric order)
    frames: dict  # scene -> sorted int array of the split's frames that have images
    scene_idx: np.ndarray  # (N,) int64 index into scenes
    view_idx: np.ndarray  # (N,) int64 index into views[scene]
    frame: np.ndarray  # (N,) int64 frame number
    ids: np.ndarray  # (N,) int64 identity (-1 for detections)
    tlwh: np.ndarray  # (N, 4) float64 box in pixels
    conf: np.ndarray  # (N,) float64 confidence column of the file (-1 where not given)
    offsets: dict = field(default_factory=dict)  # (scene, view, frame) -> (start, end) rows
    image_sizes: dict = field(default_factory=dict)  # (scene, view) -> (width, height) of every image of the view
    dropped_outside: int = 0  # boxes with no pixel inside the image, left out (reported)

    def __len__(self) -> int:
        return len(self.frame)

    def rows(self, scene: str, view: str, frame: int) -> tuple:
        """``(start, end)`` rows of the boxes of one image; ``(0, 0)`` when it has none."""
        return self.offsets.get((scene, view, int(frame)), (0, 0))

    def scene_slice(self, scene: str) -> slice:
        """The rows of one scene (contiguous: rows are ordered by scene first)."""
        rows = np.flatnonzero(self.scene_idx == self.scenes.index(scene))
        return slice(int(rows[0]), int(rows[-1]) + 1) if len(rows) else slice(0, 0)

    def digest(self) -> str:
        """SHA-256 of the table's content (scenes, views, frames, ids, boxes)."""
        h = hashlib.sha256()
        h.update(repr((self.split, self.kind, self.scenes, self.views)).encode())
        for a in (self.scene_idx, self.view_idx, self.frame, self.ids, self.tlwh, self.conf):
            h.update(np.ascontiguousarray(a).tobytes())
        for s in self.scenes:
            h.update(np.ascontiguousarray(self.frames[s]).tobytes())
        return h.hexdigest()


def build_box_table(layout: DatasetLayout, split: str, kind: str = "gt",
                    scenes: Optional[Sequence[str]] = None) -> BoxTable:
    """Read the ``kind`` annotation of every view of ``scenes`` (default: all) within ``split``.

    Errors: a missing folder, image or annotation file (naming the path); a box on a frame of
    the split that has no image. Boxes entirely outside the image are dropped and counted. The
    image size of a view is read from its first frame; :func:`loader.crops.image_crops` checks
    every image it decodes against it.
    """
    scenes = list(layout.scenes if scenes is None else scenes)
    cols = {k: [] for k in ("scene_idx", "view_idx", "frame", "ids", "tlwh", "conf")}
    views, frames, sizes = {}, {}, {}
    dropped = 0
    for si, scene in enumerate(scenes):
        views[scene] = layout.views(scene)
        frames[scene] = np.asarray(layout.frames(scene, split), dtype=np.int64)
        have = frames[scene]
        for vi, view in enumerate(views[scene]):
            rows = layout.read_boxes(scene, view, kind, split=split)
            f = rows[:, 0].astype(np.int64)
            orphan = ~np.isin(f, have)
            if orphan.any():
                raise DatasetError(f"{layout.annotation_path(scene, view, kind)}: box at frame "
                                   f"{int(f[orphan][0])} but no image of that frame in "
                                   f"{layout.frame_source(scene, view).where}")
            size = layout.image_size(scene, view, int(have[0]))
            sizes[(scene, view)] = size
            keep = boxes_inside(rows[:, 2:6], *size)
            dropped += int((~keep).sum())
            rows = rows[keep]
            rows = rows[np.argsort(rows[:, 0], kind="stable")]
            cols["scene_idx"].append(np.full(len(rows), si, dtype=np.int64))
            cols["view_idx"].append(np.full(len(rows), vi, dtype=np.int64))
            cols["frame"].append(rows[:, 0].astype(np.int64))
            cols["ids"].append(rows[:, 1].astype(np.int64))
            cols["tlwh"].append(rows[:, 2:6].astype(np.float64))
            cols["conf"].append(rows[:, 6].astype(np.float64))
    arrays = {k: (np.concatenate(v) if v else np.zeros((0, 4) if k == "tlwh" else 0)) for k, v in cols.items()}
    table = BoxTable(split=split, kind=kind, scenes=scenes, views=views, frames=frames,
                     image_sizes=sizes, dropped_outside=dropped, **arrays)
    # contiguous row ranges per image
    if len(table):
        key = np.stack([table.scene_idx, table.view_idx, table.frame], axis=1)
        change = np.flatnonzero(np.any(key[1:] != key[:-1], axis=1)) + 1
        starts = np.concatenate([[0], change])
        ends = np.concatenate([change, [len(table)]])
        for s, e in zip(starts.tolist(), ends.tolist()):
            sc = scenes[table.scene_idx[s]]
            table.offsets[(sc, views[sc][table.view_idx[s]], int(table.frame[s]))] = (s, e)
    return table
