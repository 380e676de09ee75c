"""Deep SORT per camera view plus MvMHAT's cross-view association into one ID space.

One concern per file: ``detection`` (a box with its appearance feature), ``kalman_filter``
(constant-velocity box filter, batched), ``track`` (one track's lifecycle), ``nn_matching``
(nearest-neighbour appearance distance), ``iou_matching``, ``linear_assignment`` (pure matching
functions), ``tracker`` (one view), ``multiview`` (all views, one ID space; the released association),
``track_association`` (the ``"tracklet"`` mode: whole tracks linked across views on evidence
accumulated over time) and ``identity_linking`` (its linking rules as pure functions).
"""
from deep_sort.detection import Detection
from deep_sort.multiview import ASSOCIATIONS, MultiViewTracker
from deep_sort.track_association import TrackletAssociation
from deep_sort.tracker import Tracker

ASSOCIATIONS["tracklet"] = TrackletAssociation  # registered here: it imports multiview

__all__ = ["Detection", "MultiViewTracker", "Tracker"]
