"""Multi-view frames per second of the tracker on cached features, and where the time goes.

    python -m bench.tracker_fps [--views 4] [--people 12] [--frames 1000] [--dim 1000]

Builds a synthetic scene before timing: every person walks a smooth path on a ground plane seen
by each view through its own affine camera (paths cross), and each detection carries a cached
L2-normalised feature (a per-person unit vector plus noise of norm ``--noise``, so the cosine
similarity of two detections of one person is about 0.9; ``--dim`` dimensions, 1000 = the
paper's logits embedding). Then it runs :class:`deep_sort.MultiViewTracker` with the released
settings over all frames in one process and reports frames per second, and the time in the
cross-view association relative to the time in per-view Deep SORT (both measured in that run).
Targets on the 2-core reference machine: >= 300 multi-view frames/s, cross-view <= 50%.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from deep_sort import Detection, MultiViewTracker
from deep_sort.release_association import ReleaseAssociation


def make_scene(views: int, people: int, frames: int, dim: int, noise: float, seed: int = 0):
    """Detections per frame: ``scene[f][v]`` is a list of Detection (features cached)."""
    rng = np.random.default_rng(seed)
    # ground-plane paths (metres): a slow drift plus two sinusoids per person, in a 20 x 12 area
    t = np.arange(frames)[:, None] / 25.0  # seconds at 25 fps, (F, 1)
    phase = rng.uniform(0, 2 * np.pi, (4, people))
    freq = rng.uniform(0.05, 0.15, (2, people))
    gx = 10 + 7 * np.sin(2 * np.pi * freq[0] * t + phase[0]) + 1.5 * np.sin(0.9 * t + phase[2])
    gz = 6 + 4 * np.sin(2 * np.pi * freq[1] * t + phase[1]) + 1.0 * np.cos(0.7 * t + phase[3])
    prototypes = rng.standard_normal((people, dim))
    prototypes /= np.linalg.norm(prototypes, axis=1, keepdims=True)
    scene = [dict() for _ in range(frames)]
    for v in range(views):
        angle = 2 * np.pi * v / views
        c, s = np.cos(angle), np.sin(angle)
        u = (c * (gx - 10) - s * (gz - 6))  # (F, P) across the image
        depth = 14 + s * (gx - 10) + c * (gz - 6)  # distance to the camera
        h = 2600.0 / depth  # box height in pixels
        cx, foot = 960 + 90 * u, 300 + 40 * (25 - depth)
        tlwh = np.stack([cx - 0.2 * h, foot - h, 0.4 * h, h], axis=-1)  # (F, P, 4)
        feats = prototypes[None] + noise / np.sqrt(dim) * rng.standard_normal((frames, people, dim))
        feats = (feats / np.linalg.norm(feats, axis=-1, keepdims=True)).astype(np.float32)
        for f in range(frames):
            scene[f][str(v + 1)] = [Detection(tlwh[f, p], 1.0, feats[f, p]) for p in range(people)]
    return scene


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--views", type=int, default=4)
    p.add_argument("--people", type=int, default=12)
    p.add_argument("--frames", type=int, default=1000)
    p.add_argument("--dim", type=int, default=1000, help="feature dimension (paper: 1000)")
    p.add_argument("--noise", type=float, default=0.3, help="norm of the feature noise (before normalising)")
    p.add_argument("--nn-budget", type=int, default=None, help="features kept per track (None: all)")
    return p.parse_args()


def main(args):
    t0 = time.perf_counter()
    scene = make_scene(args.views, args.people, args.frames, args.dim, args.noise)
    print(f"scene: {args.views} views x {args.people} people x {args.frames} frames, "
          f"{args.dim}-d cached features, built in {time.perf_counter() - t0:.1f} s")
    views = [str(v + 1) for v in range(args.views)]
    tracker = MultiViewTracker(views, ReleaseAssociation(), nn_budget=args.nn_budget)
    ids, last = set(), {}
    start, cpu_start = time.perf_counter(), time.process_time()
    for f, detections in enumerate(scene):
        last = tracker.update(f, detections)
        for boxes in last.values():
            ids.update(tid for tid, _ in boxes)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    per_view, cross = tracker.timings["per_view"], tracker.timings["cross_view"]
    final = {tid for boxes in last.values() for tid, _ in boxes}
    print(f"IDs: {len(ids)} reported in all, {len(final)} in the last frame across {args.views} views "
          f"({args.people} people)")
    print(f"time: {wall:.2f} s wall, {cpu:.2f} s CPU; per-view Deep SORT {per_view:.2f} s, "
          f"cross-view association {cross:.2f} s (share below: cross-view / per-view)")
    print(f"tracker: {args.frames / wall:.1f} multi-view frames/s, cross-view {100 * cross / per_view:.0f}%")


if __name__ == "__main__":
    main(parse_args())
