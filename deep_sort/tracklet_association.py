"""Cross-view association of whole tracks on appearance evidence accumulated over time.

:class:`TrackletAssociation` (mode ``"tracklet"``) keeps every view's Deep SORT matches and
decides only which tracks of different views are one person, i.e. which ID each track carries.

Evidence: each live track holds two decayed sums of its detections' features, ``S = sum_k
lambda^(n-k) f_k`` with ``lambda = 1 - 1/memory`` (long) and ``1 - 1/recent`` (recent): two
``(D,)`` vectors, whatever the track's age. Evidence is compared by the cosine of the sums; it
stays small while a sum is mostly noise (a young track, weak features) and tends to the
similarity of the people's mean features as the track lives.

Each frame, over the tracks updated this frame (*active* tracks; an *identity* is the set of
active tracks sharing an ID, at most one per view; :mod:`deep_sort.identity_linking`):

1. Per view, in view order: a maximum-score assignment of the view's active tracks to the
   identities seen in other views, scored by the cosine of the track's long sum with the
   identity's pooled sum over those views, plus ``keep_bonus`` for its present identity. A link
   needs ``link_threshold``; a new one must also beat by ``margin`` every rival: the track's
   cosine with identities known to be other people (sharing a view with the candidate), the
   candidate's with the view's other tracks, and the track's with those tracks. A track that
   finds no identity leaves its own (a link the evidence stops supporting is undone). A linked
   track whose recent sum is ``turn_margin`` closer to another identity than to its own (its
   view's tracker swapped people) restarts its long sum from the recent one first.
2. Identities seen in disjoint views merge, best first, under the same tests.
3. Each identity takes the ID its tracks have carried longest (weight: frames updated under the
   present ID, what a change would split in the output); the others draw fresh IDs from
   the scene's ID source, as does any other track of a view (e.g. a lost one) holding an ID that
   an active track of the view now takes.

Every frame step 1 runs for tentative tracks (new ones link before they are reported) and for
tracks found again after a miss; every ``revise_interval`` frames, for all tracks, followed by
step 2. Nothing links below
``link_threshold``, whatever the number of detections: no link is forced. With clear features
IDs agree across views from a track's first reported frame, with weak ones as soon as the
evidence allows. Tracks keep the plain Deep SORT lifecycle (no cross-view keep-alive).
"""
from __future__ import annotations

from typing import Dict, List, Mapping, Optional, Sequence

import numpy as np

from deep_sort.association import FramePlan, View
from deep_sort.detection import Detection
from deep_sort.identity_linking import LinkRules, link_identities, name_identities
from deep_sort.track import Track
from deep_sort.tracker import TemporalMatches, Tracker


class TrackletAssociation:
    """Track-to-track cross-view association on accumulated evidence (see the module docstring).

    ``memory`` / ``recent``: effective number of detections in a track's long / recent evidence.
    ``link_threshold``, ``keep_bonus``, ``margin``, ``turn_margin``: the linking rules
    (:class:`~deep_sort.identity_linking.LinkRules`). ``revise_interval``: frames between
    revisions of every link (tentative tracks are linked every frame).

    One instance serves one :class:`~deep_sort.multiview.MultiViewTracker`: it holds, per live
    track of that tracker, a row of ``sums (slots, 2, D)`` (long and recent evidence) and of
    ``tenure (slots, 2)`` (present ID, frames updated under it); :attr:`evidence` maps tracks to
    their sums. New IDs come from the trackers' shared ID source.
    """

    def __init__(self, memory: float = 200.0, recent: float = 20.0, link_threshold: float = 0.35,
                 keep_bonus: float = 0.15, margin: float = 0.15, turn_margin: float = 0.3,
                 revise_interval: int = 5):
        if not memory >= recent >= 1 or revise_interval < 1:
            raise ValueError(f"need memory >= recent >= 1 and revise_interval >= 1, got {memory}, "
                             f"{recent}, {revise_interval}")
        self.decay = np.array([[1.0 - 1.0 / memory], [1.0 - 1.0 / recent]])  # (2, 1)
        self.rules = LinkRules(link_threshold, keep_bonus, margin, turn_margin)
        self.revise_interval = revise_interval
        self.slot: Dict[Track, int] = {}  # live track -> its row in sums and tenure
        self.free: List[int] = []
        self.sums = np.zeros((0, 2, 0))
        self.tenure = np.zeros((0, 2), dtype=np.int64)
        self._trackers: Optional[Mapping[View, Tracker]] = None

    @property
    def evidence(self) -> Dict[Track, np.ndarray]:
        """Each live track's ``(2, D)`` long and recent evidence sums."""
        return {t: self.sums[s] for t, s in self.slot.items()}

    def associate(self, frame: int, views: Sequence[View], trackers: Mapping[View, Tracker],
                  detections: Mapping[View, Sequence[Detection]],
                  temporal: Mapping[View, TemporalMatches]) -> FramePlan:
        if self._trackers is None:
            self._trackers = trackers
        elif trackers is not self._trackers:
            raise RuntimeError("a TrackletAssociation serves one MultiViewTracker; build one per tracker")
        live = {t for v in views for t in trackers[v].tracks}
        for t in [t for t in self.slot if t not in live]:
            self.free.append(self.slot.pop(t))
        tracks: List[Track] = []
        view_of: List[int] = []
        features = []
        for k, v in enumerate(views):
            if temporal[v].matches:
                by_id = {t.track_id: t for t in trackers[v].tracks}
                tracks += [by_id[tid] for tid, _ in temporal[v].matches]
                features += [detections[v][d].feature for _, d in temporal[v].matches]
                view_of += [k] * len(temporal[v].matches)
        relabel: Dict[View, Dict[int, int]] = {}
        if tracks:
            slots = self._ingest(tracks, np.array(features, dtype=np.float64))
            sums = self.sums[slots]  # (n, 2, D)
            revise = frame % self.revise_interval == 0
            # between revisions only new tracks and tracks found again after a miss are linked
            open_ = np.array([revise or t.is_tentative() or t.time_since_update > 1 for t in tracks])
            ids = [t.track_id for t in tracks]
            group, changed, turned = link_identities(sums[:, 0], sums[:, 1], np.array(view_of), np.array(ids),
                                                     len(views), open_, revise, self.rules)
            for r in turned:  # its view's tracker changed people: start over from recent evidence
                self.sums[slots[r], 0] = self.sums[slots[r], 1]
            if changed:
                final = name_identities(group, ids, self.tenure[slots, 1], trackers[views[0]].ids)
                relabel = _relabel_plan(views, trackers, tracks, view_of, final)
        assignments = {v: [(relabel.get(v, {}).get(t, t), d) for t, d in temporal[v].matches] for v in views}
        return FramePlan(assignments, set(), relabel)

    def _ingest(self, tracks: List[Track], features: np.ndarray) -> np.ndarray:
        """Add this frame's ``features (n, D)`` to the tracks' long and recent sums (a new track
        starts from its first detection) and count their tenure; returns their slots ``(n,)``."""
        slots = np.array([self.slot[t] if t in self.slot else self._allocate(t, features.shape[1])
                          for t in tracks])
        self.sums[slots] = self.decay[None] * self.sums[slots] + features[:, None, :]
        ids = np.array([t.track_id for t in tracks])
        same = self.tenure[slots, 0] == ids
        self.tenure[slots] = np.stack([ids, np.where(same, self.tenure[slots, 1] + 1, 1)], axis=1)
        return slots

    def _allocate(self, track: Track, dim: int) -> int:
        """A slot for a new track, holding its first detection's feature."""
        if not self.free:
            n = len(self.sums)
            grown = np.zeros((max(16, 2 * n), 2, dim))
            if n:
                grown[:n] = self.sums
            self.sums = grown
            self.tenure = np.concatenate([self.tenure, np.zeros((len(grown) - n, 2), dtype=np.int64)])
            self.free = list(range(len(grown) - 1, n - 1, -1))
        s = self.slot[track] = self.free.pop()
        self.sums[s] = track.detection.feature
        self.tenure[s] = (track.track_id, 0)
        return s


def _relabel_plan(views: Sequence[View], trackers: Mapping[View, Tracker], tracks: List[Track],
                  view_of: List[int], final: List[int]) -> Dict[View, Dict[int, int]]:
    """Per view ``{old: new}``: active tracks take their final IDs; any other track of the view
    holding one of those IDs draws a fresh one."""
    plan: Dict[View, Dict[int, int]] = {}
    fresh = trackers[views[0]].ids
    for k, v in enumerate(views):
        mine = [(t, f) for t, kv, f in zip(tracks, view_of, final) if kv == k]
        change = {t.track_id: f for t, f in mine if t.track_id != f}
        if change:
            taken, active = {f for _, f in mine}, {id(t) for t, _ in mine}
            for t in trackers[v].tracks:
                if id(t) not in active and t.track_id in taken:
                    change[t.track_id] = next(fresh)
            plan[v] = change
    return plan
