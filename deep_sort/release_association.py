"""The cross-view association rules of the MvMHAT release (mode ``"release"``).

Per frame, detections of every view pair are matched on the softmaxed cosine similarity of
their features (:func:`~deep_sort.linear_assignment.cross_view_matching`); a detection left
unmatched in its view takes the ID of its partner's track in another view, and every
``renew_interval`` frames every view but the first re-decides its IDs that way.
"""
from __future__ import annotations

from typing import Dict, List, Mapping, Sequence, Set, Tuple

import numpy as np

from deep_sort.association import Assignments, FramePlan, View
from deep_sort.detection import Detection
from deep_sort.linear_assignment import cross_view_matching
from deep_sort.tracker import TemporalMatches, Tracker


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
