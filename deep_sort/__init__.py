"""Deep SORT per camera view plus MvMHAT's cross-view association into one ID space.

One concern per file: ``detection`` (a box with its appearance feature), ``kalman_filter``
(constant-velocity box filter, batched), ``track`` (one track's lifecycle), ``nn_matching``
(nearest-neighbour appearance distance), ``iou_matching``, ``linear_assignment`` (pure matching
functions), ``tracker`` (one view) and ``multiview`` (all views, one ID space).
"""
from deep_sort.detection import Detection
from deep_sort.multiview import MultiViewTracker
from deep_sort.tracker import Tracker

__all__ = ["Detection", "MultiViewTracker", "Tracker"]
