"""Multi-view training samples: V views x T frames of one scene, every annotated person cropped.

A sample starts at frame ``f`` of a scene and covers frames ``f, f + gap, ..., f + (T-1) gap`` in
its first ``V`` views (all views if the scene has fewer). Its ``K = V * T`` images are ordered
view-major: image ``k`` is view ``k // T``, frame ``k % T``. Starts are ``sample_stride`` frames
apart. A start is excluded when some of its images has no box (the self-supervised losses need
people in every image); the count is kept in ``excluded`` and logged — nothing is replaced.

Item (dict of numpy arrays):
    images  uint8 (K, N_max, 3, H, W)  RGB crops, zero padding
    mask    bool  (K, N_max)           True where a crop is a real person
    ids     int64 (K, N_max)           identities (-1 padding); for validation metrics only
    scene, frames, views               where the sample comes from
"""
from __future__ import annotations

import logging
from typing import Optional, Sequence, Tuple

import numpy as np
import torch
from torch.utils.data import Dataset

from loader.boxes import BoxTable, build_box_table
from loader.cache import CropCache, open_or_build_cache
from loader.crops import image_crops
from loader.layout import DatasetError, DatasetLayout

log = logging.getLogger(__name__)


class MultiViewSamples(Dataset):
    """Training samples over a :class:`BoxTable`; crops from ``cache`` if given, else from JPEGs."""

    def __init__(self, table: BoxTable, layout: DatasetLayout, views: int = 4, frames: int = 2,
                 frame_gap: int = 1, sample_stride: int = 2, crop_size: Tuple[int, int] = (224, 224),
                 cache: Optional[CropCache] = None):
        if views < 1 or frames < 1 or frame_gap < 1 or sample_stride < 1:
            raise ValueError("views, frames, frame_gap and sample_stride must all be >= 1")
        if cache is not None and (len(cache) != len(table) or tuple(cache.shape[2:]) != tuple(crop_size)):
            raise ValueError(f"crop cache {cache.path} has shape {cache.shape}, table has {len(table)} "
                             f"boxes at crop size {tuple(crop_size)}")
        self.table, self.layout, self.cache = table, layout, cache
        self.num_views, self.num_frames, self.frame_gap = views, frames, frame_gap
        self.crop_size = tuple(crop_size)
        self.samples: list = []  # (scene, views tuple, frames tuple)
        self.excluded = 0
        for scene in table.scenes:
            have = table.frames[scene]
            if len(have) == 0:
                continue
            scene_views = tuple(table.views[scene][:views])
            offsets = np.arange(frames) * frame_gap
            for start in range(int(have[0]), int(have[-1]) + 1, sample_stride):
                fr = start + offsets
                if not np.isin(fr, have).all():
                    continue  # runs past the end of the split (or over a gap in the images)
                if all(table.rows(scene, v, f)[1] > table.rows(scene, v, f)[0]
                       for v in scene_views for f in fr.tolist()):
                    self.samples.append((scene, scene_views, tuple(fr.tolist())))
                else:
                    self.excluded += 1
        log.info("%s: %d samples (%d views x %d frames), %d starts excluded because some view has no box",
                 table.split, len(self.samples), views, frames, self.excluded)
        if not self.samples:
            raise DatasetError(f"split {table.split!r} yields no sample of {views} views x {frames} frames "
                             f"with boxes in every image ({self.excluded} excluded)")

    def __len__(self) -> int:
        return len(self.samples)

    def _crops(self, scene: str, view: str, frame: int) -> np.ndarray:
        if self.cache is not None:
            start, end = self.table.rows(scene, view, frame)
            return self.cache.crops[start:end]
        return image_crops(self.table, self.layout, scene, view, frame, self.crop_size)

    def __getitem__(self, index: int) -> dict:
        scene, views, frames = self.samples[index]
        spans = [self.table.rows(scene, v, f) for v in views for f in frames]
        n_max = max(e - s for s, e in spans)
        k = len(spans)
        images = np.zeros((k, n_max, 3) + self.crop_size, dtype=np.uint8)
        mask = np.zeros((k, n_max), dtype=bool)
        ids = np.full((k, n_max), -1, dtype=np.int64)
        for i, (v, f) in enumerate((v, f) for v in views for f in frames):
            s, e = spans[i]
            images[i, : e - s] = self._crops(scene, v, f)
            mask[i, : e - s] = True
            ids[i, : e - s] = self.table.ids[s:e]
        return {"images": images, "mask": mask, "ids": ids, "scene": scene,
                "views": list(views), "frames": list(frames)}


def collate_samples(batch: Sequence[dict]) -> dict:
    """Stack B samples, padding people to the batch's N_max and images to its K_max.

    Returns ``images`` uint8 (B, K, N, 3, H, W), ``mask`` bool (B, K, N), ``ids`` int64 (B, K, N)
    as tensors, and ``image_mask`` bool (B, K): False for padding images of samples whose scene
    has fewer views (their ``mask`` rows are all False), plus the lists ``scene``, ``views``,
    ``frames``.
    """
    b = len(batch)
    k = max(s["images"].shape[0] for s in batch)
    n = max(s["images"].shape[1] for s in batch)
    crop = batch[0]["images"].shape[2:]
    images = torch.zeros((b, k, n) + tuple(crop), dtype=torch.uint8)
    mask = torch.zeros((b, k, n), dtype=torch.bool)
    ids = torch.full((b, k, n), -1, dtype=torch.int64)
    image_mask = torch.zeros((b, k), dtype=torch.bool)
    for i, s in enumerate(batch):
        ki, ni = s["images"].shape[:2]
        images[i, :ki, :ni] = torch.from_numpy(s["images"])
        mask[i, :ki, :ni] = torch.from_numpy(s["mask"])
        ids[i, :ki, :ni] = torch.from_numpy(s["ids"])
        image_mask[i, :ki] = True
    return {"images": images, "mask": mask, "ids": ids, "image_mask": image_mask,
            "scene": [s["scene"] for s in batch], "views": [s["views"] for s in batch],
            "frames": [s["frames"] for s in batch]}


def build_samples(layout: DatasetLayout, split: str, kind: str = "gt", views: int = 4, frames: int = 2,
                  frame_gap: int = 1, sample_stride: int = 2, crop_size: Tuple[int, int] = (224, 224),
                  cache_root: Optional[str] = None, progress: bool = True) -> MultiViewSamples:
    """Box table + (optional) crop cache + samples of one split; ``cache_root=None`` decodes JPEGs."""
    table = build_box_table(layout, split, kind)
    videos = [str(layout.frame_source(s, v).where) for s in table.scenes for v in table.views[s]
              if layout.frame_source(s, v).kind == "video"]
    if videos and cache_root is None:
        raise DatasetError(f"{videos[0]}: training on video views needs the crop cache (data.crop_cache: true), "
                           f"which decodes each video once; without it every sample would decode its videos "
                           f"from the start")
    if table.dropped_outside:
        log.warning("%s: %d boxes lie entirely outside their image and were left out", split, table.dropped_outside)
    cache = None if cache_root is None else open_or_build_cache(table, layout, crop_size, cache_root, progress=progress)
    return MultiViewSamples(table, layout, views=views, frames=frames, frame_gap=frame_gap,
                            sample_stride=sample_stride, crop_size=crop_size, cache=cache)
