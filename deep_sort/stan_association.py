"""Cross-view association by a trained STAN (MvMHAT++ inference; mode ``"stan"``).

Per frame, each view contributes two "images" to one STAN input: the last feature of each
confirmed track updated in the previous frame (``time_since_update == 1`` after this frame's
prediction; the feature of the detection that updated it, the journal's ``last_feature``), then
the current detections (a view without any gives one all-zero feature in their place, as the
journal code does: it changes STAN's input, not the matches). Features are L2-normalised; every
block (a, b) of the M x M input is the row softmax of the cosine block at the adaptive
temperature with ``epsilon`` (MvMHAT++: 0.1). STAN gives A; A <- (A + A^T) / 2. For every pair of views
(v, u), the detection block A[det_v, det_u] is thresholded (entries below ``threshold`` are no
match) and solved by the Hungarian algorithm: these are the cross-view partners.

IDs follow the conference release's rules (:class:`~deep_sort.release_association.ReleaseAssociation`:
the detection order, the temporal matches kept, a pending detection taking the ID its partner
has in another view, re-matching every ``renew_interval`` frames; MvMHAT++: 10) as the journal's
frame loop applies them (its ``deep_sort/update.py`` and ``Tracker.update``), which differs in
three ways:

* Views are decided one after another, in order. A view looks up its pending detections'
  partners in the *final* assignments of the views before it (temporal matches, IDs they took
  from other views, and tracks they start this frame) and in the temporal matches of the views
  after it. So a person who appears in several views at once gets one ID in all of them in the
  same frame, and IDs chain through views (the conference looks up temporal matches only). New
  tracks are handed over as placeholder IDs (:class:`~deep_sort.association.FramePlan`), drawn
  view by view in detection order.
* No detection is dropped: a cross-view claim discarded because the view's own temporal step
  holds that ID (or a put-back match whose detection was re-assigned) leaves the detection to
  start a new track.
* Only IDs in some view's final assignments are kept alive (not those of put-back matches the
  re-matching discarded).

Optionally (``temporal``, config ``track.stan_temporal``; the journal code's
``inference_time_assign_type``, released default ``no_use`` = ``"none"``) each view's temporal
block A[tracks_v, det_v] also feeds Deep SORT: thresholded and solved by the Hungarian algorithm
like the cross-view blocks, its pairs inside the track's Kalman gate are the "assignment
matches" M2, which :meth:`~deep_sort.tracker.Tracker.match` combines with the "cascade matches"
M1 of its first level (tracks updated in the previous frame): ``intersection``, ``union_cascade``
(M1 wins conflicts), ``union_assignment`` (M2 wins) or ``assignment`` (M2 alone)
(:func:`~deep_sort.linear_assignment.combine_matches`). Later cascade levels and the IoU stage
run on what is left. A is then computed before the views' matching and reused for the partners.
With or without fusion the first level leaves its unmatched detections in detection order, as
the journal's cascade does for every fusion type (an empty ``"none"`` proposal).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import torch

from deep_sort.association import Assignments, FramePlan, View
from deep_sort.detection import Detection
from deep_sort.linear_assignment import COMBINE, adaptive_softmax, threshold_matching
from deep_sort.release_association import ReleaseAssociation, _without_conflicts, claims
from deep_sort.tracker import FirstLevelProposal, TemporalMatches, Tracker


def _unit(rows: List[np.ndarray]) -> np.ndarray:
    x = np.asarray(rows, dtype=np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def stan_input(groups: Sequence[np.ndarray], delta: float, epsilon: float) -> np.ndarray:
    """The M x M STAN input of feature groups (each ``(n_g, D)``, unit rows; empty groups
    allowed): block (a, b) = row softmax of F_a F_b^T at the adaptive temperature."""
    sizes = [len(g) for g in groups]
    m = sum(sizes)
    out = np.zeros((m, m))
    starts = np.cumsum([0] + sizes)
    for a, fa in enumerate(groups):
        for b, fb in enumerate(groups):
            if len(fa) and len(fb):
                out[starts[a]:starts[a + 1], starts[b]:starts[b + 1]] = adaptive_softmax(fa @ fb.T, delta, epsilon)
    return out


class StanAssociation(ReleaseAssociation):
    """The journal's association: cross-view partners from STAN, views in sequence (module docstring).

    ``stan``: a trained :class:`~models.stan.STAN` (``models.stan.load_stan``), run on the CPU in
    eval mode; ``delta``, ``epsilon``: the block softmax; ``threshold``: entries of A below it are
    no match; ``renew_interval``: frames between re-matching rounds (0 = never); ``temporal``: how
    each view's temporal block joins Deep SORT's first cascade level, a key of
    :data:`deep_sort.linear_assignment.COMBINE` (``"none"``: not at all, as released).
    """

    def __init__(self, stan: torch.nn.Module, delta: float = 0.5, epsilon: float = 0.1, threshold: float = 0.5,
                 renew_interval: int = 10, temporal: str = "none"):
        super().__init__(delta=delta, epsilon=epsilon, match_threshold=threshold, renew_interval=renew_interval)
        if temporal not in COMBINE:
            raise KeyError(f"unknown temporal fusion {temporal!r}; valid: {list(COMBINE)}")
        self.stan, self.temporal = stan.eval(), temporal
        self._frame: Optional[Tuple[Mapping, "_FrameA"]] = None  # A computed for the proposals, reused once

    def assignment(self, groups: Sequence[np.ndarray]) -> np.ndarray:
        """Symmetrised A of feature groups (see :func:`stan_input`)."""
        p = stan_input(groups, self.delta, self.epsilon)
        if p.size == 0:
            return p
        with torch.no_grad():
            t = torch.from_numpy(p).float()[None]
            a = self.stan(t, torch.ones(1, len(p), dtype=torch.bool))[0].double().numpy()
        return (a + a.T) / 2

    def frame_assignment(self, views: Sequence[View], trackers: Mapping[View, Tracker],
                         detections: Mapping[View, Sequence[Detection]]) -> "_FrameA":
        """This frame's A over [view 1's tracks, view 1's detections, view 2's tracks, ...]
        (tracks: confirmed, updated in the previous frame, in tracker order; a view without
        detections gives one all-zero feature row in their place, as the journal code does, which
        is in STAN's input but is no detection)."""
        if self._frame is not None and self._frame[0] is detections:
            return self._frame[1]
        groups, tracks, det_row = [], {}, {}
        for v in views:
            ts = [t for t in trackers[v].tracks
                  if t.is_confirmed() and t.time_since_update == 1 and t.detection is not None]
            tracks[v] = (sum(len(g) for g in groups), [t.track_id for t in ts])  # first row, IDs
            groups.append(_unit([t.detection.feature for t in ts]) if ts else np.zeros((0, 0)))
            dets = [d.feature for d in detections[v]]
            det_row[v] = sum(len(g) for g in groups)  # first row of v's detections
            groups.append(_unit(dets) if dets else np.zeros((1, 0)))  # width 0: the zero row, widened below
        dim = max((g.shape[1] for g in groups), default=1)
        groups = [g if g.shape[1] else np.zeros((len(g), dim)) for g in groups]
        return _FrameA(self.assignment(groups), tracks, det_row, {v: len(detections[v]) for v in views})

    def first_level_proposals(self, frame: int, views: Sequence[View], trackers: Mapping[View, Tracker],
                              detections: Mapping[View, Sequence[Detection]]) -> Dict[View, FirstLevelProposal]:
        """Per view, the temporal block's threshold + Hungarian matches for Deep SORT's first
        cascade level (none unless ``temporal`` is set: then an empty proposal, since the journal
        leaves the first level's unmatched detections in detection order whatever it fuses);
        A is kept for this frame's partners."""
        if self.temporal == "none":
            return {v: FirstLevelProposal([], "none") for v in views}
        fa = self.frame_assignment(views, trackers, detections)
        self._frame = (detections, fa)
        out = {}
        for v in views:
            first, ids = fa.tracks[v]
            block = fa.a[first:first + len(ids), fa.det_row[v]:fa.det_row[v] + fa.n_det[v]]
            pairs = threshold_matching(block, self.match_threshold)[0]
            out[v] = FirstLevelProposal([(ids[r], d) for r, d in pairs], self.temporal)
        return out

    def associate(self, frame: int, views: Sequence[View], trackers: Mapping[View, Tracker],
                  detections: Mapping[View, Sequence[Detection]],
                  temporal: Mapping[View, TemporalMatches]) -> FramePlan:
        """The journal's frame loop (module docstring): views decided one after another, each
        looking up its pending detections' partners in the final assignments of the views before
        it and in the temporal matches of the views after it."""
        primary, backup, pending = self.temporal_split(frame, views, temporal)
        partners = self.partner_table(views, trackers, detections)
        lent = {v: {d: tid for tid, d in primary[v]} for v in views}  # detection -> ID other views may take
        fresh = itertools.count(-1, -1)  # placeholders for IDs drawn by the multi-view tracker
        assignments: Dict[View, Assignments] = {}
        for v in views:
            possible = claims(v, views, pending[v], lent, partners)
            final = (primary[v] + _without_conflicts(backup[v], possible)
                     + _without_conflicts(possible, primary[v]))
            used = {d for _, d in final}
            final += [(next(fresh), d) for d in range(len(detections[v])) if d not in used]
            assignments[v] = final
            lent[v] = {d: tid for tid, d in final}
        keep_alive = {tid for v in views for tid, _ in assignments[v] if tid > 0}
        return FramePlan(assignments, keep_alive)

    def partner_table(self, views: Sequence[View], trackers: Mapping[View, Tracker],
                      detections: Mapping[View, Sequence[Detection]]) -> "_StanPartners":
        fa = self.frame_assignment(views, trackers, detections)
        self._frame = None
        partners: Dict[Tuple[View, View], np.ndarray] = {}
        for v in views:
            nv = fa.n_det[v]
            for u in views:
                if u == v:
                    continue
                partner = np.full(nv, -1)
                nu = fa.n_det[u]
                block = fa.a[fa.det_row[v]:fa.det_row[v] + nv, fa.det_row[u]:fa.det_row[u] + nu]
                for i, j in threshold_matching(block, self.match_threshold)[0]:
                    partner[i] = j
                partners[(v, u)] = partner
        return _StanPartners(partners)


@dataclass
class _FrameA:
    """One frame's symmetrised A and where each view sits in it: ``tracks[v]`` = (first row,
    track IDs) of v's track group, ``det_row[v]`` the first row of its ``n_det[v]`` detections."""

    a: np.ndarray
    tracks: Dict[View, Tuple[int, List[int]]]
    det_row: Dict[View, int]
    n_det: Dict[View, int]


class _StanPartners:
    """``get(v, u)[d]``: view u's detection matched to view v's detection d, or -1."""

    def __init__(self, table: Dict[Tuple[View, View], np.ndarray]):
        self.table = table

    def get(self, v: View, u: View) -> np.ndarray:
        return self.table[(v, u)]
