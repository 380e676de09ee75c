"""Deep SORT per camera view plus MvMHAT's cross-view association into one ID space.

One concern per file: ``detection`` (a box with its appearance feature), ``kalman_filter``
(constant-velocity box filter, batched), ``track`` (one track's lifecycle), ``nn_matching``
(nearest-neighbour appearance distance), ``iou_matching``, ``linear_assignment`` (pure matching
functions), ``tracker`` (one view), ``multiview`` (all views, one ID space, and the registry
``ASSOCIATIONS`` of the cross-view association modes). The modes, side by side:
``association`` (the ``Association`` protocol, ``FramePlan`` and the per-view-only mode
``"none"``), ``release_association`` (the ``"release"`` rules of the MvMHAT release) and
``tracklet_association`` (the ``"tracklet"`` mode: whole tracks linked across views on evidence
accumulated over time), whose linking rules are pure functions in ``identity_linking``.
"""
from deep_sort.detection import Detection
from deep_sort.multiview import MultiViewTracker
from deep_sort.tracker import Tracker

__all__ = ["Detection", "MultiViewTracker", "Tracker"]
