"""Box overlap as a matching cost (Deep SORT's second stage)."""
from __future__ import annotations

from typing import Optional

import numpy as np

from deep_sort.linear_assignment import INFTY_COST


def iou_matrix(tlwh_a: np.ndarray, tlwh_b: np.ndarray) -> np.ndarray:
    """Intersection over union of boxes ``tlwh_a (N, 4)`` and ``tlwh_b (M, 4)`` -> ``(N, M)``."""
    a = np.asarray(tlwh_a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(tlwh_b, dtype=np.float64).reshape(-1, 4)
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    tl = np.maximum(a[:, None, :2], b[None, :, :2])  # (N, M, 2)
    br = np.minimum(a[:, None, :2] + a[:, None, 2:], b[None, :, :2] + b[None, :, 2:])
    inter = np.prod(np.maximum(br - tl, 0.0), axis=2)
    union = np.prod(a[:, 2:], axis=1)[:, None] + np.prod(b[:, 2:], axis=1)[None, :] - inter
    return inter / union


def iou_cost(track_tlwh: np.ndarray, detection_tlwh: np.ndarray,
             time_since_update: Optional[np.ndarray] = None) -> np.ndarray:
    """``1 - IoU`` between track boxes ``(N, 4)`` and detection boxes ``(M, 4)`` -> ``(N, M)``.

    Rows of tracks not updated in the previous frame (``time_since_update (N,) > 1``) cost
    ``INFTY_COST``: overlap is only trusted one frame after the last update.
    """
    cost = 1.0 - iou_matrix(track_tlwh, detection_tlwh)
    if time_since_update is not None and cost.size:
        cost[np.asarray(time_since_update) > 1, :] = INFTY_COST
    return cost
