"""Deep SORT in one camera view: Kalman prediction, appearance cascade, IoU, track lifecycle.

Per frame: :meth:`Tracker.predict`, then either :meth:`Tracker.update` (single view) or
:meth:`Tracker.match` followed by :meth:`Tracker.apply` with assignments decided elsewhere (the
multi-view tracker, which may also hand :meth:`Tracker.match` a :class:`FirstLevelProposal`:
matches found elsewhere for the cascade's first level). Track IDs come from the ``ids`` iterator
passed in, which several trackers may share (one ID space across views).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Container, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from deep_sort import linear_assignment as la
from deep_sort.detection import Detection, tlwh_to_xyah
from deep_sort.iou_matching import iou_cost
from deep_sort.kalman_filter import KalmanFilter
from deep_sort.nn_matching import NearestNeighborDistanceMetric
from deep_sort.track import Track, TrackState


@dataclass
class TemporalMatches:
    """Result of :meth:`Tracker.match`: ``matches`` as ``(track_id, detection index)`` (cascade
    matches by level, then IoU matches), the unmatched track IDs, and the unmatched detection
    indices in Deep SORT's order."""

    matches: List[Tuple[int, int]]
    unmatched_tracks: List[int]
    unmatched_detections: List[int]


@dataclass
class FirstLevelProposal:
    """Matches found outside the cascade for the tracks it matches first (confirmed, updated in
    the previous frame), and how :meth:`Tracker.match` combines them with its own first-level
    matches: ``matches`` as ``(track_id, detection index)``; ``combine`` a key of
    :data:`deep_sort.linear_assignment.COMBINE` (``"none"``: the cascade's own matches; only the
    order of the detections it leaves to later levels changes, see
    :func:`~deep_sort.linear_assignment.matching_cascade`)."""

    matches: List[Tuple[int, int]]
    combine: str = "none"

    def __post_init__(self):
        if self.combine not in la.COMBINE:
            raise KeyError(f"unknown combination mode {self.combine!r}; valid: {list(la.COMBINE)}")


class Tracker:
    """Multi-person tracker for one view.

    ``metric``: appearance memory and distance (its ``matching_threshold`` is the cascade's gate).
    ``ids``: source of new track IDs (e.g. ``itertools.count(1)``), shared by every tracker of
    one ID space. ``max_iou_distance``: IoU-stage gate on ``1 - IoU``. ``max_age``: frames a
    confirmed track survives without updates (also the cascade depth). ``n_init``: hits needed
    to confirm a track. ``reid_after``: confirmed tracks missed for at least this many frames
    that neither stage matched may still take a detection left over, on appearance alone (no
    Kalman gate; the metric's threshold still applies); 0 = off, as in Deep SORT. With it on, a
    track updated by a detection outside its Kalman gate restarts its motion state there. Hand-held
    cameras move every box at once, which breaks the motion gate; this stage re-finds people by
    appearance. ``reid_margin``: such a re-identification must also be unambiguous: its distance
    plus the margin at most that of any other lost track or left-over detection, and of the
    detection to any track matched this frame in the view (someone else for sure); 0 = the
    threshold alone. ``exact_costs``: compute every appearance distance of the cascade instead of only
    those the matching depends on (same matches, slower; for checks).
    """

    def __init__(self, metric: NearestNeighborDistanceMetric, ids: Iterator[int],
                 max_iou_distance: float = 0.7, max_age: int = 80, n_init: int = 3,
                 kf: Optional[KalmanFilter] = None, exact_costs: bool = False, reid_after: int = 0,
                 reid_margin: float = 0.0):
        if reid_after < 0 or reid_margin < 0:
            raise ValueError(f"reid_after and reid_margin must be >= 0, got {reid_after}, {reid_margin}")
        self.metric, self.ids, self.exact_costs, self.reid_after = metric, ids, exact_costs, reid_after
        self.reid_margin = reid_margin
        self.max_iou_distance, self.max_age, self.n_init = max_iou_distance, max_age, n_init
        self.kf = kf if kf is not None else KalmanFilter()
        self.tracks: List[Track] = []

    def find(self, track_id: int) -> Optional[Track]:
        """The live track with ``track_id`` in this view, or None."""
        return next((t for t in self.tracks if t.track_id == track_id), None)

    def relabel(self, mapping: Mapping[int, int]) -> None:
        """Change track IDs ``{old: new}`` at once (swaps allowed); tracks keep their state and
        stored features. Every ``old`` must be a track here; IDs must stay unique."""
        if not mapping:
            return
        by_id = {t.track_id: t for t in self.tracks}
        missing = [old for old in mapping if old not in by_id]
        if missing:
            raise KeyError(f"no tracks with IDs {missing} in this view")
        final = [mapping.get(t.track_id, t.track_id) for t in self.tracks]
        if len(set(final)) != len(final):
            raise ValueError(f"relabelling {dict(mapping)} would give two tracks one ID")
        for old, new in mapping.items():
            by_id[old].track_id = int(new)
        self.metric.relabel(mapping)

    def predict(self) -> None:
        """Advance every track one frame (one batched Kalman prediction)."""
        if not self.tracks:
            return
        mean, cov = self.kf.predict(np.array([t.mean for t in self.tracks]),
                                    np.array([t.covariance for t in self.tracks]))
        for track, m, c in zip(self.tracks, mean, cov):
            track.predicted(m, c)

    def update(self, detections: Sequence[Detection]) -> TemporalMatches:
        """Single-view step: match, then update matched tracks, start new ones, age the rest."""
        result = self.match(detections)
        self.apply(detections, result.matches)
        return result

    # --- matching ----------------------------------------------------------------------------
    def match(self, detections: Sequence[Detection], proposal: Optional[FirstLevelProposal] = None
              ) -> TemporalMatches:
        """Deep SORT's association of this frame's ``detections`` to the tracks; changes nothing.

        Confirmed tracks go through the appearance cascade (cost: nearest-neighbour feature
        distance, gated by the Kalman prediction); the remaining detections are then matched by
        IoU to tentative tracks and to confirmed tracks updated in the previous frame.
        ``proposal``: matches for the cascade's first level found elsewhere (MvMHAT++: STAN's
        temporal block), combined with the cascade's own there; its pairs outside the Kalman gate,
        or whose track is not in that level, are dropped first. None: Deep SORT alone.
        """
        tracks = self.tracks
        tlwh = np.array([d.tlwh for d in detections]).reshape(-1, 4)  # (M, 4)
        confirmed = [i for i, t in enumerate(tracks) if t.state is TrackState.CONFIRMED]
        unconfirmed = [i for i, t in enumerate(tracks) if t.state is not TrackState.CONFIRMED]

        cascade = [i for i in confirmed if tracks[i].time_since_update <= self.max_age]
        matches_a: List[Tuple[int, int]] = []
        unmatched_dets = list(range(len(detections)))
        if cascade and detections:
            features = np.array([d.feature for d in detections])  # (M, D)
            gating = self.kf.gating_distance(np.array([tracks[i].mean for i in cascade]),
                                             np.array([tracks[i].covariance for i in cascade]),
                                             tlwh_to_xyah(tlwh))  # (N, M)
            ids = [tracks[i].track_id for i in cascade]

            def level_cost(rows: List[int], cols: List[int]) -> np.ndarray:
                """Appearance cost of the cascade rows vs the open detections, Kalman-gated."""
                gate = gating[np.ix_(rows, cols)]
                if self.exact_costs:
                    cost = self.metric.distance(features[cols], [ids[r] for r in rows])
                else:
                    cost = self.metric.gated_distance(features[cols], [ids[r] for r in rows],
                                                      gate <= la.GATING_THRESHOLD)
                return la.gate_cost_matrix(cost, gate)

            ages = [tracks[i].time_since_update for i in cascade]
            first_level = None
            if proposal is not None:
                first_level = self._first_level(proposal, ids, ages, gating, len(detections))
            pos_matches, _, unmatched_dets = la.matching_cascade(
                level_cost, ages, self.metric.matching_threshold, self.max_age, unmatched_dets, first_level)
            matches_a = [(cascade[p], d) for p, d in pos_matches]
        matched_a = {i for i, _ in matches_a}
        unmatched_a = [i for i in confirmed if i not in matched_a]

        candidates = unconfirmed + [i for i in unmatched_a if tracks[i].time_since_update == 1]
        unmatched_a = [i for i in unmatched_a if tracks[i].time_since_update != 1]
        matches_b: List[Tuple[int, int]] = []
        unmatched_b: List[int] = candidates
        if candidates and unmatched_dets:
            cost = iou_cost(np.array([tracks[i].to_tlwh() for i in candidates]), tlwh[unmatched_dets],
                            np.array([tracks[i].time_since_update for i in candidates]))
            matches_b, unmatched_b, unmatched_dets = la.min_cost_matching(
                cost, self.max_iou_distance, candidates, unmatched_dets)
        unmatched = unmatched_a + unmatched_b
        matches_c: List[Tuple[int, int]] = []
        lost = [i for i in unmatched
                if self.reid_after and tracks[i].state is TrackState.CONFIRMED
                and tracks[i].time_since_update >= self.reid_after]
        if lost and unmatched_dets:
            features = np.array([detections[d].feature for d in unmatched_dets])
            cost = self.metric.distance(features, [tracks[i].track_id for i in lost])  # (L, M')
            if self.reid_margin > 0:  # only clear cases: rivals are the people matched this frame
                known = [tracks[i].track_id for i, _ in matches_a + matches_b]
                rival = self.metric.distance(features, known).min(axis=0) if known else None
                cost = la.unambiguous(cost, self.reid_margin, rival)
            matches_c, _, unmatched_dets = la.min_cost_matching(
                cost, self.metric.matching_threshold, lost, unmatched_dets)
            found = {i for i, _ in matches_c}
            unmatched = [i for i in unmatched if i not in found]
        return TemporalMatches(
            matches=[(tracks[i].track_id, d) for i, d in matches_a + matches_b + matches_c],
            unmatched_tracks=[tracks[i].track_id for i in sorted(unmatched)],
            unmatched_detections=list(unmatched_dets))

    @staticmethod
    def _first_level(proposal: FirstLevelProposal, ids: List[int], ages: List[int], gating: np.ndarray,
                     n_detections: int):
        """The cascade's first-level hook combining its matches with ``proposal`` (cascade rows:
        track ``ids``, ``ages``; ``gating (N, M)`` their Kalman gating distances)."""
        row = {tid: r for r, tid in enumerate(ids)}
        bad = [d for _, d in proposal.matches if not 0 <= d < n_detections]
        if bad:
            raise IndexError(f"proposed matches name detections {bad}; this frame has {n_detections}")
        assigned = [(row[tid], d) for tid, d in proposal.matches
                    if tid in row and ages[row[tid]] == 1 and gating[row[tid], d] <= la.GATING_THRESHOLD]
        return lambda cascade: la.combine_matches(cascade, assigned, proposal.combine)

    # --- applying a decision -----------------------------------------------------------------
    def apply(self, detections: Sequence[Detection], assignments: Sequence[Tuple[int, int]],
              keep_alive: Container[int] = frozenset(), dropped: Container[int] = frozenset()) -> None:
        """Apply this frame's final ``(track_id, detection index)`` assignments.

        An assigned ID with no track in this view gets a new track under that ID (a person seen
        by another view). Detections left unassigned start tracks with fresh IDs, except those
        in ``dropped`` (ignored this frame). Tracks not updated are marked missed unless their
        ID is in ``keep_alive`` (seen in another view). Finally confirmed tracks hand their new
        features to the metric.
        """
        ids = [tid for tid, _ in assignments]
        dets = [d for _, d in assignments]
        if len(set(ids)) != len(ids) or len(set(dets)) != len(dets):
            raise ValueError(f"assignments repeat a track or a detection: {list(assignments)}")
        by_id: Dict[int, Track] = {t.track_id: t for t in self.tracks}
        existing = len(self.tracks)
        updated: List[Tuple[Track, Detection]] = []
        for tid, d in assignments:
            if tid in by_id:
                updated.append((by_id[tid], detections[d]))
            else:
                self._start(detections[d], tid)
        if updated:
            prior_mean = np.array([t.mean for t, _ in updated])
            prior_cov = np.array([t.covariance for t, _ in updated])
            xyah = tlwh_to_xyah(np.array([det.tlwh for _, det in updated]))
            mean, cov = self.kf.update(prior_mean, prior_cov, xyah)
            if self.reid_after:  # a detection the motion model cannot explain restarts the motion state
                jump = np.diagonal(self.kf.gating_distance(prior_mean, prior_cov, xyah)) > la.GATING_THRESHOLD
                if jump.any():
                    mean[jump], cov[jump] = self.kf.initiate(xyah[jump])
            for (track, det), m, c in zip(updated, mean, cov):
                track.measured(m, c, det)
        taken = set(dets)
        for d, det in enumerate(detections):
            if d not in taken and d not in dropped:
                self._start(det, next(self.ids))
        hit = {id(t) for t, _ in updated}
        for track in self.tracks[:existing]:
            if id(track) not in hit and track.track_id not in keep_alive:
                track.mark_missed()
        self.tracks = [t for t in self.tracks if t.state is not TrackState.DELETED]

        confirmed = [t for t in self.tracks if t.state is TrackState.CONFIRMED]
        self.metric.partial_fit({t.track_id: t.features for t in confirmed},
                                [t.track_id for t in confirmed])
        for track in confirmed:
            track.features = []

    def _start(self, detection: Detection, track_id: int) -> Track:
        mean, cov = self.kf.initiate(detection.to_xyah())
        track = Track(mean, cov, track_id, self.n_init, self.max_age, detection)
        self.tracks.append(track)
        return track
