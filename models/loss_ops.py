"""Batched building blocks of the MvMHAT losses: scaled masked softmax, cycle hinge, index tables.

Every function works on padded blocks: a block is an (..., N, N) matrix whose valid rows and
columns are given by boolean masks of shape (..., N); padded entries never reach a result
(they are filled before the softmax and excluded from maxima and means).
"""
from __future__ import annotations

import itertools
import math

import torch
from torch import Tensor

_BIG = 1e30  # stands in for -inf in masked maxima and softmaxes (finite: no inf - inf NaNs)
_INDEX_CACHE: dict[tuple[int, str, torch.device], tuple[Tensor, ...]] = {}


class _Gram(torch.autograd.Function):
    """S = X X^T per batch entry, with the one-matmul backward dX = (G + G^T) X (autograd's
    default treats the two factors separately: two matmuls and a sum of D-wide gradients)."""

    @staticmethod
    def forward(ctx, x: Tensor) -> Tensor:  # x: (B, M, D) -> (B, M, M)
        ctx.save_for_backward(x)
        return x @ x.transpose(-1, -2)

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:
        (x,) = ctx.saved_tensors
        return (grad + grad.transpose(-1, -2)) @ x


def gram(x: Tensor) -> Tensor:
    """All inner products between the rows of each batch entry: (B, M, D) -> (B, M, M)."""
    return _Gram.apply(x)


def softmax_scale(n_cols: Tensor, delta: float, epsilon: float) -> Tensor:
    """tau = ln(delta / (1 - delta) * n_cols) / epsilon, elementwise over an integer tensor.

    n_cols is clamped to >= 1 so that blocks of padding images get a finite (unused) scale. The
    tracker's cross-view matching computes the same formula in numpy
    (:func:`deep_sort.linear_assignment.softmax_scale`; ``tests/test_losses.py`` checks that
    they agree).
    """
    n = n_cols.clamp(min=1).to(torch.float64)
    return (math.log(delta / (1.0 - delta)) + torch.log(n)) / epsilon


def masked_softmax(x: Tensor, col_valid: Tensor, tau: Tensor) -> Tensor:
    """Row softmax of x * tau over the valid columns only.

    x: (..., R, C); col_valid: (..., C) bool; tau: (...) one scale per block.
    Returns (..., R, C) with exact zeros in padded columns. Rows whose columns are all padded
    come out uniform (finite, and ignored by the callers). Written out by hand (an additive
    -1e30 bias, exp, row sum) because torch.softmax and masked_fill are several times slower on
    CPU for rows of ~10 entries; the shift by the row max is detached, which is exact.
    """
    bias = (col_valid.to(x.dtype) - 1.0)[..., None, :] * _BIG  # (..., 1, C): 0 or -1e30
    logits = x * tau.to(x.dtype)[..., None, None] + bias
    e = torch.exp(logits - logits.amax(dim=-1, keepdim=True).detach())
    return e / e.sum(dim=-1, keepdim=True)


def _off_diagonal(c: Tensor, valid: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """What both hinges need of square blocks c (..., N, N) with valid (..., N) bool:
    ``v`` (..., N) valid as c's dtype, ``n`` (...) valid count, ``excluded`` (..., N, N) 0 where
    j != i and both are valid, else 1e30 (subtract for a max, add for a min), and ``has_other``
    (..., 1) 1 where the max/min over j != i is not empty (n > 1), else 0."""
    v = valid.to(c.dtype)  # (..., N)
    n = v.sum(-1)  # (...)
    off_diag = 1.0 - torch.eye(c.shape[-1], dtype=c.dtype, device=c.device)
    excluded = (1.0 - v[..., :, None] * v[..., None, :] * off_diag) * _BIG  # (..., N, N): 0 or 1e30
    has_other = (n > 1).to(c.dtype)[..., None]  # (..., 1)
    return v, n, excluded, has_other


def _strict_terms(row_max: Tensor, col_max: Tensor, diag: Tensor, margin: float) -> Tensor:
    """relu(max_{j!=i} C_ij + m - C_ii) + relu(max_{j!=i} C_ji + m - C_ii), per index (..., N)."""
    return torch.relu(row_max + margin - diag) + torch.relu(col_max + margin - diag)


def _index_mean(per_index: Tensor, v: Tensor, n: Tensor) -> Tensor:
    """sum over the valid indices / 2n, per block (...); 0 where no index is valid."""
    return (per_index * v).sum(-1) / (2 * n).clamp(min=1)


def cycle_hinge(c: Tensor, valid: Tensor, margin: float) -> Tensor:
    """The cycle hinge of each square block, (1/2n) sum_i [relu(max_{j!=i} C_ij + m - C_ii)
    + relu(max_{j!=i} C_ji + m - C_ii)] over the n valid indices; an empty max counts as 0.

    c: (..., N, N); valid: (..., N) bool (the same people index rows and columns).
    Returns (...); 0 where a block has no valid index.
    """
    v, n, excluded, has_other = _off_diagonal(c, valid)
    off = c - excluded  # excluded entries pushed to -1e30
    row_max = off.amax(dim=-1) * has_other  # (..., N): max_{j!=i} C_ij, or 0
    col_max = off.amax(dim=-2) * has_other  # (..., N): max_{j!=i} C_ji, or 0
    diag = c.diagonal(dim1=-2, dim2=-1)  # (..., N)
    return _index_mean(_strict_terms(row_max, col_max, diag, margin), v, n)


def journal_hinge(c: Tensor, valid: Tensor, counterpart: Tensor, margin: float,
                  relaxed_margin: float) -> Tensor:
    """The MvMHAT++ cycle hinge: index i with a counterpart (``counterpart[..., i]``) takes the
    cycle hinge's two terms relu(max_{j!=i} C_ij + m - C_ii) + relu(max_{j!=i} C_ji + m - C_ii);
    one without a counterpart takes the relaxed band term (m2 = relaxed_margin)
    1/2 [relu(max_row - C_ii - m2) + relu(C_ii - min_row - m2)] + the same for column i, with
    max_row, min_row the max and min of C_ij over j != i (valid j only). Summed over the n valid
    indices and divided by 2n. With n = 1 the empty max counts as 0 and the terms with the empty
    min count as 0 (the journal code takes that min with 100 on the diagonal, and C_ii <= 1).

    c: (..., N, N); valid, counterpart: (..., N) bool. Returns (...); 0 where no index is valid.
    """
    v, n, excluded, has_other = _off_diagonal(c, valid)
    row_max = (c - excluded).amax(dim=-1) * has_other  # (..., N)
    col_max = (c - excluded).amax(dim=-2) * has_other
    row_min = (c + excluded).amin(dim=-1) * has_other
    col_min = (c + excluded).amin(dim=-2) * has_other
    diag = c.diagonal(dim1=-2, dim2=-1)  # (..., N)
    strict = _strict_terms(row_max, col_max, diag, margin)
    below = (torch.relu(diag - row_min - relaxed_margin) + torch.relu(diag - col_min - relaxed_margin)) * has_other
    relaxed = 0.5 * (torch.relu(row_max - diag - relaxed_margin) + torch.relu(col_max - diag - relaxed_margin) + below)
    return _index_mean(torch.where(counterpart, strict, relaxed), v, n)


def has_counterpart(p: Tensor, threshold: float = 0.5) -> Tensor:
    """Rows of softmaxed blocks p (..., R, C) whose largest entry reaches ``threshold``: (..., R)
    bool (padded columns hold exact zeros and never reach it)."""
    return p.amax(dim=-1) >= threshold


def oriented_cycle(u: Tensor, row_valid: Tensor, col_valid: Tensor, n_rows: Tensor, n_cols: Tensor,
                   delta: float, epsilon: float, margin: float,
                   relaxed_margin: float | None = None) -> Tensor:
    """Hinge on C = sigma(U) sigma(U^T) for blocks U that already have n_rows >= n_cols.

    u: (..., N, N); row_valid, col_valid: (..., N) bool; n_rows, n_cols: (...) integer counts.
    ``relaxed_margin`` None: :func:`cycle_hinge`; a number: :func:`journal_hinge`, row r having
    a counterpart where max_j sigma(U)_rj >= 0.5.
    Returns (...) hinge values of the n_rows x n_rows cycle matrices.
    """
    forward = masked_softmax(u, col_valid, softmax_scale(n_cols, delta, epsilon))
    backward = masked_softmax(u.transpose(-1, -2), row_valid, softmax_scale(n_rows, delta, epsilon))
    if relaxed_margin is None:
        return cycle_hinge(forward @ backward, row_valid, margin)
    return journal_hinge(forward @ backward, row_valid, has_counterpart(forward), margin, relaxed_margin)


def orient(counts: Tensor, ia: Tensor, ib: Tensor) -> tuple[Tensor, Tensor]:
    """Row and column image of U for image pairs (a, b): (a, b) if n_a >= n_b, else (b, a).

    counts: (B, K) people per image; ia, ib: (P,) image indices.
    Returns rows, cols: (B, P) image indices with counts[rows] >= counts[cols].
    """
    a, b = ia.expand(counts.shape[0], -1), ib.expand(counts.shape[0], -1)  # (B, P)
    swap = counts[:, ia] < counts[:, ib]
    return torch.where(swap, b, a), torch.where(swap, a, b)


def pair_index(k: int, device: torch.device) -> tuple[Tensor, Tensor]:
    """All unordered image pairs a < b of K images, as two (P,) long tensors (cached)."""
    key = (k, "pairs", torch.device(device))
    if key not in _INDEX_CACHE:
        rows = list(itertools.combinations(range(k), 2))
        t = torch.tensor(rows, dtype=torch.long).reshape(-1, 2).to(device)
        _INDEX_CACHE[key] = (t[:, 0], t[:, 1])
    return _INDEX_CACHE[key]  # type: ignore[return-value]


def triple_index(k: int, device: torch.device) -> tuple[Tensor, Tensor, Tensor]:
    """All triples a < b, c not in {a, b} of K images, as three (P,) long tensors (cached)."""
    key = (k, "triples", torch.device(device))
    if key not in _INDEX_CACHE:
        rows = [(a, b, c) for a, b in itertools.combinations(range(k), 2)
                for c in range(k) if c not in (a, b)]
        t = torch.tensor(rows, dtype=torch.long).reshape(-1, 3).to(device)
        _INDEX_CACHE[key] = (t[:, 0], t[:, 1], t[:, 2])
    return _INDEX_CACHE[key]  # type: ignore[return-value]


def pooled_mean(values: Tensor, valid: Tensor) -> Tensor:
    """Mean of values over the True entries of valid (same shape); 0 when there are none."""
    total = torch.where(valid, values, values.new_zeros(())).sum()
    return total / valid.sum().clamp(min=1).to(values.dtype)
