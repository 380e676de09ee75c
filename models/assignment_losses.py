"""The MvMHAT++ losses on STAN's assignment matrix A, its pseudo labels, and the joint loss.

One sample: M people over K images, P the M x M matrix of softmaxed blocks, A = STAN(P).
Batches are padded as in :mod:`models.stan`: people first, ``valid`` (B, M) a prefix.

- Pseudo labels (:func:`pseudo_labels`): per block (a, b) of P (diagonal blocks included), P
  detached, entries < 0.5 set to 0, the Hungarian algorithm on -P; label 1 for an assigned pair
  whose entry is not 0, else 0 (an unassigned row is the "dummy": no match in that image).
- Weighted focal loss (gamma 2): with p the fraction of ones among the valid labels,
  mean over valid entries of -[(1 - p) y (1 - A)^g log A + p (1 - y) A^g log(1 - A)]; labels of
  one class only weigh that class 1 (p := 1 when all are 0, p := 0 when all are 1), as the
  journal code does.
- Symmetry: ||A - A^T||_F. Nuclear: the nuclear norm of A (padding adds nothing to either).
- Sum loss: for every row and column sum s of A, max(0, |s - (K + 1)/2| - (K - 1)/2); the mean
  over the M column sums plus the mean over the M row sums, as the journal code (a person matches
  itself and at most one person per other image: 1 <= s <= K).
Each is a mean over the samples of the batch (samples without people excluded).
"""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from deep_sort.linear_assignment import threshold_matching
from models.loss_ops import masked_softmax, softmax_scale
from models.losses import MvMHATLoss
from models.stan import STAN

ASSIGNMENT_TERMS = ("focal", "symmetry", "nuclear", "sum")


def block_labels(block: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """Pseudo labels of one (r, c) block of softmaxed similarities: (r, c) float 0/1."""
    labels = np.zeros(np.shape(block), dtype=np.result_type(block, 0.0))
    matches, _, _ = threshold_matching(block, threshold)
    if matches:
        rows, cols = zip(*matches)
        labels[list(rows), list(cols)] = 1.0
    return labels


def pseudo_labels(p: Tensor, image_of: Tensor, valid: Tensor, threshold: float = 0.5) -> Tensor:
    """Pseudo labels of a padded batch: p (B, M, M); image_of (B, M) long, the image of each
    person; valid (B, M) bool. Returns (B, M, M) float on p's device, 0 on padding."""
    p_np = p.detach().to(torch.float64).cpu().numpy()
    img = image_of.cpu().numpy()
    ok = valid.cpu().numpy()
    out = np.zeros_like(p_np)
    for b in range(p_np.shape[0]):
        people = np.flatnonzero(ok[b])
        images = img[b, people]
        for a in np.unique(images):
            ra = people[images == a]
            for c in np.unique(images):
                rc = people[images == c]
                out[b][np.ix_(ra, rc)] = block_labels(p_np[b][np.ix_(ra, rc)], threshold)
    return torch.from_numpy(out).to(device=p.device, dtype=p.dtype)


def _sample_mean(values: Tensor, has_people: Tensor) -> Tensor:
    return torch.where(has_people, values, values.new_zeros(())).sum() / has_people.sum().clamp(min=1)


def focal_loss(a: Tensor, labels: Tensor, valid: Tensor, gamma: float = 2.0) -> Tensor:
    """Weighted focal loss of A against 0/1 labels, per sample then averaged: see the module docstring."""
    pair = (valid[:, :, None] & valid[:, None, :]).to(a.dtype)  # (B, M, M)
    n = pair.sum((1, 2))  # (B,)
    pos = (labels * pair).sum((1, 2)) / n.clamp(min=1)  # fraction of ones
    # one class only: its own weight is 1 (the journal code's rule; 1 - p or p would be 0 there)
    pos = torch.where(pos <= 0, torch.ones_like(pos), torch.where(pos >= 1, torch.zeros_like(pos), pos))
    w_pos, w_neg = (1 - pos)[:, None, None], pos[:, None, None]
    a_safe = torch.where(pair > 0, a, a.new_full((), 0.5))  # log of padding never reaches the sum
    per = -(w_pos * labels * (1 - a_safe) ** gamma * torch.log(a_safe)
            + w_neg * (1 - labels) * a_safe ** gamma * torch.log(1 - a_safe))
    return _sample_mean((per * pair).sum((1, 2)) / n.clamp(min=1), n > 0)


def symmetry_loss(a: Tensor, valid: Tensor) -> Tensor:
    """||A - A^T||_F per sample, averaged over samples with people."""
    return _sample_mean(torch.linalg.matrix_norm(a - a.transpose(1, 2), "fro"), valid.any(-1))


def nuclear_loss(a: Tensor, valid: Tensor) -> Tensor:
    """The nuclear norm (sum of singular values) of A per sample, averaged over samples with people."""
    return _sample_mean(torch.linalg.matrix_norm(a, "nuc"), valid.any(-1))


def sum_loss(a: Tensor, valid: Tensor, images: Tensor) -> Tensor:
    """Per sample, the mean over the M column sums s of max(0, |s - (K + 1)/2| - (K - 1)/2) plus
    the same mean over the M row sums; images: (B,) K, the images of each sample."""
    k = images.to(a.dtype)[:, None]  # (B, 1)
    v = valid.to(a.dtype)
    per = lambda s: torch.relu((s - (k + 1) / 2).abs() - (k - 1) / 2) * v  # noqa: E731 (B, M)
    total = per(a.sum(2)) + per(a.sum(1))
    m = v.sum(-1)
    return _sample_mean(total.sum(-1) / m.clamp(min=1), m > 0)


def gather_people(features: Tensor, mask: Tensor, delta: float, epsilon: float) -> tuple:
    """The STAN input of a padded feature batch: every block sigma(S_ab) (each with the tau of
    its own column count), people of all images packed first.

    features: (B, K, N, D) L2-normalised; mask: (B, K, N) bool.
    Returns p (B, M, M), valid (B, M) bool, image_of (B, M) long, images (B,) real images,
    with M the largest number of people of a sample."""
    b, k, n, _ = features.shape
    x = torch.where(mask[..., None], features, features.new_zeros(()))
    s = (x.reshape(b, k * n, -1) @ x.reshape(b, k * n, -1).transpose(1, 2)).reshape(b, k, n, k, n).transpose(2, 3)
    counts = mask.sum(-1)  # (B, K)
    col_valid = mask[:, None, :, :].expand(-1, k, -1, -1)  # (B, K, K, N)
    tau = softmax_scale(counts, delta, epsilon)[:, None, :].expand(-1, k, -1)
    blocks = masked_softmax(s, col_valid, tau)  # (B, K, K, N, N)
    full = blocks.transpose(2, 3).reshape(b, k * n, k * n)  # (B, K*N, K*N)
    flat = mask.reshape(b, k * n)
    m = int(flat.sum(-1).max()) if b else 0
    # slots of the real people first, in image order (a stable sort of "is padding")
    order = torch.sort((~flat).to(torch.int8), dim=1, stable=True).indices[:, :m]  # (B, M)
    valid = torch.gather(flat, 1, order)
    bi = torch.arange(b, device=features.device)[:, None, None]
    p = full[bi, order[:, :, None], order[:, None, :]]
    p = torch.where(valid[:, :, None] & valid[:, None, :], p, p.new_zeros(()))
    return p, valid, order // n, (counts > 0).sum(-1)


class JournalLoss(nn.Module):
    """The MvMHAT++ training loss: the appearance terms of ``appearance`` (a :class:`MvMHATLoss`,
    journal hinge) plus the terms on A = ``stan``(P) against pseudo labels of P:

        loss = appearance loss + focal_weight x focal + symmetry_weight x ||A - A^T||_F
               + nuclear_weight x ||A||_* + sum_weight x sum loss

    (journal code: 5, 0.002, 1e-4, 0.004). P is built with the appearance loss's delta and
    epsilon and is not detached (backbone and STAN are trained together); the pseudo labels are.
    Returns every term by name (``self.terms``), the weighted sum first.
    """

    def __init__(self, appearance: MvMHATLoss, stan: STAN, focal_weight: float = 5.0,
                 symmetry_weight: float = 0.002, nuclear_weight: float = 1e-4, sum_weight: float = 0.004,
                 gamma: float = 2.0):
        super().__init__()
        self.appearance, self.stan, self.gamma = appearance, stan, gamma
        self.weights = dict(zip(ASSIGNMENT_TERMS, (focal_weight, symmetry_weight, nuclear_weight, sum_weight)))
        self.terms = tuple(appearance.terms) + ASSIGNMENT_TERMS

    def forward(self, features: Tensor, mask: Tensor) -> dict:
        out = dict(self.appearance(features, mask))
        with torch.autocast(device_type=features.device.type, enabled=False):
            x = features.float() if features.dtype != torch.float64 else features
            p, valid, image_of, images = gather_people(x, mask.to(torch.bool), self.appearance.delta,
                                                       self.appearance.epsilon)
            a = self.stan(p.to(next(self.stan.parameters()).dtype), valid).to(p.dtype)
            labels = pseudo_labels(p, image_of, valid)
            out["focal"] = focal_loss(a, labels, valid, self.gamma)
            out["symmetry"] = symmetry_loss(a, valid)
            out["nuclear"] = nuclear_loss(a, valid)
            out["sum"] = sum_loss(a, valid, images)
        loss = out["loss"]
        for name, weight in self.weights.items():
            if weight != 0:
                loss = loss + weight * out[name]
        out["loss"] = loss
        return {name: out[name] for name in self.terms}
