"""The cross-view association rules of the MvMHAT release (mode ``"release"``).

Per frame, detections of every view pair are matched on the softmaxed cosine similarity of
their features (:func:`~deep_sort.linear_assignment.cross_view_matching`); a detection left
unmatched in its view takes the ID of its partner's track in another view, and every
``renew_interval`` frames every view but the first re-decides its IDs that way.

Checked against the released tracker itself (``../shared/reference/released_tracker_oracle.json``:
the release run on oracle detections of all 13 test scenes at sigma 0 and 0.3, ``python -m
tools.oracle_eval --association release --sigmas 0,0.3``): every scene's metrics are equal.
"""
from __future__ import annotations

from typing import Dict, List, Mapping, Sequence, Set, Tuple

import numpy as np

from deep_sort.association import Assignments, FramePlan, View
from deep_sort.detection import Detection
from deep_sort.linear_assignment import cross_view_matching
from deep_sort.tracker import TemporalMatches, Tracker


def release_order(detections: Sequence[Detection]) -> List[int]:
    """The order in which the release hands a view's detections to its tracker: by decreasing
    confidence, equal confidences in reverse input order.

    The released frame loop (``deep_sort/update.py``, ``Update.select_detection``) passes each
    view's detections through Deep SORT's non-maximum suppression with a maximum overlap of 1.0,
    which removes nothing but returns the boxes picked from the end of an ascending sort of the
    scores (one that keeps equal scores in input order, as numpy's sort does for the few boxes
    of a view; the reference runs on all 13 test scenes agree with it). The order decides ties everywhere after it (which of several detections a
    one-column softmax links, Deep SORT's tie-breaks, the order new IDs are drawn in).
    """
    confidence = np.array([d.confidence for d in detections], dtype=np.float64)
    return np.argsort(confidence, kind="stable")[::-1].tolist()


class ReleaseAssociation:
    """The association rules of the MvMHAT release (its ``deep_sort/update.py``,
    ``deep_sort/linear_assignment.py`` ``spatial_association`` and ``deep_sort/tracker.py``
    ``Tracker.update``).

    0. Each view's detections are taken in :func:`release_order` (:meth:`detection_order`).
    1. Detections of two views are matched by :func:`cross_view_matching` on the cosine
       similarity of their features (rows: this view, softmax over the other view). A view
       with one detection gives every row a softmax of 1 (its detection goes to the first
       row); an empty view (the release's zero-feature row) lends nothing, having no tracks
       matched this frame.
    2. A detection left unmatched in view v tries the other views in order; where its partner
       was matched to a track by that view's temporal step (and no other detection of v has
       taken that track this frame), it takes the track's ID. Pending detections are visited
       in reverse Deep SORT order, as released.
    3. Every ``renew_interval`` frames (``frame % renew_interval == 0``; 0 = never) each view but
       the first puts all its detections through step 2; its temporal matches are kept only
       where neither their track nor their detection was re-assigned. On other frames a
       temporal match wins over a cross-view one.
    4. A detection that took a cross-view ID in step 2, or whose temporal match was put back
       in step 3, never starts a new track: where that claim is then discarded (its ID was
       matched temporally in its own view, or the re-assignment took its track), the detection
       is dropped for the frame (``FramePlan.dropped``). In the release, ``spatial_association``
       takes such a detection off the view's unmatched list, and ``Tracker.update`` starts new
       tracks for the rest before it discards conflicting cross-view matches. (Read in a copy
       derived from the release, where that removal is commented out: a detection would then
       also start a track of its own, which the reference runs rule out; see
       ``docs/ASSOCIATION.md``.)
    Only temporal matches are looked up in other views, so IDs do not chain within a frame.
    The detection-pair matching is evaluated lazily, only for views with pending detections.
    """

    def __init__(self, delta: float = 0.5, epsilon: float = 0.5, match_threshold: float = 0.5,
                 renew_interval: int = 30):
        self.delta, self.epsilon, self.match_threshold = delta, epsilon, match_threshold
        self.renew_interval = renew_interval

    def partner_table(self, views: Sequence[View], trackers: Mapping[View, Tracker],
                      detections: Mapping[View, Sequence[Detection]]):
        """This frame's cross-view partners of detections (rule 1): an object whose
        ``get(v, u)[d]`` is view u's detection matched to view v's detection d, or -1."""
        return _PartnerTable(detections, self.delta, self.epsilon, self.match_threshold)

    @staticmethod
    def detection_order(detections: Sequence[Detection]) -> List[int]:
        """Rule 0: the release's order of a view's detections (:func:`release_order`)."""
        return release_order(detections)

    def temporal_split(self, frame: int, views: Sequence[View], temporal: Mapping[View, TemporalMatches]
                       ) -> Tuple[Dict[View, Assignments], Dict[View, Assignments], Dict[View, List[int]]]:
        """Rule 3's split of each view's temporal matches: ``primary`` (kept, and lent to other
        views), ``backup`` (put back at a re-matching frame) and ``pending`` (the detections that
        look for a cross-view ID, in Deep SORT's order; visited in reverse)."""
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
        return primary, backup, pending

    def associate(self, frame: int, views: Sequence[View], trackers: Mapping[View, Tracker],
                  detections: Mapping[View, Sequence[Detection]],
                  temporal: Mapping[View, TemporalMatches]) -> FramePlan:
        primary, backup, pending = self.temporal_split(frame, views, temporal)
        track_of = {v: dict((d, tid) for tid, d in primary[v]) for v in views}
        partners = self.partner_table(views, trackers, detections)

        possible = {v: claims(v, views, pending[v], track_of, partners) for v in views}

        keep_alive = {tid for v in views for tid, _ in primary[v] + backup[v] + possible[v]}
        assignments, dropped = {}, {}
        for v in views:
            claimed = {d for _, d in backup[v] + possible[v]}  # none of these starts a track
            backup[v] = _without_conflicts(backup[v], possible[v])
            possible[v] = _without_conflicts(possible[v], primary[v])
            assignments[v] = primary[v] + backup[v] + possible[v]
            lost = claimed - {d for _, d in assignments[v]}
            if lost:
                dropped[v] = lost
        return FramePlan(assignments, keep_alive, dropped=dropped)


def claims(v: View, views: Sequence[View], pending: Sequence[int], lent: Mapping[View, Mapping[int, int]],
           partners) -> Assignments:
    """Rule 2: the IDs view ``v``'s ``pending`` detections (visited in reverse) take from their
    cross-view partners: for each, the first other view ``u`` (in order) whose partner detection
    holds an ID in ``lent[u]`` (detection -> ID) not yet taken in ``v``; ``partners.get(v, u)[d]``
    is ``u``'s partner of ``v``'s detection ``d``, or -1."""
    taken: Set[int] = set()
    out: Assignments = []
    for d in reversed(pending):
        for u in views:
            if u == v or not lent[u]:
                continue
            tid = lent[u].get(partners.get(v, u)[d])
            if tid is not None and tid not in taken:
                out.append((tid, d))
                taken.add(tid)
                break
    return out


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
