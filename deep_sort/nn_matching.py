"""Appearance distance between tracks and detections: the nearest of a track's stored features.

Features are L2-normalised float32 vectors ``(D,)``. A track's cost for a detection is the
smallest distance between the detection's feature and any feature the track has collected
(optionally only its ``budget`` most recent ones).
"""
from __future__ import annotations

import collections
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import numpy as np


def cosine_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``1 - a b^T`` for unit rows ``a (N, D)``, ``b (M, D)`` -> ``(N, M)`` (0 = same direction)."""
    a, b = np.asarray(a), np.asarray(b)
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    return 1.0 - a @ b.T


def squared_euclidean_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``|a_i - b_j|^2`` for ``a (N, D)``, ``b (M, D)`` -> ``(N, M)``, clipped at 0."""
    a, b = np.asarray(a), np.asarray(b)
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    d = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * (a @ b.T)
    return np.maximum(d, 0.0)


def _touched(rows: int, dim: int) -> np.ndarray:
    """A zeroed float32 array ``(rows, dim)`` whose memory is already mapped (a bulk page
    fault now is much cheaper than one fault per feature written later)."""
    block = np.empty((rows, dim), dtype=np.float32)
    block.fill(0.0)
    return block


class _Samples:
    """One target's stored features, shape ``(size, D)`` in total, held in float32 blocks.

    Without a budget, blocks of 16, 32, ... up to 256 rows are appended (nothing is ever
    copied); with one, a single ring of ``budget`` rows keeps the most recent features (their
    order does not matter for a nearest-neighbour distance). For cheap bounds it also keeps
    ``anchor`` (the first feature ever stored), ``last`` (the most recent one) and, on request,
    :meth:`radius`.
    """

    __slots__ = ("budget", "blocks", "fill", "size", "added", "anchor", "last", "_radius", "_checked")
    MAX_BLOCK = 256

    def __init__(self, dim: int, budget: Optional[int]):
        self.budget = budget
        self.blocks = [_touched(budget if budget else 16, dim)]
        self.fill = 0  # rows written in the last block; with a budget, the next ring row
        self.size = self.added = 0
        self.anchor: Optional[np.ndarray] = None
        self.last: Optional[np.ndarray] = None
        self._radius, self._checked = 0.0, 0  # radius over the first `_checked` features added

    def add(self, features: Sequence[np.ndarray]) -> None:
        """Append features: ``(K, D)`` or a list of K float32 ``(D,)`` vectors."""
        if self.anchor is None:
            self.anchor = features[0].copy()
        for feature in features:
            block = self.blocks[-1]
            if self.budget:
                block[self.fill] = feature
                self.fill = (self.fill + 1) % self.budget
                continue
            if self.fill == len(block):
                block = _touched(min(2 * len(block), self.MAX_BLOCK), block.shape[1])
                self.blocks.append(block)
                self.fill = 0
            block[self.fill] = feature
            self.fill += 1
        self.last = features[-1]
        self.added += len(features)
        self.size = min(self.added, self.budget) if self.budget else self.added

    def arrays(self) -> List[np.ndarray]:
        """The stored features as a list of ``(rows, D)`` arrays."""
        if self.budget:
            return [self.blocks[0][:self.size]]
        return self.blocks[:-1] + [self.blocks[-1][:self.fill]]

    def _recent(self, k: int) -> List[np.ndarray]:
        """The ``k <= size`` most recently added features, as a list of arrays."""
        if self.budget:
            ring, end = self.blocks[0], self.fill
            return [ring[end - k:end]] if k <= end else [r for r in (ring[end - k:], ring[:end]) if len(r)]
        out = []
        for block in reversed(self.arrays()):
            take = min(k, len(block))
            out.append(block[len(block) - take:])
            k -= take
            if k == 0:
                break
        return out

    def radius(self) -> float:
        """An upper bound on the distance of every stored feature from ``anchor``; it reads
        only the features added since the last call."""
        new = min(self.added - self._checked, self.size)
        for rows in self._recent(new) if new > 0 else []:
            far = float(np.sqrt(((rows - self.anchor) ** 2).sum(axis=1).max()))
            self._radius = max(self._radius, far)
        self._checked = self.added
        return self._radius

    @staticmethod
    def radii(samples: List["_Samples"]) -> np.ndarray:
        """``[s.radius() for s in samples]`` as ``(R,)``, batched for the common case of one
        feature added since the last call."""
        fresh = [s for s in samples if s.added - s._checked == 1]
        if fresh:
            last = np.array([s.last for s in fresh])
            far = np.linalg.norm(last - np.array([s.anchor for s in fresh]), axis=1)
            for s, d in zip(fresh, far.tolist()):
                s._radius, s._checked = max(s._radius, d), s.added
        return np.array([s.radius() for s in samples])


class NearestNeighborDistanceMetric:
    """Per-target feature memory and the nearest-neighbour distance to new detections.

    ``metric``: ``"cosine"`` (1 - cosine similarity) or ``"euclidean"`` (squared distance).
    ``matching_threshold``: costs above it are not matches (used by the tracker's cascade).
    ``budget``: features kept per target (``None``: all of them, as the MvMHAT release).
    """

    def __init__(self, metric: str = "cosine", matching_threshold: float = 0.2,
                 budget: Optional[int] = None):
        kernels = {"cosine": self._nearest_cosine, "euclidean": self._nearest_euclidean}
        if metric not in kernels:
            raise KeyError(f"unknown metric {metric!r}; valid: {sorted(kernels)}")
        if budget is not None and budget < 1:
            raise ValueError(f"budget must be None or >= 1, got {budget}")
        self.metric, self._nearest = metric, kernels[metric]
        self.matching_threshold = matching_threshold
        self.budget = budget
        self.samples: Dict[int, _Samples] = {}

    def partial_fit(self, features: Mapping[int, Sequence[np.ndarray]],
                    active_targets: Iterable[int]) -> None:
        """Store new features (``{target: [(D,), ...]}``) and forget every target not in
        ``active_targets``."""
        for target, feats in features.items():
            if len(feats) == 0:
                continue
            samples = self.samples.get(target)
            if samples is None:
                samples = self.samples[target] = _Samples(len(feats[0]), self.budget)
            samples.add(feats)
        active = set(active_targets)
        for target in [t for t in self.samples if t not in active]:
            del self.samples[target]

    def relabel(self, mapping: Mapping[int, int]) -> None:
        """Move stored features from target ``old`` to ``new`` for every ``{old: new}``."""
        moved = {new: self.samples.pop(old) for old, new in mapping.items() if old in self.samples}
        self.samples.update(moved)

    def distance(self, features: np.ndarray, targets: Sequence[int]) -> np.ndarray:
        """Cost matrix ``(N, M)``: target ``targets[i]`` vs detection feature ``features[j]``.

        ``features``: ``(M, D)``. A target without stored features costs ``inf`` to everything.
        """
        features = np.asarray(features, dtype=np.float32).reshape(len(features), -1)
        cost = np.full((len(targets), len(features)), np.inf)
        if len(features) == 0:
            return cost
        for i, target in enumerate(targets):
            samples = self.samples.get(target)
            if samples is not None and samples.size:
                cost[i] = self._nearest(samples.arrays(), features)
        return cost

    def gated_distance(self, features: np.ndarray, targets: Sequence[int],
                       candidates: np.ndarray) -> np.ndarray:
        """Cost matrix ``(N, M)`` for a minimum-cost matching gated at ``matching_threshold``.

        Exact where the matching could depend on the value; elsewhere a stand-in on the right
        side of the threshold, found from cheap bounds, so most tracks' stored features are never
        read (with thousands of features per track that reading dominates the tracker's time):

        - pairs outside ``candidates (N, M)`` (e.g. failed the Kalman gate) cost ``inf``;
        - (cosine) pairs whose similarity bound ``anchor . f + radius`` is below
          ``1 - matching_threshold`` cannot match and cost ``inf``;
        - a pair that is then the only candidate in its row and in its column is matched by any
          minimum-cost assignment iff its cost is within the threshold; where the similarity to
          the track's last feature already proves that, the cost is ``1 - that similarity``.

        Matchings on this matrix equal those on :meth:`distance` gated the same way (up to the
        order in which an assignment solver breaks exact ties).
        """
        features = np.asarray(features, dtype=np.float32).reshape(len(features), -1)
        cost = np.full((len(targets), len(features)), np.inf)
        stored = [self.samples.get(t) for t in targets]
        rows, cols = np.nonzero(candidates)
        pairs = [(i, j) for i, j in zip(rows.tolist(), cols.tolist()) if stored[i] is not None]
        if self.metric == "cosine" and pairs:
            need = 1.0 - self.matching_threshold  # the similarity a match needs
            crowded = _crowded(pairs)
            if crowded:  # drop competing pairs that cannot reach the threshold
                rows_c = sorted({i for i, _ in crowded})
                at = {i: k for k, i in enumerate(rows_c)}
                upper = np.array([stored[i].anchor for i in rows_c]) @ features.T  # (R, M)
                upper += _Samples.radii([stored[i] for i in rows_c])[:, None] + 1e-5
                drop = {(i, j) for i, j in crowded if upper[at[i], j] < need}
                pairs = [p for p in pairs if p not in drop]
                crowded = _crowded(pairs)
            alone = [p for p in pairs if p not in set(crowded)]
            if alone:  # lone pairs: the last stored feature may already prove a match
                lower = _pair_dots([stored[i].last for i, _ in alone], features, alone)
                sure = set()
                for (i, j), sim in zip(alone, lower.tolist()):
                    if sim >= need:
                        cost[i, j] = 1.0 - sim
                        sure.add((i, j))
                pairs = [p for p in pairs if p not in sure]
        by_row: Dict[int, List[int]] = {}
        for i, j in pairs:
            by_row.setdefault(i, []).append(j)
        for i, js in by_row.items():
            cost[i, js] = self._nearest(stored[i].arrays(), features[js])
        return cost

    @staticmethod
    def _nearest_cosine(arrays: List[np.ndarray], features: np.ndarray) -> np.ndarray:
        """Smallest cosine distance ``(M,)`` from any stored row to each of ``features (M, D)``."""
        return 1.0 - np.max([(rows @ features.T).max(axis=0) for rows in arrays], axis=0)

    @staticmethod
    def _nearest_euclidean(arrays: List[np.ndarray], features: np.ndarray) -> np.ndarray:
        """Smallest squared euclidean distance ``(M,)`` from any stored row to each feature."""
        return np.min([squared_euclidean_distance(rows, features).min(axis=0) for rows in arrays],
                      axis=0)


def _crowded(pairs: List[Tuple[int, int]]) -> List[Tuple[int, int]]:
    """The ``(row, col)`` pairs that share their row or their column with another pair."""
    rows = collections.Counter(i for i, _ in pairs)
    cols = collections.Counter(j for _, j in pairs)
    return [(i, j) for i, j in pairs if rows[i] > 1 or cols[j] > 1]


def _pair_dots(vectors: List[np.ndarray], features: np.ndarray,
               pairs: List[Tuple[int, int]]) -> np.ndarray:
    """``vectors[p] . features[col of pairs[p]]`` for every pair, shape ``(P,)``."""
    return np.einsum("pd,pd->p", np.array(vectors), features[[j for _, j in pairs]])

