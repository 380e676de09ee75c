"""Crop cache: every crop of a split decoded once into a memory-mapped uint8 file.

    python -m loader.cache --root data/synthetic --split train --size 224x224

A cache folder holds ``crops.u8`` (raw uint8 ``(N, 3, H, W)``, crop ``i`` = row ``i`` of the
split's :class:`~loader.boxes.BoxTable`) and ``meta.json`` (shape and fingerprint). The
fingerprint covers the crop size, the table content (boxes, ids, frames) and the name and byte
size of every image used (of a video view: the video's name and byte size and the frames), so a
cache built from other data is detected and rebuilt rather than silently used. Crops are written
in table-row order, which reads each view's frames in increasing order: one decoding pass per
video. Both files are written under temporary names and renamed when complete.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import logging
from pathlib import Path
from typing import Optional, Tuple, Union

import numpy as np
from tqdm import tqdm

from atomic import atomic_open, atomic_path
from loader.boxes import BoxTable, build_box_table
from loader.crops import image_crops
from loader.layout import DatasetLayout

log = logging.getLogger(__name__)
CACHE_VERSION = 1


class CacheMismatch(RuntimeError):
    """The cache on disk was built from different data or settings; the message says what."""


def fingerprint(table: BoxTable, layout: DatasetLayout, size: Tuple[int, int]) -> str:
    h = hashlib.sha256()
    h.update(repr((CACHE_VERSION, tuple(size))).encode())
    h.update(table.digest().encode())
    for scene in table.scenes:
        for view in table.views[scene]:
            source = layout.frame_source(scene, view)
            for frame in table.frames[scene].tolist():
                h.update(f"{scene}/{view}/{source.describe(frame)};".encode())
    return h.hexdigest()


def cache_dir_for(cache_root: Union[str, Path], split: str, kind: str, size: Tuple[int, int]) -> Path:
    return Path(cache_root) / f"{split}_{kind}_{size[0]}x{size[1]}"


class CropCache:
    """Read access to a built cache; the memory map opens lazily (safe to pickle to workers)."""

    def __init__(self, path: Union[str, Path], expected_fingerprint: Optional[str] = None):
        self.path = Path(path)
        meta_path = self.path / "meta.json"
        if not meta_path.is_file():
            raise CacheMismatch(f"no crop cache at {self.path} (meta.json missing)")
        self.meta = json.loads(meta_path.read_text())
        if self.meta.get("version") != CACHE_VERSION:
            raise CacheMismatch(f"{meta_path}: cache version {self.meta.get('version')} != {CACHE_VERSION}")
        if expected_fingerprint is not None and self.meta["fingerprint"] != expected_fingerprint:
            raise CacheMismatch(f"{meta_path}: built from other data or settings (fingerprint differs)")
        self.shape = tuple(self.meta["shape"])
        data_path = self.path / "crops.u8"
        expected_bytes = int(np.prod(self.shape))
        actual = data_path.stat().st_size if data_path.is_file() else -1
        if actual != expected_bytes:
            raise CacheMismatch(f"{data_path}: {actual} bytes, expected {expected_bytes} for shape {self.shape}")
        self._crops: Optional[np.ndarray] = None

    @property
    def crops(self) -> np.ndarray:
        if self._crops is None:
            if self.shape[0] == 0:
                self._crops = np.zeros(self.shape, dtype=np.uint8)
            else:
                self._crops = np.memmap(self.path / "crops.u8", dtype=np.uint8, mode="r", shape=self.shape)
        return self._crops

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_crops"] = None
        return state

    def __len__(self) -> int:
        return self.shape[0]


def build_cache(table: BoxTable, layout: DatasetLayout, size: Tuple[int, int], path: Union[str, Path],
                progress: bool = True) -> CropCache:
    """Decode every image of ``table`` once and store all its crops at ``path`` (atomically)."""
    path = Path(path)
    created = [p for p in (path, *path.parents) if not p.exists()]  # innermost first
    path.mkdir(parents=True, exist_ok=True)
    shape = (len(table), 3, size[0], size[1])
    log.info("building crop cache %s: %d crops, %.2f GB", path, shape[0], np.prod(shape) / 1e9)
    images = sorted(table.offsets.items(), key=lambda kv: kv[1][0])
    try:
        with atomic_path(path / "crops.u8") as tmp:
            if shape[0]:
                out = np.memmap(tmp, dtype=np.uint8, mode="w+", shape=shape)
                for (scene, view, frame), (start, end) in tqdm(images, desc=f"crop cache {table.split}",
                                                               disable=not progress, unit="img"):
                    out[start:end] = image_crops(table, layout, scene, view, frame, size)
                out.flush()
                del out
    except BaseException:  # a bad image or a full disk: leave no empty cache folder in the dataset
        for folder in created:
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
        raise
    meta = {"version": CACHE_VERSION, "shape": list(shape), "split": table.split, "kind": table.kind,
            "root": str(layout.root), "fingerprint": fingerprint(table, layout, size)}
    with atomic_open(path / "meta.json", "w") as f:
        json.dump(meta, f, indent=1)
    return CropCache(path)


def open_or_build_cache(table: BoxTable, layout: DatasetLayout, size: Tuple[int, int],
                        cache_root: Union[str, Path], rebuild: bool = False, progress: bool = True) -> CropCache:
    """The cache for ``table`` at ``size`` under ``cache_root``: checked, or (re)built if needed."""
    path = cache_dir_for(cache_root, table.split, table.kind, size)
    expected = fingerprint(table, layout, size)
    if not rebuild:
        try:
            return CropCache(path, expected_fingerprint=expected)
        except CacheMismatch as e:
            if (path / "meta.json").exists():
                log.warning("crop cache is stale, rebuilding: %s", e)
    cache = build_cache(table, layout, size, path, progress=progress)
    if cache.meta["fingerprint"] != expected:
        raise CacheMismatch(f"{path}: data changed while the cache was being built")
    return cache


def parse_size(text: str) -> Tuple[int, int]:
    """``"224x224"`` or ``"256x128"`` -> ``(height, width)``."""
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must be HEIGHTxWIDTH, got {text!r}") from None
    return h, w


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Build the crop cache of a dataset split.")
    p.add_argument("--root", required=True, help="dataset root in the MvMHAT layout")
    p.add_argument("--manifest", default=None, help="manifest file (default: ROOT/dataset.yaml)")
    p.add_argument("--split", default="train", help="manifest split (default: train)")
    p.add_argument("--boxes", default="gt", choices=["gt", "det"], help="annotation file")
    p.add_argument("--size", type=parse_size, default=(224, 224), help="crop HEIGHTxWIDTH")
    p.add_argument("--cache-dir", default=None, help="cache root (default: ROOT/.crop_cache)")
    p.add_argument("--rebuild", action="store_true", help="rebuild even if a valid cache exists")
    return p.parse_args(argv)


def main(args: argparse.Namespace) -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    layout = DatasetLayout(args.root, args.manifest)
    table = build_box_table(layout, args.split, args.boxes)
    cache_root = args.cache_dir or Path(args.root) / ".crop_cache"
    cache = open_or_build_cache(table, layout, args.size, cache_root, rebuild=args.rebuild)
    print(f"crop cache ready: {cache.path} ({len(cache)} crops)")


if __name__ == "__main__":
    main(parse_args())
