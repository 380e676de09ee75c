"""What a cross-view association mode is: the :class:`Association` protocol and its result.

:class:`~deep_sort.multiview.MultiViewTracker` runs every view's Deep SORT matching, then asks
its association mode for a :class:`FramePlan`: the final per-view assignments, the IDs kept
alive, and any relabelling of tracks. The modes live side by side: :class:`NoAssociation`
(here: per-view tracking only), the released rules (:mod:`deep_sort.release_association`) and
the tracklet mode (:mod:`deep_sort.tracklet_association`); ``deep_sort.multiview.ASSOCIATIONS``
names them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Hashable, List, Mapping, Protocol, Sequence, Set, Tuple

from deep_sort.detection import Detection
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
    state and stored features; assignments use the new IDs). ``dropped[v]``: unassigned
    detections of view v that start no track either (they are ignored this frame).

    A negative ID in ``assignments`` stands for a fresh ID not drawn yet (a mode that lets a
    later view take the ID of a track an earlier view starts this frame, as MvMHAT++ does): the
    multi-view tracker replaces each distinct one by the scene's next ID in order of first
    appearance (views in order, each view's pairs in order) before applying the plan (so before
    any unassigned detection draws its own).
    """

    assignments: Dict[View, Assignments]
    keep_alive: Set[int]
    relabel: Dict[View, Dict[int, int]] = field(default_factory=dict)
    dropped: Dict[View, Set[int]] = field(default_factory=dict)


class Association(Protocol):
    """Decides each view's final assignments from the views' temporal matches.

    ``temporal[v]`` is view v's Deep SORT result for this frame; ``trackers`` may be read, never
    changed (changes go through the returned :class:`FramePlan`). Detection indices refer to
    ``detections[v]``.

    A mode may also define ``detection_order(detections) -> list of indices``: the order in
    which :class:`~deep_sort.multiview.MultiViewTracker` hands each view's detections to Deep
    SORT and to the mode (default: as given; the release reorders them, see
    :func:`deep_sort.release_association.release_order`).

    A mode may also define ``first_level_proposals(frame, views, trackers, detections) -> {view:
    FirstLevelProposal}``: called after every view's prediction and before its Deep SORT
    matching, it proposes matches for the cascade's first level (see
    :meth:`~deep_sort.tracker.Tracker.match`; the ``stan`` mode's temporal fusion). Default: none.
    """

    def associate(self, frame: int, views: Sequence[View], trackers: Mapping[View, Tracker],
                  detections: Mapping[View, Sequence[Detection]],
                  temporal: Mapping[View, TemporalMatches]) -> FramePlan: ...


class NoAssociation:
    """Per-view tracking only: every view keeps its own Deep SORT matches and no ID crosses views
    (the ablation "no cross-view association"; views still draw IDs from one counter)."""

    def associate(self, frame: int, views: Sequence[View], trackers: Mapping[View, Tracker],
                  detections: Mapping[View, Sequence[Detection]],
                  temporal: Mapping[View, TemporalMatches]) -> FramePlan:
        return FramePlan({v: list(temporal[v].matches) for v in views}, set())
