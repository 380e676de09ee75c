"""STMA, the spatial-temporal matching accuracy of MvMHAT++ (the journal version), per scene.

Definition (as the journal's evaluation code computes it):

1. **Entries.** In each view and frame ``start..end`` (inclusive), results are matched to GT by
   the largest total IoU (``x2 = x + w``, no +1 pixel), where a pair needs IoU above the
   threshold (0.5; IoUs at or below it count as 0). Each matched pair gives an entry
   ``(result id, GT id)``; each *distinct* result id of the frame that no pair took gives
   ``(result id, none)`` and each distinct untaken GT id ``(none, GT id)``. A frame with results
   but no GT gives ``(result id, none)`` per row, and the reverse.
2. **Windows** of L frames, L in :data:`WINDOWS`, start at ``start`` and every ``L // 2`` frames
   while the start is ``<= end``; a window covers ``[w, min(w + L - 1, end)]``.
3. **Per window**, pool the entries of all views and frames. With ``P_ij = [result ids of i
   and j equal, both present]`` and ``G_ij = [GT ids equal, both present]`` over all ordered
   pairs (i, j), diagonal included: ``TP = sum G P``, ``FP = sum (1 - G) P``, ``FN = sum G (1 - P)``,
   precision ``TP / (TP + FP + 1e-7)``, recall ``TP / (TP + FN + 1e-7)``, and
   ``F1 = 2 P R / (P + R + 1e-7)``. A window without entries scores 0.
4. A scene's STMA_L is the mean window F1; overall, the unweighted mean of the scene values.

No N x N matrix is built: ``sum G P`` is the sum over (result id, GT id) of the squared number of
entries with that pair, ``sum P`` the sum over result ids of the squared entry count, ``sum G``
likewise over GT ids (:func:`window_f1`). Ids are compared across views and frames; a missing id
is a flag here, not the value -1, so an id -1 in a file is an ordinary id.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

from loader.mot import FRAME, ID
from metrics.pairs import iou_devkit, same_frame_pairs
from metrics.sequence import as_rows, renumber

WINDOWS = (5, 10, 30)
IOU_THRESHOLD = 0.5  # a match needs IoU > this
EPS = 1e-7
NAMES = tuple(f"STMA{n}" for n in WINDOWS)


def view_entries(gt: np.ndarray, res: np.ndarray, start: int, end: int,
                 iou_threshold: float = IOU_THRESHOLD) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The entries of one view over frames ``start..end``: ``(frame, result id, GT id)`` (E,)
    arrays; ``result id`` / ``GT id`` are float ids with NaN for "none" (rule 1)."""
    gt, res = as_rows(gt), as_rows(res)
    gt = gt[(gt[:, FRAME] >= start) & (gt[:, FRAME] <= end)]
    res = res[(res[:, FRAME] >= start) & (res[:, FRAME] <= end)]
    gt = gt[np.argsort(gt[:, FRAME], kind="stable")]
    res = res[np.argsort(res[:, FRAME], kind="stable")]
    g_frame, r_frame = gt[:, FRAME].astype(np.int64), res[:, FRAME].astype(np.int64)
    pairs = same_frame_pairs(g_frame, r_frame)
    iou = iou_devkit(gt[pairs.ia, 2:6], res[pairs.ib, 2:6])
    valid = np.flatnonzero(iou > iou_threshold)
    # A frame where no box has two possible partners matches exactly its valid pairs; the others
    # need the assignment.
    busy = np.r_[g_frame[np.bincount(pairs.ia[valid], minlength=len(gt)) > 1],
                 r_frame[np.bincount(pairs.ib[valid], minlength=len(res)) > 1]]
    conflict = np.isin(pairs.keys, busy)
    simple = valid[~conflict[np.searchsorted(pairs.keys, g_frame[pairs.ia[valid]])]]
    m_gt, m_res = [pairs.ia[simple]], [pairs.ib[simple]]
    for k in np.flatnonzero(conflict).tolist():
        a0, a1, b0, p0, p1 = (int(pairs.a_start[k]), int(pairs.a_end[k]), int(pairs.b_start[k]),
                              int(pairs.p_start[k]), int(pairs.p_end[k]))
        block = iou[p0:p1].reshape(a1 - a0, -1)
        block = np.where(block > iou_threshold, block, 0.0)
        r, c = linear_sum_assignment(block, maximize=True)
        keep = block[r, c] > 0
        m_gt.append(a0 + r[keep])
        m_res.append(b0 + c[keep])
    m_gt, m_res = np.concatenate(m_gt), np.concatenate(m_res)
    g_id, r_id = gt[:, ID], res[:, ID]

    both = np.intersect1d(g_frame, r_frame)
    g_alone = ~np.isin(g_frame, both)  # frames without results: every GT row is an entry
    r_alone = ~np.isin(r_frame, both)
    untaken_g = _untaken(g_frame, g_id, m_gt, ~g_alone)
    untaken_r = _untaken(r_frame, r_id, m_res, ~r_alone)
    no_pred = np.full(int(g_alone.sum()) + len(untaken_g[0]), np.nan)
    no_gt = np.full(int(r_alone.sum()) + len(untaken_r[0]), np.nan)
    frame = np.r_[g_frame[m_gt], r_frame[r_alone], untaken_r[0], g_frame[g_alone], untaken_g[0]]
    pred = np.r_[r_id[m_res], r_id[r_alone], untaken_r[1], no_pred]
    gt_out = np.r_[g_id[m_gt], no_gt, g_id[g_alone], untaken_g[1]]
    return frame, pred, gt_out


def _untaken(frames: np.ndarray, ids: np.ndarray, taken_rows: np.ndarray, shared: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray]:
    """Distinct ``(frame, id)`` among the rows in ``shared`` frames (a (N,) mask) whose id no
    matched row of that frame has, ordered by frame then id: ``(frames, ids)``."""
    codes, n = renumber(ids)
    key = frames * max(n, 1) + codes
    left = shared & ~np.isin(key, key[taken_rows])
    _, first = np.unique(key[left], return_index=True)
    rows = np.flatnonzero(left)[first]
    return frames[rows], ids[rows]


def _codes(values: np.ndarray) -> np.ndarray:
    """Ids as codes ``0..n-1``; NaN ("none") as -1."""
    out = np.full(len(values), -1, dtype=np.int64)
    present = ~np.isnan(values)
    out[present] = np.unique(values[present], return_inverse=True)[1].reshape(-1)
    return out


def window_f1(window: np.ndarray, pred: np.ndarray, gt: np.ndarray, n_windows: int) -> np.ndarray:
    """F1 of every window from the pooled entries: ``window`` (E,) window index of each entry,
    ``pred``/``gt`` (E,) id codes with -1 for none. Returns (n_windows,)."""
    def squares(mask: np.ndarray, *codes: np.ndarray) -> np.ndarray:
        key = window[mask]
        for c in codes:
            key = key * (int(c.max(initial=0)) + 1) + c[mask]
        _, first, counts = np.unique(key, return_index=True, return_counts=True)
        return np.bincount(window[mask][first], weights=counts.astype(np.float64) ** 2, minlength=n_windows)

    has_p, has_g = pred >= 0, gt >= 0
    tp = squares(has_p & has_g, pred, gt)
    sum_p, sum_g = squares(has_p, pred), squares(has_g, gt)
    precision = tp / (sum_p + EPS)  # sum P = TP + FP
    recall = tp / (sum_g + EPS)  # sum G = TP + FN
    return 2 * precision * recall / (precision + recall + EPS)


def windows_of(frames: np.ndarray, start: int, end: int, length: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Assign entries to windows: ``(entry index, window index, number of windows)``, one pair per
    (entry, window containing its frame)."""
    if length < 2:
        raise ValueError(f"an STMA window needs at least 2 frames, got {length}")
    step = length // 2
    n_windows = (end - start) // step + 1
    rel = frames.astype(np.int64) - start
    hi = np.minimum(rel // step, n_windows - 1)
    lo = np.maximum(0, -((length - 1 - rel) // step))  # ceil((rel - length + 1) / step)
    count = np.maximum(hi - lo + 1, 0)
    entry = np.repeat(np.arange(len(frames)), count)
    offset = np.arange(len(entry)) - np.repeat(np.cumsum(count) - count, count)
    return entry, lo[entry] + offset, n_windows


def stma_scene(gt_views: Sequence[np.ndarray], res_views: Sequence[np.ndarray], start: int, end: int,
               iou_threshold: float = IOU_THRESHOLD, lengths: Sequence[int] = WINDOWS) -> dict:
    """``{"STMA<L>": value}`` of one scene; ``gt_views[v]``/``res_views[v]``: MOT rows (N, >=6)
    of view v; rows outside ``start..end`` are ignored."""
    parts = [view_entries(g, r, start, end, iou_threshold) for g, r in zip(gt_views, res_views)]
    frame = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, dtype=np.int64)
    pred = _codes(np.concatenate([p[1] for p in parts]) if parts else np.zeros(0))
    gt = _codes(np.concatenate([p[2] for p in parts]) if parts else np.zeros(0))
    out = {}
    for length in lengths:
        entry, window, n = windows_of(frame, start, end, length)
        out[f"STMA{length}"] = float(window_f1(window, pred[entry], gt[entry], n).mean())
    return out


def stma_overall(scenes: Sequence[dict]) -> dict:
    """Unweighted mean of the scene values, per window length (NaN without scenes)."""
    names = list(dict.fromkeys(k for s in scenes for k in s)) or list(NAMES)
    return {k: float(np.mean([s[k] for s in scenes])) if scenes else math.nan for k in names}
