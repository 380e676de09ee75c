"""STAN pre-training on synthetic matrices (MvMHAT++), and the assignment F1 that scores it.

A synthetic sample imitates the STAN input of a multi-view frame pair: ``views`` cameras, 2
frames each (K = 2 x views images), a crowd of ``people`` of which each view sees at least 60%;
between the frames 0-2 people leave and 0-2 enter. Target: T_ij = [id_i == id_j]. Input: per
block (a, b) a row-stochastic matrix built from the block of T, row by row:

- a row with its person in b ("matched") keeps 1 - u at its match, u ~ U(0, 0.2) in a diagonal
  block (a = b), U(0.05, 0.3) elsewhere, where with probability 0.1 it is a "false case"
  u ~ U(0.5, 0.65); the mass u is spread over the other columns at random;
- a row without its person in b: with probability 0.1 a spurious peak U(0.4, 0.75) at a random
  column, the rest spread at random; otherwise a near-uniform row (1/n plus 10% noise, normalised);
- a block with one column is all ones (a softmax over one column).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from deep_sort.linear_assignment import threshold_matching
from models.assignment_losses import focal_loss, nuclear_loss, sum_loss, symmetry_loss


@dataclass
class SyntheticSpec:
    """Sizes of the synthetic matrices (defaults: the journal's)."""

    views: tuple = (3, 4)  # inclusive range of views per sample
    people: tuple = (9, 15)  # inclusive range of people in the scene
    min_visible: float = 0.6  # each view sees at least this fraction of the people present
    churn: int = 2  # up to this many people leave, and up to this many enter, between the frames


def _spread(rng: np.random.Generator, n: int, mass: float, skip: int) -> np.ndarray:
    """``mass`` split at random over n entries, none at index ``skip`` (-1: none skipped)."""
    w = rng.random(n)
    if 0 <= skip < n:
        w[skip] = 0.0
    total = w.sum()
    return w * (mass / total) if total > 0 else np.zeros(n)


def _noisy_block(rng: np.random.Generator, target: np.ndarray, diagonal: bool) -> np.ndarray:
    r, c = target.shape
    if c == 1:
        return np.ones((r, 1))
    out = np.empty((r, c))
    for i in range(r):
        hit = np.flatnonzero(target[i])
        if hit.size:
            j = int(hit[0])
            if diagonal:
                u = rng.uniform(0.0, 0.2)
            elif rng.random() < 0.1:
                u = rng.uniform(0.5, 0.65)  # a false case: the true match falls below 0.5
            else:
                u = rng.uniform(0.05, 0.3)
            out[i] = _spread(rng, c, u, j)
            out[i, j] = 1.0 - u
        elif rng.random() < 0.1:
            j = int(rng.integers(c))
            peak = rng.uniform(0.4, 0.75)
            out[i] = _spread(rng, c, 1.0 - peak, j)
            out[i, j] = peak
        else:
            row = 1.0 / c * (1.0 + 0.1 * rng.standard_normal(c))
            row = np.clip(row, 1e-6, None)
            out[i] = row / row.sum()
    return out


def synthetic_sample(rng: np.random.Generator, spec: SyntheticSpec = SyntheticSpec()) -> tuple:
    """One synthetic matrix: ``(p (M, M) float32, target (M, M) float32, image_of (M,) int64)``;
    images are view-major (view v, frame t is image 2v + t), people in random order per image."""
    views = int(rng.integers(spec.views[0], spec.views[1] + 1))
    n = int(rng.integers(spec.people[0], spec.people[1] + 1))
    present1 = np.arange(n)
    leave = rng.choice(present1, size=int(rng.integers(0, spec.churn + 1)), replace=False)
    enter = n + np.arange(int(rng.integers(0, spec.churn + 1)))
    present2 = np.concatenate([np.setdiff1d(present1, leave), enter])
    ids = []
    for _ in range(views):
        for present in (present1, present2):
            need = int(np.ceil(spec.min_visible * len(present)))
            k = int(rng.integers(need, len(present) + 1))
            ids.append(rng.permutation(rng.choice(present, size=k, replace=False)))
    image_of = np.concatenate([np.full(len(x), a) for a, x in enumerate(ids)])
    person = np.concatenate(ids)
    target = (person[:, None] == person[None, :]).astype(np.float64)
    p = np.zeros_like(target)
    for a in range(len(ids)):
        ra = np.flatnonzero(image_of == a)
        for b in range(len(ids)):
            rb = np.flatnonzero(image_of == b)
            p[np.ix_(ra, rb)] = _noisy_block(rng, target[np.ix_(ra, rb)], a == b)
    return p.astype(np.float32), target.astype(np.float32), image_of.astype(np.int64)


def block_matches(scores: np.ndarray, image_of: np.ndarray, threshold: float = 0.5) -> set:
    """Cross-image matches (i, j), i and j in different images: per ordered block, entries below
    ``threshold`` set to 0, then the Hungarian algorithm; assigned non-zero pairs are matches."""
    out = set()
    for a in np.unique(image_of):
        ra = np.flatnonzero(image_of == a)
        for b in np.unique(image_of):
            if a == b:
                continue
            rb = np.flatnonzero(image_of == b)
            matches, _, _ = threshold_matching(scores[np.ix_(ra, rb)], threshold)
            out.update((int(ra[r]), int(rb[c])) for r, c in matches)
    return out


def match_counts(predicted: set, target: np.ndarray, image_of: np.ndarray) -> tuple:
    """``(tp, fp, fn)`` of predicted cross-image matches against the target's."""
    cross = image_of[:, None] != image_of[None, :]
    truth = {(int(i), int(j)) for i, j in zip(*np.nonzero((target > 0.5) & cross))}
    tp = len(predicted & truth)
    return tp, len(predicted) - tp, len(truth) - tp


def f1(counts: tuple) -> float:
    tp, fp, fn = counts
    return 2 * tp / max(1, 2 * tp + fp + fn)


def pad_batch(samples: list, device: torch.device) -> tuple:
    """Samples ``(p, target, image_of)`` to padded tensors p, target (B, M, M), valid (B, M),
    images (B,)."""
    m = max(len(s[2]) for s in samples)
    b = len(samples)
    p = np.zeros((b, m, m), np.float32)
    t = np.zeros((b, m, m), np.float32)
    valid = np.zeros((b, m), bool)
    images = np.zeros(b, np.int64)
    for i, (pi, ti, img) in enumerate(samples):
        k = len(img)
        p[i, :k, :k], t[i, :k, :k], valid[i, :k] = pi, ti, True
        images[i] = len(np.unique(img))
    to = lambda x: torch.from_numpy(x).to(device)  # noqa: E731
    return to(p), to(t), to(valid), to(images)


def pretrain_loss(a: torch.Tensor, target: torch.Tensor, valid: torch.Tensor, images: torch.Tensor,
                  focal_weight: float = 10.0, symmetry_weight: float = 0.002, nuclear_weight: float = 1e-4,
                  sum_weight: float = 0.004) -> torch.Tensor:
    """10 x focal loss against the target + the three regularisers of the joint training."""
    return (focal_weight * focal_loss(a, target, valid) + symmetry_weight * symmetry_loss(a, valid)
            + nuclear_weight * nuclear_loss(a, valid) + sum_weight * sum_loss(a, valid, images))


@torch.no_grad()
def evaluate_f1(stan, samples: list, device: torch.device, batch_size: int = 16,
                threshold: float = 0.5) -> dict:
    """Assignment F1 on ``samples`` of STAN (A symmetrised, then per block threshold + Hungarian),
    of the same rule on the noisy input P itself, and on (P + P^T)/2 (how much the symmetrising
    alone gives)."""
    stan_counts, base_counts, sym_counts = np.zeros(3, int), np.zeros(3, int), np.zeros(3, int)
    was = stan.training
    stan.eval()
    for start in range(0, len(samples), batch_size):
        chunk = samples[start:start + batch_size]
        p, _, valid, _ = pad_batch(chunk, device)
        a = stan(p, valid)
        a = ((a + a.transpose(1, 2)) / 2).cpu().numpy()
        for i, (pi, ti, img) in enumerate(chunk):
            k = len(img)
            stan_counts += match_counts(block_matches(a[i, :k, :k], img, threshold), ti, img)
            base_counts += match_counts(block_matches(pi, img, threshold), ti, img)
            sym_counts += match_counts(block_matches((pi + pi.T) / 2, img, threshold), ti, img)
    stan.train(was)
    return {"stan_f1": f1(tuple(stan_counts)), "hungarian_f1": f1(tuple(base_counts)),
            "symmetrised_hungarian_f1": f1(tuple(sym_counts)), "stan_counts": stan_counts.tolist(),
            "hungarian_counts": base_counts.tolist(), "symmetrised_hungarian_counts": sym_counts.tolist()}
