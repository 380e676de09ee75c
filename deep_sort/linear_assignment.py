"""Matching as pure functions: a cost (or similarity) matrix in, matches and leftovers out.

Every function takes the matrix for the candidates at hand, plus optional ``row_ids`` /
``col_ids`` naming its rows and columns (default: ``0..N-1`` / ``0..M-1``), and returns
``(matches, unmatched_rows, unmatched_cols)`` in those names: ``matches`` a list of
``(row_id, col_id)``. Leftover lists keep Deep SORT's order (never-assigned ids in input order,
then assigned-but-rejected ones in row order), which later first-come-first-served rules see.
"""
from __future__ import annotations

from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from scipy.optimize import linear_sum_assignment

from deep_sort.kalman_filter import CHI2_INV_95

INFTY_COST = 1e5  # cost of a pair that must never match
GATING_THRESHOLD = CHI2_INV_95[4]  # Kalman gate on the squared Mahalanobis distance (xyah)

Matches = List[Tuple[int, int]]
MatchResult = Tuple[Matches, List[int], List[int]]
LevelCost = Callable[[List[int], List[int]], np.ndarray]  # (rows, cols) -> cost block


def _ids(ids: Optional[Sequence[int]], n: int) -> List[int]:
    return list(range(n)) if ids is None else list(ids)


def min_cost_matching(cost: np.ndarray, max_cost: float, row_ids: Optional[Sequence[int]] = None,
                      col_ids: Optional[Sequence[int]] = None) -> MatchResult:
    """Minimum-cost assignment on ``cost (N, M)``; pairs costing more than ``max_cost`` are
    not matches (entries above it are first capped at ``max_cost + 1e-5``)."""
    rows, cols = _ids(row_ids, cost.shape[0]), _ids(col_ids, cost.shape[1])
    if len(rows) == 0 or len(cols) == 0:
        return [], rows, cols
    capped = np.where(cost > max_cost, max_cost + 1e-5, cost)
    r, c = linear_sum_assignment(capped)
    ok = capped[r, c] <= max_cost
    row_taken = np.zeros(len(rows), bool)
    row_taken[r] = True
    col_taken = np.zeros(len(cols), bool)
    col_taken[c] = True
    matches = [(rows[i], cols[j]) for i, j in zip(r[ok].tolist(), c[ok].tolist())]
    unmatched_rows = [rows[i] for i in np.flatnonzero(~row_taken).tolist() + r[~ok].tolist()]
    unmatched_cols = [cols[j] for j in np.flatnonzero(~col_taken).tolist() + c[~ok].tolist()]
    return matches, unmatched_rows, unmatched_cols


def matching_cascade(cost: Union[np.ndarray, LevelCost], track_age: Sequence[int], max_cost: float,
                     depth: int, col_ids: Optional[Sequence[int]] = None,
                     first_level: Optional[Callable[[Matches], Matches]] = None) -> MatchResult:
    """Deep SORT's matching cascade (rows: tracks, named by their positions ``0..N-1``).

    Tracks are matched level by level, those with ``track_age (N,)`` (frames since their last
    update) equal to 1 first, then 2, ... up to ``depth``; each level sees only the columns
    earlier levels left over. Tracks older than ``depth`` are never matched. ``cost`` is the
    full matrix ``(N, M)`` or a function ``cost(rows, cols)`` giving the ``(len(rows),
    len(cols))`` block for a level (``cols``: column ids), so costs are only computed for the
    columns still open; ``col_ids`` name the columns (required with a function).

    ``first_level``: replaces the matches of the tracks with age 1 (``(row, col_id)``) by the
    matches it returns for them (e.g. :func:`combine_matches` with matches found elsewhere); the
    next level sees the columns open before, less those it returns, in input order (as MvMHAT++
    does with every fusion type, ``no_use`` included: a set difference, which for a frame's few
    detection indices iterates in ascending order unless CPython's hash table is smaller than the
    largest index; later first-come-first-served rules can see the order). None: Deep SORT's
    cascade (its leftovers: unassigned columns in input order, then assigned ones over the cost).
    """
    if callable(cost):
        if col_ids is None:
            raise ValueError("matching_cascade with a cost function needs col_ids")
        block = cost
    else:
        col_pos = {c: j for j, c in enumerate(_ids(col_ids, cost.shape[1]))}
        block = lambda rows, cols: cost[np.ix_(rows, [col_pos[c] for c in cols])]  # noqa: E731
        col_ids = list(col_pos)
    ages = list(track_age)
    matches: Matches = []
    unmatched_cols = list(col_ids)
    for level in sorted({a for a in ages if 1 <= a <= depth}):
        if not unmatched_cols:
            break
        rows_l = [i for i, a in enumerate(ages) if a == level]
        open_cols = unmatched_cols
        matches_l, _, unmatched_cols = min_cost_matching(block(rows_l, open_cols), max_cost, rows_l, open_cols)
        if level == 1 and first_level is not None:
            matches_l = first_level(matches_l)
            _check_matching(matches_l, rows_l, open_cols)
            taken = {c for _, c in matches_l}
            unmatched_cols = [c for c in open_cols if c not in taken]
        matches += matches_l
    matched = {r for r, _ in matches}
    return matches, [i for i in range(len(ages)) if i not in matched], unmatched_cols


def _check_matching(matches: Matches, rows: Sequence[int], cols: Sequence[int]) -> None:
    r, c = [m[0] for m in matches], [m[1] for m in matches]
    if len(set(r)) != len(r) or len(set(c)) != len(c) or not set(r) <= set(rows) or not set(c) <= set(cols):
        raise ValueError(f"first-level matches {matches} are no matching of rows {list(rows)} to open "
                         f"columns {list(cols)}")


def _disjoint(pairs: Matches, winners: Matches) -> Matches:
    """``pairs`` whose row and column are both unused by ``winners``."""
    rows, cols = {r for r, _ in winners}, {c for _, c in winners}
    return [(r, c) for r, c in pairs if r not in rows and c not in cols]


def _both(pairs: Matches, others: Matches) -> Matches:
    """``pairs`` that are also in ``others``."""
    keep = set(others)
    return [m for m in pairs if m in keep]


# How MvMHAT++ combines the cascade's first-level matches M1 with matches M2 of an assignment
# matrix (its ``inference_time_assign_type``: no_use, -, union_matching_cascade,
# union_assign_matrix, only_assign_matrix); each gives a matching if M1 and M2 are matchings.
COMBINE: Dict[str, Callable[[Matches, Matches], Matches]] = {
    "none": lambda m1, m2: list(m1),
    "intersection": lambda m1, m2: _both(m1, m2),
    "union_cascade": lambda m1, m2: list(m1) + _disjoint(m2, m1),  # the cascade wins conflicts
    "union_assignment": lambda m1, m2: list(m2) + _disjoint(m1, m2),  # the assignment wins conflicts
    "assignment": lambda m1, m2: list(m2),
}


def combine_matches(cascade: Matches, assignment: Matches, mode: str) -> Matches:
    """The matches ``mode`` (a :data:`COMBINE` key) keeps of the cascade's ``cascade`` (M1) and an
    assignment's ``assignment`` (M2), pairs ``(row, col)`` in the same names: ``none`` M1;
    ``intersection`` pairs in both; ``union_cascade`` M1 plus the M2 pairs whose row and column
    M1 leaves free; ``union_assignment`` the same the other way round; ``assignment`` M2."""
    if mode not in COMBINE:
        raise KeyError(f"unknown combination mode {mode!r}; valid: {list(COMBINE)}")
    return COMBINE[mode](list(cascade), list(assignment))


def gate_cost_matrix(cost: np.ndarray, gating_distance: np.ndarray,
                     threshold: float = GATING_THRESHOLD, gated_cost: float = INFTY_COST) -> np.ndarray:
    """A copy of ``cost (N, M)`` with ``gated_cost`` wherever ``gating_distance (N, M)`` (squared
    Mahalanobis distance of the detection under the track's Kalman prediction) exceeds
    ``threshold`` (the 95% chi-square quantile for a 4-d measurement)."""
    return np.where(gating_distance > threshold, gated_cost, cost)


def softmax_scale(n_cols: int, delta: float = 0.5, epsilon: float = 0.5) -> float:
    """MvMHAT's adaptive softmax temperature ``ln(delta / (1 - delta) * n_cols) / epsilon``.

    At ``epsilon = 1`` a row of ``n_cols`` entries, one similarity 1 and the rest 0, has a
    softmax maximum of about ``delta`` whatever ``n_cols``; a smaller ``epsilon`` sharpens it
    (inference uses 0.5, training 0.1). With one column the scale is 0 and the softmax 1.
    The training loss computes the same formula on tensors (:func:`models.loss_ops.softmax_scale`;
    ``tests/test_losses.py`` checks that they agree)."""
    return float(np.log(delta / (1.0 - delta) * n_cols) / epsilon)


def adaptive_softmax(similarity: np.ndarray, delta: float = 0.5, epsilon: float = 0.5) -> np.ndarray:
    """Row softmax of ``similarity (N, M)`` at the adaptive temperature; rows sum to 1."""
    s = np.asarray(similarity, dtype=np.float64)
    if s.size == 0:
        return np.zeros(s.shape)
    z = s * softmax_scale(s.shape[1], delta, epsilon)
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def threshold_matching(score: np.ndarray, threshold: float, row_ids: Optional[Sequence[int]] = None,
                       col_ids: Optional[Sequence[int]] = None) -> MatchResult:
    """Maximum-score assignment on ``score (N, M)`` after entries below ``threshold`` are set to 0;
    assigned pairs on a 0 entry are not matches (MvMHAT's cross-view matching, MvMHAT++'s pseudo
    labels and its assignment decoding). Unlike the cost functions above, the leftovers are in
    input order. Scores are expected >= 0 (softmax or assignment probabilities)."""
    rows, cols = _ids(row_ids, score.shape[0]), _ids(col_ids, score.shape[1])
    if len(rows) == 0 or len(cols) == 0:
        return [], rows, cols
    s = np.asarray(score, dtype=np.float64)
    s = np.where(s < threshold, 0.0, s)
    r, c = linear_sum_assignment(s, maximize=True)
    ok = s[r, c] > 0
    matched_r, matched_c = set(r[ok].tolist()), set(c[ok].tolist())
    matches = [(rows[i], cols[j]) for i, j in zip(r[ok].tolist(), c[ok].tolist())]
    return (matches, [rows[i] for i in range(len(rows)) if i not in matched_r],
            [cols[j] for j in range(len(cols)) if j not in matched_c])


def cross_view_matching(similarity: np.ndarray, delta: float = 0.5, epsilon: float = 0.5,
                        threshold: float = 0.5, row_ids: Optional[Sequence[int]] = None,
                        col_ids: Optional[Sequence[int]] = None) -> MatchResult:
    """MvMHAT's detection-to-detection matching between two views.

    ``similarity (N, M)``: cosine similarity of view A's detections (rows) and view B's
    (columns). Rows go through :func:`adaptive_softmax`, then :func:`threshold_matching`
    (entries below ``threshold`` are no match). The matrix is direction dependent (the softmax
    runs over B's detections).
    """
    return threshold_matching(adaptive_softmax(similarity, delta, epsilon), threshold, row_ids, col_ids)


def unambiguous(cost: np.ndarray, margin: float, rival: Optional[np.ndarray] = None) -> np.ndarray:
    """``cost (N, M)`` with every pair that is not clearly the best set to ``INFTY_COST``.

    A pair ``(i, j)`` stays when its cost plus ``margin`` is at most the cost of every other
    entry of row ``i`` and of column ``j``, and at most ``rival[j]`` (``(M,)``, e.g. column
    ``j``'s cost to candidates known to be someone else; ``inf`` where none). Features that
    cannot tell people apart (costs all alike) keep nothing; ``margin = 0`` keeps the
    row-and-column minima. Entries that are ``inf`` stay ``inf``-like (``INFTY_COST``).
    """
    cost = np.asarray(cost, dtype=np.float64)
    n, m = cost.shape
    if n == 0 or m == 0:
        return cost.copy()

    def runner_up(c: np.ndarray, axis: int) -> np.ndarray:
        """Per entry: the smallest other entry of its row (axis 1) or column (axis 0)."""
        if c.shape[axis] < 2:
            return np.full(c.shape, np.inf)
        two = np.partition(c, 1, axis=axis)
        first, second = np.take(two, [0], axis=axis), np.take(two, [1], axis=axis)
        return np.where(c <= first, second, first)

    other = np.minimum(runner_up(cost, 1), runner_up(cost, 0))
    if rival is not None:
        other = np.minimum(other, np.asarray(rival, dtype=np.float64)[None, :])
    keep = np.isfinite(cost) & (cost + margin <= other)
    return np.where(keep, cost, INFTY_COST)
