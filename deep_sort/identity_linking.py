"""Linking the active tracks of several views into identities on accumulated evidence.

Functions on arrays, no tracker state: :func:`link_identities` decides which tracks are one
person (steps 1 and 2 of the ``"tracklet"`` association, :mod:`deep_sort.tracklet_association`):
per-view linking (:func:`link_in_view`), then merging (:func:`merge_identities`), on the
:class:`Identities` being formed; :func:`name_identities` decides which ID each identity
carries (step 3). Inputs describe the ``n`` tracks updated this frame: their long and recent
evidence sums ``(n, D)``, their view index ``(n,)`` and their present IDs ``(n,)`` (equal IDs =
one identity, at most one track per view). Evidence is compared by the cosine of the sums.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, List, Optional, Sequence, Tuple

import numpy as np
from scipy.optimize import linear_sum_assignment

from deep_sort.linear_assignment import min_cost_matching


@dataclass(frozen=True)
class LinkRules:
    """``link_threshold``: cosine needed for a link. ``keep_bonus``: added for a track's present
    identity (a link survives down to ``link_threshold - keep_bonus``). ``margin``: how much a
    new link must beat every rival. ``turn_margin``: how much closer a linked track's recent
    evidence must be to another identity than to its own for the track to restart from it."""

    link_threshold: float = 0.35
    keep_bonus: float = 0.15
    margin: float = 0.15
    turn_margin: float = 0.3


class Identities:
    """The active tracks' identities while they are linked (steps 1 and 2).

    ``group (n,)`` numbers each track's identity; ``pooled (G, V, D)`` holds each identity's
    summed long evidence per view and ``count (G, V)`` its tracks per view (at most one); the
    first ``size`` identities are in use, new ones are appended. ``long`` and ``unit`` (its unit
    rows) are the tracks' evidence, restarted for tracks whose view swapped people.
    """

    def __init__(self, long: np.ndarray, ids: np.ndarray, view_of: np.ndarray, n_views: int):
        self.long, self.view_of = long.copy(), view_of
        names, self.group = np.unique(ids, return_inverse=True)
        n, dim = long.shape
        self.pooled = np.zeros((len(names) + n, n_views, dim))  # identity x view -> evidence sum
        self.count = np.zeros((len(names) + n, n_views), dtype=np.int64)
        self.pooled[self.group, view_of] = self.long  # an identity has at most one track per view
        self.count[self.group, view_of] = 1
        self.size = len(names)
        self.unit = unit_rows(self.long)

    def seen(self) -> np.ndarray:
        """``(size, V)``: the views in which each identity in use has a track."""
        return self.count[:self.size] > 0

    def move(self, r: int, g: int) -> None:
        """Track ``r`` joins identity ``g``."""
        self.pooled[self.group[r], self.view_of[r]] -= self.long[r]
        self.count[self.group[r], self.view_of[r]] -= 1
        self.pooled[g, self.view_of[r]] += self.long[r]
        self.count[g, self.view_of[r]] += 1
        self.group[r] = g

    def split_off(self, r: int) -> None:
        """Track ``r`` leaves its identity for a new one."""
        self.move(r, self.size)
        self.size += 1

    def restart(self, r: int, recent: np.ndarray) -> None:
        """Track ``r``'s long evidence starts over from its ``recent (D,)`` evidence."""
        self.pooled[self.group[r], self.view_of[r]] += recent - self.long[r]
        self.long[r], self.unit[r] = recent, unit_rows(recent[None])[0]


def link_identities(long: np.ndarray, recent: np.ndarray, view_of: np.ndarray, ids: np.ndarray,
                    n_views: int, open_: np.ndarray, revise: bool,
                    rules: LinkRules = LinkRules()) -> Tuple[np.ndarray, bool, List[int]]:
    """Identities of the active tracks: ``(group (n,), changed, turned)``.

    Step 1 (:func:`link_in_view`), per view in order, for the ``open_ (n,)`` tracks; step 2
    (:func:`merge_identities`) if ``revise``. ``group`` numbers the identities (tracks with
    equal numbers are one person); ``changed`` tells whether any track changed identity;
    ``turned`` lists the tracks whose long evidence restarted from their ``recent`` evidence.
    """
    if not open_.any():
        return ids, False, []
    identities = Identities(long, ids, view_of, n_views)
    changed, turned = False, []
    for k in sorted(set(view_of[open_].tolist())):
        linked, restarted = link_in_view(identities, k, open_, recent, rules)
        changed, turned = changed or linked, turned + restarted
    if revise and merge_identities(identities, rules):
        changed = True
    return identities.group, changed, turned


def link_in_view(identities: Identities, k: int, open_: np.ndarray, recent: np.ndarray,
                 rules: LinkRules) -> Tuple[bool, List[int]]:
    """Step 1 in view ``k``: ``(changed, turned)``.

    A maximum-score assignment of the view's open tracks to the identities seen in other views
    (not holding a closed track of this view), score = cosine of the track's long sum with the
    identity's pooled sum outside the view, plus ``keep_bonus`` for its present identity; pairs
    below ``link_threshold`` are dropped, a new link must beat its rivals (:func:`rivals`) by
    ``margin``, a track that cannot make a new link keeps its present one if that still reaches
    the threshold, and leaves it otherwise. Before that, a linked track whose ``recent``
    evidence is ``turn_margin`` closer to another identity restarts from its recent evidence
    (listed in ``turned``).
    """
    group, view_of, unit = identities.group, identities.view_of, identities.unit
    in_k = np.flatnonzero(view_of == k)  # the view's active tracks: all different people
    pos = np.flatnonzero(open_[in_k])
    rows = in_k[pos]
    seen = identities.seen()  # (G, V)
    held = np.zeros(identities.size, dtype=bool)
    held[group[in_k[~open_[in_k]]]] = True
    cols = np.flatnonzero((seen.sum(1) > seen[:, k]) & ~held)
    if len(cols) == 0:
        return False, []
    pooled = identities.pooled
    other = unit_rows(pooled[cols].sum(1) - pooled[cols, k])  # (G_k, D) evidence elsewhere
    cos_k = unit[in_k] @ other.T  # (n_k, G_k)
    own = group[rows][:, None] == cols[None, :]  # (R, G_k) present links
    linked = np.flatnonzero(own.any(1))
    turned = []
    if len(linked) and len(cols) > 1:  # has a linked track's recent evidence turned?
        now = unit_rows(recent[rows[linked]]) @ other.T
        lead = np.where(own[linked], -np.inf, now).max(1) - now[own[linked]]
        for i in np.flatnonzero(lead >= rules.turn_margin).tolist():
            r = rows[linked[i]]
            identities.restart(r, recent[r])
            cos_k[pos[linked[i]]] = unit[r] @ other.T
            turned.append(int(r))
    cos = cos_k[pos]
    pairs = best_pairs(cos + rules.keep_bonus * own, rules.link_threshold)
    if any(not own[r, g] for r, g in pairs):
        rival = rivals(cos_k, apart_of(seen[cols]), unit[in_k] @ unit[in_k].T)[pos]
        pairs = [(r, g) for r, g in pairs if own[r, g] or cos[r, g] - rival[r, g] >= rules.margin]
    paired, taken = {r for r, _ in pairs}, {g for _, g in pairs}
    for r in linked.tolist():  # no new link: keep the present one while it holds
        g = int(np.flatnonzero(own[r])[0])
        if r not in paired and g not in taken and cos[r, g] + rules.keep_bonus >= rules.link_threshold:
            pairs.append((r, g))
    changed = False
    for r, g in pairs:
        if group[rows[r]] != cols[g]:
            identities.move(rows[r], cols[g])
            changed = True
    for r in sorted(set(linked.tolist()) - {r for r, _ in pairs}):  # its link is unsupported
        identities.split_off(rows[r])
        changed = True
    return changed, turned


def merge_identities(identities: Identities, rules: LinkRules) -> bool:
    """Step 2: identities seen in disjoint views merge, best first, under the same threshold and
    margin as links; returns whether any merged."""
    changed = False
    while identities.size > 1:
        seen = identities.seen()
        total = unit_rows(identities.pooled[:identities.size].sum(1))
        cos = total @ total.T  # (G, G)
        apart = apart_of(seen)
        ok = ~apart & np.outer(seen.any(1), seen.any(1)) & (cos >= rules.link_threshold)
        np.fill_diagonal(ok, False)
        if ok.any():
            ok &= cos - rivals(cos, apart, cos, apart) >= rules.margin
        if not ok.any():
            break
        g, h = np.unravel_index(np.argmax(np.where(ok, cos, -np.inf)), cos.shape)
        for r in np.flatnonzero(identities.group == h).tolist():
            identities.move(r, g)
        changed = True
    return changed


def name_identities(group: np.ndarray, ids: Sequence[int], tenure: Sequence[float],
                    fresh: Iterator[int]) -> List[int]:
    """Step 3: the final ID of each track. Each identity keeps the ID its tracks carried longest
    (weight: their ``tenure``, e.g. frames under the present ID), by a maximum-weight assignment
    (an ID goes to one identity); the others draw new IDs from ``fresh``."""
    cand, inv = np.unique(group, return_inverse=True)
    names, id_inv = np.unique(np.asarray(ids), return_inverse=True)
    weight = np.zeros((len(cand), len(names)))
    np.add.at(weight, (inv, id_inv), np.asarray(tenure, dtype=np.float64))
    chosen: List[Optional[int]] = [None] * len(cand)
    for g, c in zip(*linear_sum_assignment(weight, maximize=True)):
        if weight[g, c] > 0:
            chosen[g] = int(names[c])
    final = [next(fresh) if c is None else c for c in chosen]
    return [final[g] for g in inv.tolist()]


def best_pairs(score: np.ndarray, threshold: float) -> List[Tuple[int, int]]:
    """Maximum-score assignment on ``score (R, G)`` without pairs below ``threshold``. When the
    rows' best columns are all distinct they are the optimum; otherwise Hungarian."""
    best = score.argmax(1).tolist()
    if len(set(best)) == len(best):
        return [(r, g) for r, g in enumerate(best) if score[r, g] >= threshold]
    matches, _, _ = min_cost_matching(1.0 - score, 1.0 - threshold)
    return matches


def rivals(cos: np.ndarray, apart: np.ndarray, row_cos: np.ndarray,
           others: Optional[np.ndarray] = None) -> np.ndarray:
    """Strongest evidence against each link ``(r, g)`` of ``cos (R, G)``, as ``(R, G)``: the
    cosine of row r with a column known to be another person than g (``apart (G, G)``), of
    column g with a row known to be another person than r (``others (R, R)``; default: every
    other row), and of row r with such a row (``row_cos (R, R)``); -1 where there is none."""
    rival = np.where(apart[None, :, :], cos[:, None, :], -1.0).max(2, initial=-1.0)  # (R, G)
    if others is None:
        others = ~np.eye(len(cos), dtype=bool)
    rival = np.maximum(rival, np.where(others[:, :, None], cos[None, :, :], -1.0).max(1, initial=-1.0))
    return np.maximum(rival, np.where(others, row_cos, -1.0).max(1, initial=-1.0)[:, None])


def apart_of(seen: np.ndarray) -> np.ndarray:
    """``(G, G)``: identities with tracks in a common view (``seen (G, V)``), so different
    people; the diagonal is False."""
    s = seen.astype(np.float64)
    apart = (s @ s.T) > 0
    np.fill_diagonal(apart, False)
    return apart


def unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows of ``x (N, D)`` scaled to unit norm (zero rows stay zero)."""
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
