"""Run the multi-view tracker over one scene of a box table with precomputed features."""
from __future__ import annotations

import time

import numpy as np
from tqdm import tqdm

from deep_sort.association import Association
from deep_sort.detection import Detection
from deep_sort.multiview import MultiViewTracker, make_association
from loader.boxes import BoxTable


def association_params(track_cfg) -> dict:
    """Keyword arguments of the association mode ``track_cfg.association`` (none for ``"none"``)."""
    t = track_cfg
    if t.association == "tracklet":
        return dict(memory=t.tracklet_memory, recent=t.tracklet_recent,
                    link_threshold=t.tracklet_link_threshold, keep_bonus=t.tracklet_keep_bonus,
                    margin=t.tracklet_margin, turn_margin=t.tracklet_turn_margin,
                    revise_interval=t.tracklet_revise_interval)
    if t.association == "release":
        return dict(delta=t.delta, epsilon=t.epsilon, match_threshold=t.match_threshold,
                    renew_interval=t.renew_interval)
    return {}


def build_association(track_cfg) -> Association:
    """A new instance of the association mode a ``TrackConfig`` names, with its parameters
    (an unknown name is a KeyError listing the valid ones)."""
    return make_association(track_cfg.association, **association_params(track_cfg))


def tracker_params(track_cfg) -> dict:
    """``MultiViewTracker`` keyword arguments from a ``TrackConfig``, with a fresh association
    mode instance (modes may hold per-scene state: call this once per tracker). The tracklet
    mode bounds Deep SORT's feature memory with ``tracklet_nn_budget``."""
    t = track_cfg
    budget = t.tracklet_nn_budget if t.association == "tracklet" else t.nn_budget
    return dict(association=build_association(t),
                max_cosine_distance=t.max_cosine_distance,
                nn_budget=budget, max_iou_distance=t.max_iou_distance, max_age=t.max_age,
                n_init=t.n_init, output_box=t.output_box, output_max_misses=t.output_max_misses,
                reid_after=t.reid_after, reid_margin=t.reid_margin)


def track_scene(table: BoxTable, scene: str, features: np.ndarray, min_confidence: float = 0.0,
                progress: bool = True, **params) -> tuple:
    """Track every frame of ``scene``; ``features (n, D)`` are the scene's boxes in table order.

    Returns ``(rows, stats)``: ``rows[view]`` is a MOT array ``(M, 10)`` (frame, id, tlwh, 1, -1,
    -1, -1) and ``stats`` holds frame count and timings.
    """
    views = table.views[scene]
    tracker = MultiViewTracker(views, **params)
    first = table.scene_slice(scene).start
    out = {v: [] for v in views}
    start = time.perf_counter()
    frames = table.frames[scene].tolist()
    for frame in tqdm(frames, desc=f"track scene {scene}", disable=not progress, unit="frame"):
        detections = {}
        for v in views:
            s, e = table.rows(scene, v, frame)
            detections[v] = [Detection(table.tlwh[i], table.conf[i], features[i - first])
                             for i in range(s, e) if table.conf[i] >= min_confidence]
        for v, tracks in tracker.update(frame, detections).items():
            out[v].extend([frame, tid, *box, 1, -1, -1, -1] for tid, box in tracks)
    seconds = time.perf_counter() - start
    rows = {v: np.array(r, dtype=np.float64).reshape(-1, 10) for v, r in out.items()}
    stats = {"frames": len(frames), "seconds": seconds, "frames_per_s": len(frames) / max(seconds, 1e-9),
             **{f"{k}_s": v for k, v in tracker.timings.items()}}
    return rows, stats
