"""Plain-loop MvMHAT losses that follow the definitions of models/losses.py word for word.

One sample, one image, one pair, one triple at a time, on unpadded (n_a, D) feature blocks,
computed in float64 by default. Used by tests/test_losses.py (parity of values and gradients)
and ``python -m bench.loss_speed`` (speed ratio). Same interface and outputs as MvMHATLoss.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn


class LoopMvMHATLoss(nn.Module):
    def __init__(self, delta: float = 0.5, epsilon: float = 0.1, margin: float = 0.5,
                 self_weight: float = 1.0, pairwise_weight: float = 1.0,
                 triplewise_weight: float = 1.0, transitive: str = "conference",
                 hinge: str = "conference", relaxed_margin: float = 0.4,
                 compute_dtype: torch.dtype = torch.float64) -> None:
        super().__init__()
        assert transitive in ("conference", "journal")
        self.delta, self.epsilon, self.margin = delta, epsilon, margin
        self.weights = {"self": self_weight, "pairwise": pairwise_weight,
                        "triplewise": triplewise_weight}
        self.transitive = transitive
        self.hinge_variant, self.relaxed_margin = hinge, relaxed_margin
        self.compute_dtype = compute_dtype

    def sigma(self, m: Tensor) -> Tensor:
        """Row softmax of m * tau, tau = ln(delta / (1 - delta) * n_cols) / epsilon."""
        tau = math.log(self.delta / (1 - self.delta) * m.shape[1]) / self.epsilon
        return torch.softmax(m * tau, dim=1)

    def hinge(self, c: Tensor) -> Tensor:
        """(1/2n) sum_i [relu(max_{j!=i} C_ij + m - C_ii) + relu(max_{j!=i} C_ji + m - C_ii)]."""
        n = c.shape[0]
        if n == 1:  # both maxima are empty and count as 0
            row_max = col_max = c.new_zeros(1)
        else:
            off = c.masked_fill(torch.eye(n, dtype=torch.bool, device=c.device), float("-inf"))
            row_max = off.max(dim=1).values
            col_max = off.max(dim=0).values
        diag = torch.diagonal(c)
        total = torch.relu(row_max + self.margin - diag).sum() \
            + torch.relu(col_max + self.margin - diag).sum()
        return total / (2 * n)

    def journal_hinge(self, c: Tensor, counterpart: list) -> Tensor:
        """Per index i: with a counterpart the two hinge terms above; without one
        1/2 [relu(max_row - C_ii - m2) + relu(C_ii - min_row - m2)] + the same for column i."""
        n, m, m2 = c.shape[0], self.margin, self.relaxed_margin
        total = c.new_zeros(())
        for i in range(n):
            row = [c[i, j] for j in range(n) if j != i]
            col = [c[j, i] for j in range(n) if j != i]
            zero, far = c.new_zeros(()), c.new_full((), 100.0)  # an empty min: no band term below
            rmax, rmin = (max(row), min(row)) if row else (zero, far)
            cmax, cmin = (max(col), min(col)) if col else (zero, far)
            d = c[i, i]
            if counterpart[i]:
                total = total + torch.relu(rmax + m - d) + torch.relu(cmax + m - d)
            else:
                total = total + 0.5 * (torch.relu(rmax - d - m2) + torch.relu(d - rmin - m2)) \
                    + 0.5 * (torch.relu(cmax - d - m2) + torch.relu(d - cmin - m2))
        return total / (2 * n)

    def cycle_loss(self, c: Tensor, first: Tensor, second: Tensor | None = None) -> Tensor:
        """The hinge the ``hinge`` option names; counterpart rows: every row of ``first`` (and of
        ``second``, if given) reaches 0.5."""
        if self.hinge_variant == "conference":
            return self.hinge(c)
        counterpart = [bool(first[i].max() >= 0.5) and (second is None or bool(second[i].max() >= 0.5))
                       for i in range(c.shape[0])]
        return self.journal_hinge(c, counterpart)

    def forward(self, features: Tensor, mask: Tensor) -> dict[str, Tensor]:
        x = features.to(self.compute_dtype)
        self_terms, pair_terms, triple_terms = [], [], []
        for b in range(x.shape[0]):
            # The real images of this sample, in their original order.
            imgs = [x[b, k][mask[b, k]] for k in range(x.shape[1]) if bool(mask[b, k].any())]
            if self.weights["self"] != 0:
                for f_a in imgs:
                    self_terms.append(self.hinge(self.sigma(f_a @ f_a.T)))
            if self.weights["pairwise"] != 0:
                for a in range(len(imgs)):
                    for bb in range(a + 1, len(imgs)):
                        f_a, f_b = imgs[a], imgs[bb]
                        u = f_a @ f_b.T if f_a.shape[0] >= f_b.shape[0] else f_b @ f_a.T
                        pair_terms.append(self.cycle_loss(self.sigma(u) @ self.sigma(u.T), self.sigma(u)))
            if self.weights["triplewise"] != 0:
                for a in range(len(imgs)):
                    for bb in range(a + 1, len(imgs)):
                        for c in range(len(imgs)):
                            if c in (a, bb):
                                continue
                            f_a, f_b, f_c = imgs[a], imgs[bb], imgs[c]
                            s_ac, s_cb = f_a @ f_c.T, f_c @ f_b.T
                            if self.transitive == "conference":
                                t = s_ac @ s_cb
                                u = t if t.shape[0] >= t.shape[1] else t.T
                                cyc = self.sigma(u) @ self.sigma(u.T)
                                triple_terms.append(self.hinge(cyc))
                            elif f_a.shape[0] >= f_b.shape[0]:  # the loop starts at the image with more people
                                cyc = self.sigma(s_ac) @ self.sigma(s_cb) @ self.sigma(f_b @ f_a.T)
                                triple_terms.append(self.cycle_loss(cyc, self.sigma(s_ac), self.sigma(f_a @ f_b.T)))
                            else:
                                cyc = self.sigma(f_b @ f_a.T) @ self.sigma(s_ac) @ self.sigma(s_cb)
                                triple_terms.append(self.cycle_loss(cyc, self.sigma(f_b @ f_a.T),
                                                                    self.sigma(f_b @ f_c.T)))
        zero = x.new_zeros(())
        out = {name: (torch.stack(terms).mean() if terms else zero)
               for name, terms in (("self", self_terms), ("pairwise", pair_terms),
                                   ("triplewise", triple_terms))}
        loss = zero
        for name, weight in self.weights.items():
            if weight != 0:
                loss = loss + weight * out[name]
        return {"loss": loss, **out}
