"""A tiny dataset in the MvMHAT layout with random images and boxes, for the tests and the loader
benchmark (``bench.loader_throughput``)."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from loader.layout import Manifest, SceneSpec, write_manifest
from loader.mot import write_mot


def write_toy_dataset(root, scenes=("1",), views=("1", "2"), frames=range(0, 10), size=(64, 48),
                      people=3, seed=0, train=(0, 6), test=(6, 10), view_names=None,
                      empty=frozenset()) -> Path:
    """Write random images and boxes: ``size = (width, height)``; ``empty`` holds
    ``(scene, view, frame)`` images that get no box. Returns ``root``."""
    root = Path(root)
    rng = np.random.default_rng(seed)
    w, h = size
    specs = {}
    for scene in scenes:
        specs[scene] = SceneSpec(name=scene, dir=scene, splits={"train": train, "test": test})
        for view in views:
            vdir = root / scene / view
            (vdir / "images").mkdir(parents=True, exist_ok=True)
            (vdir / "gt_det").mkdir(parents=True, exist_ok=True)
            gt, det = [], []
            for f in frames:
                base = rng.integers(0, 255, size=(h // 4 + 1, w // 4 + 1, 3), dtype=np.uint8)
                image = cv2.resize(base, (w, h), interpolation=cv2.INTER_NEAREST)
                cv2.imwrite(str(vdir / "images" / f"{f}.jpg"), image)
                if (scene, view, f) in empty:
                    continue
                for pid in range(1, people + 1):
                    bw, bh = rng.uniform(0.15, 0.3) * w, rng.uniform(0.3, 0.6) * h
                    x, y = rng.uniform(-0.1 * w, w - bw), rng.uniform(0, h - bh)
                    gt.append([f, pid, x, y, bw, bh, 1, 1, 1, -1])
                    det.append([f, -1, x + 1, y + 1, bw, bh, 0.9, -1, -1, -1])
            write_mot(vdir / "gt_det" / "gt.txt", np.array(gt).reshape(-1, 10), precision=3)
            write_mot(vdir / "gt_det" / "det.txt", np.array(det).reshape(-1, 10), precision=3)
    write_manifest(root / "dataset.yaml", Manifest(name="toy", scenes=specs))
    return root
