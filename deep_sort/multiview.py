"""All camera views of a scene in one ID space: per-view Deep SORT plus cross-view association.

:class:`MultiViewTracker` owns one :class:`~deep_sort.tracker.Tracker` per view and the single
ID counter they share. Each frame it predicts every view's tracks, runs every view's temporal
matching (with first-level proposals where the mode makes some), asks its association mode (any
:class:`~deep_sort.association.Association`) for the final per-view assignments, applies them and
reports confirmed tracks.

``ASSOCIATIONS`` names the modes: ``"release"`` (the rules of the MvMHAT release,
:mod:`deep_sort.release_association`), ``"tracklet"`` (whole tracks linked on accumulated
evidence, :mod:`deep_sort.tracklet_association`), ``"stan"`` (the release's rules with partners
from a trained STAN, MvMHAT++, :mod:`deep_sort.stan_association`) and ``"none"`` (per-view
tracking only);
:func:`make_association` builds one by name.
"""
from __future__ import annotations

import itertools
import time
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from deep_sort.association import Association, NoAssociation, View
from deep_sort.detection import Detection, xyah_to_tlwh
from deep_sort.nn_matching import NearestNeighborDistanceMetric
from deep_sort.release_association import ReleaseAssociation
from deep_sort.stan_association import StanAssociation
from deep_sort.track import TrackState
from deep_sort.tracker import Tracker
from deep_sort.tracklet_association import TrackletAssociation

ASSOCIATIONS = {"release": ReleaseAssociation, "tracklet": TrackletAssociation, "stan": StanAssociation,
                "none": NoAssociation}


def make_association(name: str, **params) -> Association:
    """A new instance of the association mode called ``name``, built with its own ``params``."""
    if name not in ASSOCIATIONS:
        raise KeyError(f"unknown association mode {name!r}; valid: {sorted(ASSOCIATIONS)}")
    return ASSOCIATIONS[name](**params)


class MultiViewTracker:
    """Track people in every view of one scene with one ID per person across views.

    ``views``: the scene's views in order (the first is the release's reference view).
    ``association``: the cross-view association mode, an instance (modes may hold per-scene
    state: one per tracker; :func:`make_association` builds one by name).
    Deep SORT per view: ``max_cosine_distance``, ``nn_budget``, ``max_iou_distance``,
    ``max_age``, ``n_init``, ``reid_after`` and ``reid_margin`` (appearance-only
    re-identification of lost tracks, 0 = off; see :class:`~deep_sort.tracker.Tracker`).
    Output: ``output_box`` ``"kalman"`` (filtered box, the paper's choice) or ``"detection"``
    (the box of the detection that updated the track this frame);
    ``output_max_misses``: a confirmed Kalman-box track is reported while it has missed at most
    this many frames in that view (release: 1; the detection box needs an update this frame).
    ``exact_costs``: every tracker computes all appearance distances (see
    :class:`~deep_sort.tracker.Tracker`; same results, slower).

    ``timings`` accumulates seconds spent in per-view Deep SORT (``"per_view"``) and in the
    association mode (``"cross_view"``).
    """

    OUTPUT_BOXES = ("kalman", "detection")

    def __init__(self, views: Sequence[View], association: Association, *,
                 max_cosine_distance: float = 0.2, nn_budget: Optional[int] = None,
                 max_iou_distance: float = 0.7, max_age: int = 80, n_init: int = 3,
                 output_box: str = "kalman", output_max_misses: int = 1, reid_after: int = 0,
                 reid_margin: float = 0.0, exact_costs: bool = False):
        self.views = list(views)
        if not self.views or len(set(self.views)) != len(self.views):
            raise ValueError(f"views must be non-empty and distinct, got {views!r}")
        if output_box not in self.OUTPUT_BOXES:
            raise ValueError(f"unknown output_box {output_box!r}; valid: {list(self.OUTPUT_BOXES)}")
        if not callable(getattr(association, "associate", None)):
            raise TypeError(f"association must be an Association instance (make_association builds one "
                            f"by name), got {association!r}")
        self.association = association
        self.output_box, self.output_max_misses = output_box, output_max_misses
        self.ids = itertools.count(1)  # the one ID space of the scene
        self.trackers: Dict[View, Tracker] = {
            v: Tracker(NearestNeighborDistanceMetric("cosine", max_cosine_distance, nn_budget),
                       self.ids, max_iou_distance=max_iou_distance, max_age=max_age, n_init=n_init,
                       exact_costs=exact_costs, reid_after=reid_after, reid_margin=reid_margin)
            for v in self.views}
        self.timings = {"per_view": 0.0, "cross_view": 0.0}

    def update(self, frame: int, detections: Mapping[View, Sequence[Detection]]
               ) -> Dict[View, List[Tuple[int, np.ndarray]]]:
        """Process one frame; ``detections`` maps a view to its detections (a missing view has
        none; the association mode may reorder each view's list, see its ``detection_order``).
        Returns per view the reported tracks as ``(track_id, tlwh (4,))``."""
        unknown = [v for v in detections if v not in self.trackers]
        if unknown:
            raise KeyError(f"detections for unknown views {unknown}; views: {self.views}")
        t0 = time.perf_counter()
        dets = {v: list(detections.get(v, ())) for v in self.views}
        order = getattr(self.association, "detection_order", None)  # optional (see Association)
        if order is not None:
            dets = {v: [d[i] for i in order(d)] for v, d in dets.items()}
        for v in self.views:
            self.trackers[v].predict()
        propose = getattr(self.association, "first_level_proposals", None)  # optional (see Association)
        tp = time.perf_counter()
        proposals = propose(frame, self.views, self.trackers, dets) if propose is not None else {}
        tq = time.perf_counter()
        temporal = {v: self.trackers[v].match(dets[v], proposals.get(v)) for v in self.views}
        t1 = time.perf_counter()
        plan = self.association.associate(frame, self.views, self.trackers, dets, temporal)
        t2 = time.perf_counter()
        self._draw_fresh_ids(plan.assignments)
        for v in self.views:
            self.trackers[v].relabel(plan.relabel.get(v, {}))
            self.trackers[v].apply(dets[v], plan.assignments.get(v, []), plan.keep_alive,
                                   plan.dropped.get(v, ()))
        out = {v: self._report(self.trackers[v]) for v in self.views}
        t3 = time.perf_counter()
        self.timings["per_view"] += (tp - t0) + (t1 - tq) + (t3 - t2)
        self.timings["cross_view"] += (tq - tp) + (t2 - t1)
        return out

    def _draw_fresh_ids(self, assignments: Dict[View, List[Tuple[int, int]]]) -> None:
        """Replace the plan's placeholder IDs (negative: see :class:`~deep_sort.association.FramePlan`)
        by the scene's next IDs, in order of first appearance, views in order."""
        fresh: Dict[int, int] = {}
        for v in self.views:
            pairs = assignments.get(v, [])
            if not any(tid < 0 for tid, _ in pairs):
                continue
            for tid, _ in pairs:
                if tid < 0 and tid not in fresh:
                    fresh[tid] = next(self.ids)
            assignments[v] = [(fresh.get(tid, tid), d) for tid, d in pairs]

    def _report(self, tracker: Tracker) -> List[Tuple[int, np.ndarray]]:
        if self.output_box == "detection":
            return [(t.track_id, t.detection.tlwh.copy()) for t in tracker.tracks
                    if t.state is TrackState.CONFIRMED and t.time_since_update == 0]
        shown = [t for t in tracker.tracks
                 if t.state is TrackState.CONFIRMED and t.time_since_update <= self.output_max_misses]
        if not shown:
            return []
        tlwh = xyah_to_tlwh(np.array([t.mean[:4] for t in shown]))  # (K, 4)
        # a coasting track's prediction can shrink through zero: that is no box, so it is not reported
        return [(t.track_id, box) for t, box in zip(shown, tlwh) if box[2] > 0 and box[3] > 0]
