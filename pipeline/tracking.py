"""The multi-view tracker from a ``TrackConfig`` (its association mode built by
:func:`build_association`) and runs of it: :func:`track_rows` over any frames (also
``tools.oracle_eval``'s), :func:`track_scene` over one scene of a box table with precomputed
features."""
from __future__ import annotations

import functools
import time
from pathlib import Path
from typing import Dict, Iterable, Mapping, Optional, Sequence, Tuple

import numpy as np
from tqdm import tqdm

from deep_sort.association import Association, View
from deep_sort.detection import Detection
from deep_sort.multiview import MultiViewTracker, make_association
from errors import ConfigError
from loader.boxes import BoxTable
from models.stan import StanFileError, load_stan


def association_params(track_cfg) -> dict:
    """Keyword arguments of the association mode ``track_cfg.association`` (none for ``"none"``)."""
    t = track_cfg
    if t.stan_temporal != "none" and t.association != "stan":
        raise ConfigError(f"track.stan_temporal={t.stan_temporal} fuses STAN's temporal blocks, so it needs "
                          f"track.association=stan, not {t.association}")
    if t.association == "tracklet":
        return dict(memory=t.tracklet_memory, recent=t.tracklet_recent,
                    link_threshold=t.tracklet_link_threshold, keep_bonus=t.tracklet_keep_bonus,
                    margin=t.tracklet_margin, turn_margin=t.tracklet_turn_margin,
                    revise_interval=t.tracklet_revise_interval)
    if t.association == "release":
        return dict(delta=t.delta, epsilon=t.epsilon, match_threshold=t.match_threshold,
                    renew_interval=t.renew_interval)
    if t.association == "stan":
        if t.stan_weights is None:
            raise StanFileError("track.association=stan needs track.stan_weights: a STAN file (python -m "
                              "tools.pretrain_stan) or a training checkpoint of configs/journal.yaml")
        return dict(stan=_stan(str(Path(t.stan_weights).resolve())), delta=t.delta, epsilon=t.stan_epsilon,
                    threshold=t.stan_threshold, renew_interval=t.renew_interval, temporal=t.stan_temporal)
    return {}


@functools.lru_cache(maxsize=4)
def _stan(path: str):
    """The STAN of a file, read once per process (every scene's tracker shares it; eval mode, no state)."""
    return load_stan(path)[0]


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


def track_rows(tracker: MultiViewTracker, frames: Iterable[Tuple[int, Mapping[View, Sequence[Detection]]]],
               keep: Optional[Tuple[int, int]] = None) -> Tuple[Dict[View, np.ndarray], float]:
    """Feed ``(frame, detections per view)`` pairs to ``tracker`` in order and collect what it
    reports: ``(rows, seconds)``, ``rows[view]`` a MOT array ``(M, 10)`` (frame, id, tlwh, 1, -1,
    -1, -1) in report order, ``seconds`` the time spent in ``tracker.update``. ``keep``: the
    ``(first, last)`` frames whose output is kept (default: every frame's)."""
    out: Dict[View, list] = {v: [] for v in tracker.views}
    seconds = 0.0
    for frame, detections in frames:
        t0 = time.perf_counter()
        tracks = tracker.update(frame, detections)
        seconds += time.perf_counter() - t0
        if keep is None or keep[0] <= frame <= keep[1]:
            for v, boxes in tracks.items():
                out[v].extend([frame, tid, *box, 1, -1, -1, -1] for tid, box in boxes)
    return {v: np.array(r, dtype=np.float64).reshape(-1, 10) for v, r in out.items()}, seconds


def track_scene(table: BoxTable, scene: str, features: np.ndarray, min_confidence: float = 0.0,
                progress: bool = True, **params) -> tuple:
    """Track every frame of ``scene``; ``features (n, D)`` are the scene's boxes in table order.

    Returns ``(rows, stats)``: ``rows[view]`` is a MOT array ``(M, 10)`` (see :func:`track_rows`)
    and ``stats`` holds frame count and timings.
    """
    views = table.views[scene]
    tracker = MultiViewTracker(views, **params)
    first = table.scene_slice(scene).start
    frames = table.frames[scene].tolist()

    def detections():
        for frame in tqdm(frames, desc=f"track scene {scene}", disable=not progress, unit="frame"):
            yield frame, {v: [Detection(table.tlwh[i], table.conf[i], features[i - first])
                              for i in range(*table.rows(scene, v, frame)) if table.conf[i] >= min_confidence]
                          for v in views}

    start = time.perf_counter()
    rows, _ = track_rows(tracker, detections())
    seconds = time.perf_counter() - start
    stats = {"frames": len(frames), "seconds": seconds, "frames_per_s": len(frames) / max(seconds, 1e-9),
             **{f"{k}_s": v for k, v in tracker.timings.items()}}
    return rows, stats
