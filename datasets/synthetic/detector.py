"""A simulated pedestrian detector: true boxes with jitter, misses, false positives and scores.

Detections are made from the rendered people of one view and frame (all of them, including those
too hidden for the ground truth). Every noise term is multiplied by ``DetectorNoise.level``:
``level = 0`` gives exactly the ground-truth boxes with the score 1, ``level = 2`` a poor detector.
Rows are MOT ``det.txt`` rows ``frame, -1, x, y, w, h, score, -1, -1, -1``: ids are never written.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class DetectorNoise:
    """Noise model of the simulated detector (each rate is scaled by ``level``)."""

    level: float = 1.0  # overall noise scale; 0 = perfect detections of the GT people
    jitter: float = 0.04  # std of box centre and log-size jitter, as a fraction of the box size
    miss: float = 0.03  # miss probability of a fully visible person
    miss_occluded: float = 0.6  # extra miss probability at visibility 0 (grows as (1 - vis)^2)
    false_positives: float = 0.3  # mean number of false positives per frame
    min_height: float = 8.0  # pixels (at most 5% of the image height): smaller people are missed


def simulate_detections(rng: np.random.Generator, frame: int, box: np.ndarray, visibility: np.ndarray,
                        image_size: tuple, min_visibility: float, noise: DetectorNoise) -> np.ndarray:
    """Detections of one view at one frame as MOT rows (K, 10).

    ``box`` (M, 4) tlwh pixels and ``visibility`` (M,) of every person drawn in the image;
    ``min_visibility`` is the GT threshold (people below it are found only by a noisy detector).
    """
    w_img, h_img = image_size
    box = np.asarray(box, float).reshape(-1, 4)
    vis = np.asarray(visibility, float).reshape(-1)
    lv = float(noise.level)
    # draw every random number up front so the stream does not depend on which branch runs
    u_miss = rng.uniform(size=len(box))
    jit = rng.normal(0, 1, size=(len(box), 4))
    score_noise = rng.normal(0, 1, size=len(box))
    n_fp = int(rng.poisson(noise.false_positives * lv)) if lv > 0 else 0

    above = vis >= min_visibility
    p_miss = np.where(above, noise.miss + noise.miss_occluded * (1 - vis) ** 2,
                      1 - 0.3 * vis / max(min_visibility, 1e-6))
    p_miss = np.clip(p_miss * lv, 0, 1) if lv > 0 else np.where(above, 0.0, 1.0)
    if lv > 0:
        p_miss[box[:, 3] < min(noise.min_height, 0.05 * h_img)] = 1.0
    keep = u_miss >= p_miss
    b, j = box[keep], jit[keep] * noise.jitter * lv
    cx = b[:, 0] + b[:, 2] * (0.5 + j[:, 0])
    cy = b[:, 1] + b[:, 3] * (0.5 + j[:, 1])
    bw, bh = b[:, 2] * np.exp(j[:, 2]), b[:, 3] * np.exp(j[:, 3])
    tp = np.stack([cx - bw / 2, cy - bh / 2, bw, bh], 1)
    tp_score = np.clip(0.55 + 0.45 * vis[keep] - 0.1 * lv * np.abs(score_noise[keep]), 0.05, 1.0)
    if lv == 0:
        tp_score = np.ones(len(tp))

    fp = _false_positives(rng, n_fp, box, image_size)
    fp_score = rng.uniform(0.05, 0.55, size=len(fp))
    dets = np.concatenate([tp, fp])
    score = np.concatenate([tp_score, fp_score])
    x0 = np.round(np.clip(dets[:, 0], 0, w_img), 2)
    y0 = np.round(np.clip(dets[:, 1], 0, h_img), 2)
    x1 = np.round(np.clip(dets[:, 0] + dets[:, 2], 0, w_img), 2)
    y1 = np.round(np.clip(dets[:, 1] + dets[:, 3], 0, h_img), 2)
    ok = (x1 > x0) & (y1 > y0)
    rows = np.full((int(ok.sum()), 10), -1.0)
    rows[:, 0] = frame
    rows[:, 2:6] = np.stack([x0, y0, x1 - x0, y1 - y0], 1)[ok]
    rows[:, 6] = np.round(score[ok], 3)
    return rows


def _false_positives(rng: np.random.Generator, n: int, box: np.ndarray, image_size: tuple) -> np.ndarray:
    """``n`` spurious boxes (n, 4) tlwh: half of them fragments of true boxes, the rest in clutter."""
    w_img, h_img = image_size
    out = np.zeros((n, 4))
    for k in range(n):
        if len(box) and rng.uniform() < 0.5:  # a fragment or an oversized box around a person
            b = box[int(rng.integers(len(box)))]
            sw, sh = rng.uniform(0.4, 1.6), rng.uniform(0.4, 1.3)
            cx, cy = b[0] + b[2] * rng.uniform(0.2, 0.8), b[1] + b[3] * rng.uniform(0.2, 0.8)
            out[k] = [cx - sw * b[2] / 2, cy - sh * b[3] / 2, sw * b[2], sh * b[3]]
        else:  # a person-shaped box anywhere, sized like people at that image height
            bh = h_img * rng.uniform(0.08, 0.45)
            bw = bh * rng.uniform(0.3, 0.55)
            out[k] = [rng.uniform(-0.2, 1.0) * w_img, rng.uniform(0.0, 1.0) * h_img - bh, bw, bh]
    return out
