"""All camera views of a scene in one ID space: per-view Deep SORT plus cross-view association.

:class:`MultiViewTracker` owns one :class:`~deep_sort.tracker.Tracker` per view and the single
ID counter they share. Each frame it runs every view's temporal matching, asks its association
mode for the final per-view assignments, applies them and reports confirmed tracks.

An association mode is any object with ``associate(frame, views, trackers, detections,
temporal) -> FramePlan`` (see :class:`Association`); modes are chosen by name from
``ASSOCIATIONS`` or passed as an instance. ``"release"`` (:class:`ReleaseAssociation`)
reproduces the rules of the MvMHAT release.
"""
from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import (Dict, Hashable, List, Mapping, Optional, Protocol, Sequence, Set, Tuple,
                    Union)

import numpy as np

from deep_sort.detection import Detection, xyah_to_tlwh
from deep_sort.linear_assignment import cross_view_matching
from deep_sort.nn_matching import NearestNeighborDistanceMetric
from deep_sort.track import TrackState
from deep_sort.tracker import TemporalMatches, Tracker

View = Hashable
Assignments = List[Tuple[int, int]]  # (track_id, detection index) in one view


@dataclass
class FramePlan:
    """An association mode's decision for one frame.

    ``assignments[v]``: view v's final ``(track_id, detection index)`` pairs (an ID with no
    track in v starts one there; unassigned detections start fresh IDs). ``keep_alive``: track
    IDs seen anywhere this frame, which no view counts as missed. ``relabel[v]``: ``{old: new}``
    track IDs to change in view v before the assignments are applied (the tracks keep their
    state and stored features; assignments use the new IDs).
    """

    assignments: Dict[View, Assignments]
    keep_alive: Set[int]
    relabel: Dict[View, Dict[int, int]] = field(default_factory=dict)


class Association(Protocol):
    """Decides each view's final assignments from the views' temporal matches.

    ``temporal[v]`` is view v's Deep SORT result for this frame; ``trackers`` may be read, never
    changed (changes go through the returned :class:`FramePlan`). Detection indices refer to
    ``detections[v]``.
    """

    def associate(self, frame: int, views: Sequence[View], trackers: Mapping[View, Tracker],
                  detections: Mapping[View, Sequence[Detection]],
                  temporal: Mapping[View, TemporalMatches]) -> FramePlan: ...


class ReleaseAssociation:
    """The association rules of the MvMHAT release (its ``deep_sort/update.py``).

    1. Detections of two views are matched by :func:`cross_view_matching` on the cosine
       similarity of their features (rows: this view, softmax over the other view).
    2. A detection left unmatched in view v tries the other views in order; where its partner
       was matched to a track by that view's temporal step (and no other detection of v has
       taken that track this frame), it takes the track's ID. Pending detections are visited
       in reverse Deep SORT order, as released.
    3. Every ``renew_interval`` frames (``frame % renew_interval == 0``; 0 = never) each view but
       the first puts all its detections through step 2; its temporal matches are kept only
       where neither their track nor their detection was re-assigned. On other frames a
       temporal match wins over a cross-view one.
    Only temporal matches are looked up in other views, so IDs do not chain within a frame.
    The detection-pair matching is evaluated lazily, only for views with pending detections.
    """

    def __init__(self, delta: float = 0.5, epsilon: float = 0.5, match_threshold: float = 0.5,
                 renew_interval: int = 30):
        self.delta, self.epsilon, self.match_threshold = delta, epsilon, match_threshold
        self.renew_interval = renew_interval

    def associate(self, frame: int, views: Sequence[View], trackers: Mapping[View, Tracker],
                  detections: Mapping[View, Sequence[Detection]],
                  temporal: Mapping[View, TemporalMatches]) -> FramePlan:
        rematch = bool(self.renew_interval) and frame % self.renew_interval == 0
        primary: Dict[View, Assignments] = {}
        backup: Dict[View, Assignments] = {}
        pending: Dict[View, List[int]] = {}
        for k, v in enumerate(views):
            tm = temporal[v]
            if rematch and k > 0:
                primary[v], backup[v] = [], list(tm.matches)
                pending[v] = tm.unmatched_detections + [d for _, d in tm.matches]
            else:
                primary[v], backup[v] = list(tm.matches), []
                pending[v] = list(tm.unmatched_detections)
        track_of = {v: dict((d, tid) for tid, d in primary[v]) for v in views}
        partners = _PartnerTable(detections, self.delta, self.epsilon, self.match_threshold)

        possible: Dict[View, Assignments] = {}
        for v in views:
            taken: Set[int] = set()
            possible[v] = []
            for d in reversed(pending[v]):
                for u in views:
                    if u == v or not track_of[u]:
                        continue
                    tid = track_of[u].get(partners.get(v, u)[d])
                    if tid is not None and tid not in taken:
                        possible[v].append((tid, d))
                        taken.add(tid)
                        break

        keep_alive = {tid for v in views for tid, _ in primary[v] + backup[v] + possible[v]}
        assignments = {}
        for v in views:
            backup[v] = _without_conflicts(backup[v], possible[v])
            possible[v] = _without_conflicts(possible[v], primary[v])
            assignments[v] = primary[v] + backup[v] + possible[v]
        return FramePlan(assignments, keep_alive)


def _without_conflicts(pairs: Assignments, winners: Assignments) -> Assignments:
    """``pairs`` minus those sharing a track ID or a detection with ``winners``."""
    ids, dets = {t for t, _ in winners}, {d for _, d in winners}
    return [(t, d) for t, d in pairs if t not in ids and d not in dets]


class _PartnerTable:
    """Per-frame cache of cross-view partners: ``get(v, u)[d]`` is the index of view u's
    detection matched to view v's detection d, or -1."""

    def __init__(self, detections: Mapping[View, Sequence[Detection]], delta: float,
                 epsilon: float, threshold: float):
        self.detections, self.params = detections, (delta, epsilon, threshold)
        self.features: Dict[View, np.ndarray] = {}
        self.table: Dict[Tuple[View, View], np.ndarray] = {}

    def _features(self, v: View) -> np.ndarray:
        if v not in self.features:
            dets = self.detections[v]
            self.features[v] = (np.array([d.feature for d in dets]) if dets
                                else np.zeros((0, 1), np.float32))  # (N_v, D)
        return self.features[v]

    def get(self, v: View, u: View) -> np.ndarray:
        if (v, u) not in self.table:
            fv, fu = self._features(v), self._features(u)
            partner = np.full(len(fv), -1)
            if len(fv) and len(fu):
                similarity = (fv @ fu.T).astype(np.float64)  # (N_v, N_u) cosine similarity
                matches, _, _ = cross_view_matching(similarity, *self.params)
                for i, j in matches:
                    partner[i] = j
            self.table[(v, u)] = partner
        return self.table[(v, u)]


class NoAssociation:
    """Per-view tracking only: every view keeps its own Deep SORT matches and no ID crosses views
    (the ablation "no cross-view association"; views still draw IDs from one counter)."""

    def __init__(self, **_unused):
        pass

    def associate(self, frame: int, views: Sequence[View], trackers: Mapping[View, Tracker],
                  detections: Mapping[View, Sequence[Detection]],
                  temporal: Mapping[View, TemporalMatches]) -> FramePlan:
        return FramePlan({v: list(temporal[v].matches) for v in views}, set())


ASSOCIATIONS = {"release": ReleaseAssociation, "none": NoAssociation}


def make_association(name: str, **params) -> Association:
    """Build the association mode called ``name`` with its parameters."""
    if name not in ASSOCIATIONS:
        raise KeyError(f"unknown association mode {name!r}; valid: {sorted(ASSOCIATIONS)}")
    return ASSOCIATIONS[name](**params)


class MultiViewTracker:
    """Track people in every view of one scene with one ID per person across views.

    ``views``: the scene's views in order (the first is the release's reference view).
    ``association``: a mode name from ``ASSOCIATIONS`` (built with ``delta``, ``epsilon``,
    ``match_threshold``, ``renew_interval``) or a ready :class:`Association` instance.
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

    def __init__(self, views: Sequence[View], association: Union[str, Association] = "release", *,
                 delta: float = 0.5, epsilon: float = 0.5, match_threshold: float = 0.5,
                 renew_interval: int = 30, max_cosine_distance: float = 0.2,
                 nn_budget: Optional[int] = None, max_iou_distance: float = 0.7,
                 max_age: int = 80, n_init: int = 3, output_box: str = "kalman",
                 output_max_misses: int = 1, reid_after: int = 0, reid_margin: float = 0.0,
                 exact_costs: bool = False):
        self.views = list(views)
        if not self.views or len(set(self.views)) != len(self.views):
            raise ValueError(f"views must be non-empty and distinct, got {views!r}")
        if output_box not in self.OUTPUT_BOXES:
            raise ValueError(f"unknown output_box {output_box!r}; valid: {list(self.OUTPUT_BOXES)}")
        if isinstance(association, str):
            association = make_association(association, delta=delta, epsilon=epsilon,
                                           match_threshold=match_threshold,
                                           renew_interval=renew_interval)
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
        none). Returns per view the reported tracks as ``(track_id, tlwh (4,))``."""
        unknown = [v for v in detections if v not in self.trackers]
        if unknown:
            raise KeyError(f"detections for unknown views {unknown}; views: {self.views}")
        dets = {v: list(detections.get(v, ())) for v in self.views}
        t0 = time.perf_counter()
        temporal = {}
        for v in self.views:
            self.trackers[v].predict()
            temporal[v] = self.trackers[v].match(dets[v])
        t1 = time.perf_counter()
        plan = self.association.associate(frame, self.views, self.trackers, dets, temporal)
        t2 = time.perf_counter()
        for v in self.views:
            self.trackers[v].relabel(plan.relabel.get(v, {}))
            self.trackers[v].apply(dets[v], plan.assignments.get(v, []), plan.keep_alive)
        out = {v: self._report(self.trackers[v]) for v in self.views}
        t3 = time.perf_counter()
        self.timings["per_view"] += (t1 - t0) + (t3 - t2)
        self.timings["cross_view"] += t2 - t1
        return out

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
