"""Same-frame box pairs, built at once for a whole sequence, and the two IoU conventions.

Every metric here compares the boxes of one frame with each other. Instead of a Python loop that
slices each frame, :func:`same_frame_pairs` lists every (a-row, b-row) pair that shares a frame
key in one vectorised pass; IoUs are then computed for all pairs in one call, and a frame's block
is a contiguous slice of the pair arrays.

Two IoU conventions are needed to reproduce the official numbers bit for bit, so both keep the
exact floating-point operation order of the code they mirror:

* :func:`iou_devkit` - the MOTChallenge devkit (``x2 = x + w``, no +1), used by CLEAR MOT and IDF1.
* :func:`iou_plus_one` - the ``get_IOU`` of the official cross-view evaluation (``x2 = x + w``,
  width ``x2 - x1 + 1``, 0 when the boxes do not overlap).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class FramePairs:
    """All same-key pairs of two key-sorted row sets.

    ``keys`` (K,) are the sorted distinct keys present in either set. Rows of set a with key
    ``keys[k]`` are ``a_start[k]:a_end[k]`` (likewise b). Pairs of key k are
    ``p_start[k]:p_end[k]`` of ``ia``/``ib`` (P,), ordered by a-row, then b-row, so a key's
    pairs reshape to an ``(na, nb)`` block.
    """

    keys: np.ndarray
    a_start: np.ndarray
    a_end: np.ndarray
    b_start: np.ndarray
    b_end: np.ndarray
    p_start: np.ndarray
    p_end: np.ndarray
    ia: np.ndarray
    ib: np.ndarray

    @property
    def na(self) -> np.ndarray:
        return self.a_end - self.a_start

    @property
    def nb(self) -> np.ndarray:
        return self.b_end - self.b_start


def same_frame_pairs(keys_a: np.ndarray, keys_b: np.ndarray) -> FramePairs:
    """Pairs of rows with equal keys; ``keys_a`` (n,) and ``keys_b`` (m,) must be sorted ascending."""
    keys_a = np.asarray(keys_a, dtype=np.int64)
    keys_b = np.asarray(keys_b, dtype=np.int64)
    keys = np.union1d(keys_a, keys_b)
    a_start, a_end = np.searchsorted(keys_a, keys, "left"), np.searchsorted(keys_a, keys, "right")
    b_start, b_end = np.searchsorted(keys_b, keys, "left"), np.searchsorted(keys_b, keys, "right")
    nb = b_end - b_start
    npairs = (a_end - a_start) * nb
    p_end = np.cumsum(npairs)
    p_start = p_end - npairs
    k = np.repeat(np.arange(len(keys)), npairs)  # key index of every pair
    q = np.arange(int(p_end[-1]) if len(keys) else 0) - p_start[k]  # index inside the key's block
    ia = a_start[k] + q // np.maximum(nb[k], 1)
    ib = b_start[k] + q % np.maximum(nb[k], 1)
    return FramePairs(keys, a_start, a_end, b_start, b_end, p_start, p_end, ia, ib)


def iou_devkit(a_tlwh: np.ndarray, b_tlwh: np.ndarray) -> np.ndarray:
    """Element-wise IoU of (P, 4) ``tlwh`` boxes as the MOTChallenge devkit computes it."""
    l1, t1, w1, h1 = a_tlwh.T
    l2, t2, w2, h2 = b_tlwh.T
    area1 = w1 * h1
    area2 = w2 * h2
    x_overlap = np.maximum(0.0, np.minimum(l1 + w1, l2 + w2) - np.maximum(l1, l2))
    y_overlap = np.maximum(0.0, np.minimum(t1 + h1, t2 + h2) - np.maximum(t1, t2))
    inter = x_overlap * y_overlap
    return inter / (area1 + area2 - inter)


def iou_plus_one(gt_tlwh: np.ndarray, res_tlwh: np.ndarray) -> np.ndarray:
    """Element-wise IoU of (P, 4) ``tlwh`` boxes with the +1 pixel convention of the cross-view code."""
    ax1, ay1, aw, ah = gt_tlwh.T
    bx1, by1, bw, bh = res_tlwh.T
    ax2, ay2 = ax1 + aw, ay1 + ah
    bx2, by2 = bx1 + bw, by1 + bh
    w = np.minimum(ax2, bx2) - np.maximum(ax1, bx1) + 1
    h = np.minimum(ay2, by2) - np.maximum(ay1, by1) + 1
    area_a = (ax2 - ax1 + 1) * (ay2 - ay1 + 1)
    area_b = (bx2 - bx1 + 1) * (by2 - by1 + 1)
    inter = w * h
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = inter / (area_a + area_b - inter)
    return np.where((w < 0) | (h < 0), 0.0, iou)
