"""The three self-supervised MvMHAT losses (Gan et al., "Self-supervised Multi-view Multi-Human
Association and Tracking", ACM MM 2021), batched over samples, image pairs and image triples.

Notation (one sample): K = V x T images; image a holds n_a people with L2-normalised features
F_a (n_a, D); S_ab = F_a F_b^T (n_a, n_b). sigma(M) is the row softmax of M * tau with
tau = ln(delta / (1 - delta) * n_cols) / epsilon, n_cols the number of real columns of M.
The cycle hinge of an n x n matrix C is
(1/2n) sum_i [relu(max_{j!=i} C_ij + m - C_ii) + relu(max_{j!=i} C_ji + m - C_ii)],
an empty max (n = 1) counting as 0.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from models.loss_ops import (cycle_hinge, gram, has_counterpart, journal_hinge, masked_softmax, orient,
                             oriented_cycle, pair_index, pooled_mean, softmax_scale, triple_index)

TRANSITIVE_VARIANTS = ("conference", "journal")
HINGE_VARIANTS = ("conference", "journal")
WEIGHTED_TERMS = ("self", "pairwise", "triplewise")  # each with its weight in the sum
TERMS = ("loss",) + WEIGHTED_TERMS  # what MvMHATLoss returns (the weighted sum first); logged and plotted


class MvMHATLoss(nn.Module):
    """Self-consistency losses of MvMHAT: symmetric (pairwise), transitive (triplewise) and
    self-similarity terms, each a mean over all valid images / pairs / triples of the batch.

    - self: for every real image a, the hinge on sigma(S_aa) (people of one image are different
      people, so the within-image association should be the identity).
    - pairwise (symmetric consistency): for every unordered pair a < b of real images,
      U = S_ab if n_a >= n_b else S_ba, C = sigma(U) sigma(U^T) (each softmax with its own tau),
      hinge on C.
    - triplewise (transitive similarity), for every a < b and c not in {a, b}:
        * "conference" (the released code): T = S_ac S_cb (raw cosine blocks), U = T if
          n_a >= n_b else T^T, C = sigma(U) sigma(U^T), hinge on C;
        * "journal" (MvMHAT++): the loop through softmaxed blocks P_xy = sigma(S_xy) (each with
          the tau of its own column count), started at the image with more people, as the
          MvMHAT++ code orients it: C = P_ac P_cb P_ba (n_a x n_a) if n_a >= n_b, else
          C = P_ba P_ac P_cb (n_b x n_b, the loop b -> a -> c -> b); hinge on C.

    ``hinge`` chooses the hinge of the pairwise and triplewise terms:
        * "conference": the cycle hinge above on every index;
        * "journal" (MvMHAT++): only rows with a counterpart take it, the others a relaxed band
          term with margin ``relaxed_margin`` (:func:`models.loss_ops.journal_hinge`). Pairwise:
          row r of C has a counterpart if max_j sigma(U)_rj >= 0.5; triplewise (loop
          r -> x1 -> x2 -> r, needs ``transitive="journal"``): if both P_r,x1 and P_r,x2 rows
          reach 0.5. The self term always uses the conference hinge.

    Padding images (mask row all False) take part in no term; a term with no valid image / pair /
    triple in the batch is 0. A term whose weight is 0 is not computed and returned as a zero
    tensor. Features are cast to float32 (float64 is kept) and autocast is disabled inside.
    """

    def __init__(self, delta: float = 0.5, epsilon: float = 0.1, margin: float = 0.5,
                 self_weight: float = 1.0, pairwise_weight: float = 1.0,
                 triplewise_weight: float = 1.0, transitive: str = "conference",
                 hinge: str = "conference", relaxed_margin: float = 0.4) -> None:
        super().__init__()
        if transitive not in TRANSITIVE_VARIANTS:
            raise ValueError(f"transitive={transitive!r}; valid: {', '.join(TRANSITIVE_VARIANTS)}")
        if hinge not in HINGE_VARIANTS:
            raise ValueError(f"hinge={hinge!r}; valid: {', '.join(HINGE_VARIANTS)}")
        if hinge == "journal" and transitive != "journal":
            raise ValueError("hinge='journal' is defined on the journal loop of softmaxed blocks: "
                             "it needs transitive='journal'")
        if not 0.0 < delta < 1.0 or epsilon <= 0.0:
            raise ValueError(f"need 0 < delta < 1 and epsilon > 0, got {delta}, {epsilon}")
        self.delta, self.epsilon, self.margin = delta, epsilon, margin
        self.weights = dict(zip(WEIGHTED_TERMS, (self_weight, pairwise_weight, triplewise_weight)))
        self.transitive = transitive
        self.hinge = hinge
        self.relaxed_margin = relaxed_margin if hinge == "journal" else None
        self.terms = TERMS

    def forward(self, features: Tensor, mask: Tensor) -> dict[str, Tensor]:
        """features: (B, K, N, D) L2-normalised rows (padding rows may hold anything, NaN too);
        mask: (B, K, N) bool, True = real person.
        Returns scalar tensors named by ``TERMS``: "loss" (the weighted sum), "self", "pairwise",
        "triplewise"."""
        if features.dim() != 4 or mask.shape != features.shape[:3]:
            raise ValueError(f"features (B, K, N, D) and mask (B, K, N) expected, got "
                             f"{tuple(features.shape)} and {tuple(mask.shape)}")
        with torch.autocast(device_type=features.device.type, enabled=False):
            return self._losses(features, mask.to(torch.bool))

    def _losses(self, features: Tensor, mask: Tensor) -> dict[str, Tensor]:
        dtype = torch.float64 if features.dtype == torch.float64 else torch.float32
        b, k, n, _ = features.shape
        x = torch.where(mask[..., None], features.to(dtype), features.new_zeros((), dtype=dtype))
        counts = mask.sum(-1)  # (B, K)
        # All cosine blocks at once: (B, K*N, K*N) -> (B, K, K, N, N), s[:, a, b] = S_ab.
        s = gram(x.reshape(b, k * n, -1)).reshape(b, k, n, k, n).transpose(2, 3)
        out: dict[str, Tensor] = {}
        zero = features.new_zeros((), dtype=dtype)
        for name, term in zip(WEIGHTED_TERMS, (self._self, self._pairwise, self._triplewise)):
            out[name] = term(s, mask, counts) if self.weights[name] != 0 else zero
        loss = zero
        for name, weight in self.weights.items():
            if weight != 0:
                loss = loss + weight * out[name]
        return {"loss": loss, **out}

    def _self(self, s: Tensor, mask: Tensor, counts: Tensor) -> Tensor:
        s_aa = s.diagonal(dim1=1, dim2=2).permute(0, 3, 1, 2)  # (B, K, N, N)
        tau = softmax_scale(counts, self.delta, self.epsilon)  # (B, K)
        hinge = cycle_hinge(masked_softmax(s_aa, mask, tau), mask, self.margin)  # (B, K)
        return pooled_mean(hinge, counts > 0)

    def _cycle(self, s: Tensor, mask: Tensor, counts: Tensor, rows: Tensor, cols: Tensor,
               via: Tensor | None = None) -> Tensor:
        """Hinge of sigma(U) sigma(U^T), U = S_rows,cols (or S_rows,via S_via,cols): (B, P)."""
        bi = torch.arange(s.shape[0], device=s.device)[:, None]  # (B, 1)
        if via is None:
            u = s[bi, rows, cols]  # (B, P, N, N)
        else:
            vi = via.expand_as(rows)
            u = s[bi, rows, vi] @ s[bi, vi, cols]
        return oriented_cycle(u, mask[bi, rows], mask[bi, cols], counts[bi, rows],
                              counts[bi, cols], self.delta, self.epsilon, self.margin,
                              self.relaxed_margin)

    def _pairwise(self, s: Tensor, mask: Tensor, counts: Tensor) -> Tensor:
        ia, ib = pair_index(s.shape[1], s.device)
        if ia.numel() == 0:
            return s.new_zeros(())
        rows, cols = orient(counts, ia, ib)  # U = S_ab if n_a >= n_b else S_ba
        hinge = self._cycle(s, mask, counts, rows, cols)  # (B, P)
        return pooled_mean(hinge, (counts[:, ia] > 0) & (counts[:, ib] > 0))

    def _triplewise(self, s: Tensor, mask: Tensor, counts: Tensor) -> Tensor:
        ia, ib, ic = triple_index(s.shape[1], s.device)
        if ia.numel() == 0:
            return s.new_zeros(())
        valid = (counts[:, ia] > 0) & (counts[:, ib] > 0) & (counts[:, ic] > 0)  # (B, P)
        if self.transitive == "conference":
            # T = S_ac S_cb and T^T = S_bc S_ca: U is the product along (rows, c, cols).
            rows, cols = orient(counts, ia, ib)
            hinge = self._cycle(s, mask, counts, rows, cols, via=ic)
        else:
            k = s.shape[1]
            col_valid = mask[:, None, :, :].expand(-1, k, -1, -1)  # (B, K, K, N): columns of b
            tau = softmax_scale(counts, self.delta, self.epsilon)[:, None, :].expand(-1, k, -1)
            p = masked_softmax(s, col_valid, tau)  # (B, K, K, N, N): sigma(S_ab) for all a, b
            # The loop r -> x1 -> x2 -> r from the image r with more people (o: the other one):
            # a -> c -> b -> a when n_a >= n_b, else b -> a -> c -> b.
            rows, others = orient(counts, ia, ib)  # (B, P)
            swapped = rows != ia
            via = ic.expand_as(rows)
            x1, x2 = torch.where(swapped, others, via), torch.where(swapped, via, others)
            bi = torch.arange(s.shape[0], device=s.device)[:, None]  # (B, 1)
            first = p[bi, rows, x1]  # (B, P, N, N)
            c = first @ p[bi, x1, x2] @ p[bi, x2, rows]  # (B, P, N, N), n_r x n_r valid
            if self.relaxed_margin is None:
                hinge = cycle_hinge(c, mask[bi, rows], self.margin)
            else:
                counterpart = has_counterpart(first) & has_counterpart(p[bi, rows, x2])
                hinge = journal_hinge(c, mask[bi, rows], counterpart, self.margin, self.relaxed_margin)
        return pooled_mean(hinge, valid)
