"""Preparing one view sequence the way the MOTChallenge devkit does, and duplicate handling.

Input contract everywhere in ``metrics/``: rows are MOT arrays of shape (N, >=6) with columns
``frame, id, x, y, w, h`` (``tlwh`` in pixels), float64, in file order. Only the first six
columns are used.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from loader.mot import FRAME, ID

COLUMNS = 6  # frame, id, x, y, w, h


@dataclass
class ViewSequence:
    """One view sequence after the devkit's filtering: ``gt`` (N, 6) and ``res`` (M, 6), file order."""

    gt: np.ndarray
    res: np.ndarray


def as_rows(rows: np.ndarray) -> np.ndarray:
    """The first six columns of MOT rows as float64 (N, 6); an empty input gives (0, 6)."""
    rows = np.asarray(rows, dtype=np.float64)
    if rows.size == 0:
        return np.zeros((0, COLUMNS))
    if rows.ndim != 2 or rows.shape[1] < COLUMNS:
        raise ValueError(f"MOT rows must have shape (N, >={COLUMNS}), got {rows.shape}")
    return rows[:, :COLUMNS]


def devkit_sequence(gt: np.ndarray, res: np.ndarray, start: int, end: int) -> ViewSequence:
    """Keep GT rows with ``1 <= frame`` and ``start <= frame <= end`` (inclusive); keep result rows
    in the same range and not after the largest kept GT frame (all of them when there is no GT)."""
    gt, res = as_rows(gt), as_rows(res)
    lo = max(1, start)
    gt = gt[(gt[:, FRAME] >= lo) & (gt[:, FRAME] <= end)]
    last = gt[:, FRAME].max() if len(gt) else end
    res = res[(res[:, FRAME] >= lo) & (res[:, FRAME] <= min(end, last))]
    return ViewSequence(gt=gt, res=res)


def renumber(ids: np.ndarray) -> tuple[np.ndarray, int]:
    """Map ids to ``0..n-1`` in the order of their sorted unique values: ``(new ids (N,), n)``."""
    uniq, inv = np.unique(ids, return_inverse=True)
    return inv.astype(np.int64).reshape(-1), len(uniq)


def duplicated_pairs(rows: np.ndarray) -> list[tuple[int, int, int]]:
    """``(frame, id, copies)`` of every (frame, id) that occurs more than once in ``rows``."""
    rows = as_rows(rows)
    if len(rows) == 0:
        return []
    keys, counts = np.unique(rows[:, [FRAME, ID]], axis=0, return_counts=True)
    return [(int(f), int(i), int(c)) for (f, i), c in zip(keys[counts > 1], counts[counts > 1])]


def keep_last_copy(frames: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Indices of the rows to keep when a duplicated (frame, id) collapses to its last copy,
    ordered by frame, then id. ``frames``, ``ids``: (N,) non-negative ints."""
    n = len(frames)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    key = frames.astype(np.int64) * (int(ids.max()) + 1) + ids
    _, first_in_reversed = np.unique(key[::-1], return_index=True)  # sorted by key = (frame, id)
    return (n - 1 - first_in_reversed).astype(np.int64)


def copy_rank(frames: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """For each row, how many earlier rows (file order) share its (frame, id): 0 for the first copy."""
    n = len(frames)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    key = frames.astype(np.int64) * (int(ids.max()) + 1) + ids
    order = np.argsort(key, kind="stable")
    sk = key[order]
    start = np.r_[True, sk[1:] != sk[:-1]]
    group_start = np.maximum.accumulate(np.where(start, np.arange(n), 0))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n) - group_start
    return rank
