"""Embed every box of a split, all views of a frame in one forward pass, cached per scene.

A scene's features live in ``<dir>/<scene>.npz`` next to a key (checkpoint hash, box table, crop
size, model settings): a re-run of the tracker alone (``inference.py --reuse-features``) reads
them instead of running the network, and refuses a file whose key differs. The file also holds,
row for row, what each feature belongs to, so other trackers can use it::

    features  float32 (n, D)   L2-normalised embeddings
    frame     int64   (n,)     frame number
    view      str     (n,)     view folder name
    tlwh      float64 (n, 4)   box: left, top, width, height in pixels
    conf      float64 (n,)     confidence column of the box file (-1 where not given)
    key       str              what the features were computed from

:func:`divotrack_rows` lays one scene out as DIVOTrack's multi-view tracker reads its input
(``Multi_view_Tracking``: a ``.npy`` holding a pickled dict ``{scene: {view: rows}}``, loaded with
``np.load(path, allow_pickle=True).item()``), each row ``frame, -1, x, y, w, h, conf, 0, 0, 0,
feature...``; :func:`save_divotrack` writes that file.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Optional, Tuple

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from atomic import atomic_path
from engine.embed import embed_crops
from errors import KnownError
from loader.boxes import BoxTable
from loader.crops import image_crops
from loader.layout import DatasetLayout


class FeatureCacheError(KnownError, ValueError):
    """Cached features that were computed from other inputs; the message names the file."""


class FrameCrops(Dataset):
    """Item ``i``: uint8 crops ``(M, 3, H, W)`` of every view of the ``i``-th frame of a scene,
    in table-row order, and the table rows ``(M,)`` they belong to."""

    def __init__(self, table: BoxTable, layout: DatasetLayout, scene: str, crop_size: Tuple[int, int]):
        self.table, self.layout, self.scene, self.crop_size = table, layout, scene, tuple(crop_size)
        self.frames = table.frames[scene].tolist()

    def __len__(self) -> int:
        return len(self.frames)

    def __getitem__(self, i: int) -> tuple:
        frame, crops, rows = self.frames[i], [], []
        for view in self.table.views[self.scene]:
            start, end = self.table.rows(self.scene, view, frame)
            if end > start:
                crops.append(image_crops(self.table, self.layout, self.scene, view, frame, self.crop_size))
                rows.append(np.arange(start, end))
        if not crops:
            return np.zeros((0, 3) + self.crop_size, np.uint8), np.zeros(0, np.int64)
        return np.concatenate(crops), np.concatenate(rows)


def _concat(items):
    return (torch.from_numpy(np.concatenate([c for c, _ in items])),
            torch.from_numpy(np.concatenate([r for _, r in items])))


def feature_key(checkpoint_sha: str, table: BoxTable, scene: str, crop_size, model_desc: dict) -> str:
    rows = table.scene_slice(scene)
    h = hashlib.sha256(json.dumps([checkpoint_sha, list(crop_size), model_desc], sort_keys=True).encode())
    for a in (table.view_idx[rows], table.frame[rows], table.tlwh[rows], table.conf[rows]):
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


@torch.no_grad()
def extract_scene(model: torch.nn.Module, table: BoxTable, layout: DatasetLayout, scene: str,
                  crop_size: Tuple[int, int], device: torch.device, amp: str = "none",
                  frames_per_batch: int = 8, num_workers: int = 0, progress: bool = True,
                  channels_last: bool = True, pixels: str = "imagenet") -> np.ndarray:
    """Float32 features ``(n, D)`` of the ``n`` boxes of ``scene`` (table-row order within the scene).

    ``channels_last``: feed the crops in that memory format (faster convolutions on GPUs and CPUs;
    convert the model with ``model.to(memory_format=torch.channels_last)`` too). ``pixels``: the
    network's input convention (:data:`loader.crops.PIXELS`), the one it was trained with.
    """
    model.eval()
    rows_of_scene = table.scene_slice(scene)
    first, count = rows_of_scene.start, rows_of_scene.stop - rows_of_scene.start
    out: Optional[np.ndarray] = None
    loader = DataLoader(FrameCrops(table, layout, scene, crop_size), batch_size=frames_per_batch,
                        num_workers=num_workers, collate_fn=_concat)
    for crops, rows in tqdm(loader, desc=f"embed scene {scene}", disable=not progress, unit="batch"):
        if len(rows) == 0:
            continue
        feats = embed_crops(model, crops, device, amp, channels_last, pixels=pixels).cpu().numpy()
        if out is None:
            out = np.zeros((count, feats.shape[1]), np.float32)
        out[rows.numpy() - first] = feats
    return out if out is not None else np.zeros((0, 0), np.float32)


def detection_columns(table: BoxTable, scene: str) -> dict:
    """Frame, view name, box and confidence of every box of ``scene``, in table-row order."""
    rows = table.scene_slice(scene)
    views = np.array(table.views[scene]) if table.views.get(scene) else np.zeros(0, str)
    return {"frame": table.frame[rows].astype(np.int64), "view": views[table.view_idx[rows]],
            "tlwh": table.tlwh[rows].astype(np.float64), "conf": table.conf[rows].astype(np.float64)}


def save_features(path: Path, features: np.ndarray, key: str, columns: Optional[dict] = None) -> None:
    """Write a scene's features with its key and (``columns``, :func:`detection_columns`) the
    frame, view, box and confidence of each row."""
    columns = columns or {}
    if features.size and any(len(v) != len(features) for v in columns.values()):
        raise ValueError(f"{path}: {len(features)} features but columns of lengths "
                         f"{ {k: len(v) for k, v in columns.items()} }")
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, features=features, key=np.array(key), **columns)


def divotrack_rows(table: BoxTable, scene: str, features: np.ndarray) -> dict:
    """``{view: float64 (n_v, 10 + D)}``: the boxes of ``scene`` per view, ordered by frame, as
    rows ``frame, -1, x, y, w, h, conf, 0, 0, 0, feature...`` (id -1: detections, not tracks)."""
    cols = detection_columns(table, scene)
    dim = features.shape[1] if features.ndim == 2 else 0
    out = {}
    for view in table.views[scene]:
        sel = np.flatnonzero(cols["view"] == view)
        sel = sel[np.argsort(cols["frame"][sel], kind="stable")]
        rows = np.zeros((len(sel), 10 + dim))
        rows[:, 0], rows[:, 1] = cols["frame"][sel], -1
        rows[:, 2:6], rows[:, 6] = cols["tlwh"][sel], cols["conf"][sel]
        if dim:
            rows[:, 10:] = features[sel]
        out[view] = rows
    return out


def save_divotrack(path: Path, scenes: dict) -> None:
    """Write ``{scene: {view: rows}}`` (:func:`divotrack_rows`) as DIVOTrack's ``.npy`` input."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.save(f, np.array(scenes, dtype=object), allow_pickle=True)


def load_features(path: Path, key: str) -> np.ndarray:
    """Cached features of a scene; a missing file or one made from other inputs is an error."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"no cached features at {path}: run once without --reuse-features")
    with np.load(path) as data:
        if str(data["key"]) != key:
            raise FeatureCacheError(f"{path} was computed from another checkpoint, boxes or settings; "
                             f"run without --reuse-features")
        return data["features"]
