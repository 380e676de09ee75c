"""STAN pre-training on synthetic matrices (MvMHAT++), and the assignment F1 that scores it.

A synthetic sample imitates the STAN input of a multi-view frame pair, as the journal's generator
builds it: ``views`` cameras, 2 frames each (K = 2 x views images, view-major), a scene of
``people``. Per view, frame 1 shows a random subset of at least floor(0.6 x people) of them;
frame 2 is frame 1 less 0-2 of its people (leaving) plus 0-2 scene people that frame 1 of this
view did not show (entering), in random order. Target: T_ij = [id_i == id_j]. Input: per block
(a, b) a row-stochastic matrix built from the block of T, row by row:

- a row with its person in b ("matched") keeps 1 - u at its match, u ~ U(0, 0.2) in a diagonal
  block (a = b), U(0.05, 0.3) elsewhere, where with probability 0.1 it is a "false case"
  u ~ U(0.5, 0.65); u goes to the other columns by stick-breaking in random order (each takes
  U(0, what is left), the last one the rest);
- a row without its person in b: with probability 0.1 a spurious peak U(0.4, 0.75) at a random
  column, 1 - peak to the others by stick-breaking; otherwise a near-uniform row: every entry
  1/n, 1-(n-1) random entries each lose U(0, 0.9/n), and what they lost goes to the remaining
  entries by stick-breaking;
- a block with one column is all ones (a softmax over one column; the journal's sizes never
  make one).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from deep_sort.linear_assignment import threshold_matching
from models.assignment_losses import focal_loss, nuclear_loss, sum_loss, symmetry_loss

FALSE_CASE_RATE = 0.1  # probability of a false case (matched rows) or a spurious peak (unmatched rows)
DIAGONAL_LOSS = 0.2  # matched rows of diagonal blocks lose U(0, 0.2) of their 1
MATCH_LOSS = (0.05, 0.3)  # matched rows elsewhere lose U(0.05, 0.3) ...
FALSE_LOSS = (0.5, 0.65)  # ... or, in a false case, U(0.5, 0.65)
SPURIOUS_PEAK = (0.4, 0.75)  # the spurious peak of an unmatched row
UNIFORM_DIP = 0.9  # near-uniform rows: an entry loses at most 0.9 / n


@dataclass
class SyntheticSpec:
    """Sizes of the synthetic matrices (defaults: the journal's)."""

    views: tuple = (3, 4)  # inclusive range of views per sample
    people: tuple = (9, 15)  # inclusive range of people in the scene
    min_visible: float = 0.6  # frame 1 of each view shows at least floor(this x people)
    churn: int = 2  # per view, up to this many people leave, and up to this many enter, between the frames


def stick_breaking(rng: np.random.Generator, mass: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Split ``mass`` (R,) along each row of ``r`` (R, C): position q takes a fraction r_q of what
    positions before it left, r_q ~ U(0, 1) drawn here where ``r`` is NaN; ``r`` 0 takes nothing,
    1 takes all that is left. Returns (R, C) parts."""
    r = np.where(np.isnan(r), rng.random(r.shape), r)
    left = np.cumprod(np.concatenate([np.ones((r.shape[0], 1)), 1.0 - r[:, :-1]], axis=1), axis=1)
    return mass[:, None] * r * left


def _noisy_block(rng: np.random.Generator, target: np.ndarray, diagonal: bool) -> np.ndarray:
    r, c = target.shape
    if c == 1:
        return np.ones((r, 1))
    matched = target.any(1)  # (r,)
    uniform = ~matched & (rng.random(r) >= FALSE_CASE_RATE)
    # the column that keeps its mass: the match, or a random one for a spurious peak
    keep = np.where(matched, target.argmax(1), rng.integers(c, size=r))
    if diagonal:
        u = rng.uniform(0.0, DIAGONAL_LOSS, r)
    else:
        u = np.where(rng.random(r) < FALSE_CASE_RATE, rng.uniform(*FALSE_LOSS, r), rng.uniform(*MATCH_LOSS, r))
    peak = np.where(matched, 1.0 - u, rng.uniform(*SPURIOUS_PEAK, r))  # (r,)
    # a random order of the columns per row, the kept column last (irrelevant for uniform rows)
    key = rng.random((r, c))
    key[np.arange(r), keep] = np.where(uniform, key[np.arange(r), keep], 2.0)
    order = np.argsort(key, axis=1)  # (r, c)
    steps = np.full((r, c), np.nan)
    steps[:, c - 2], steps[:, c - 1] = 1.0, 0.0  # peak rows: the last other column takes the rest
    # near-uniform rows: the first d positions dip, positions d..c-1 share the dips
    dips = np.arange(c)[None, :] < rng.integers(1, c, size=r)[:, None]  # (r, c)
    lost = np.where(dips, rng.uniform(0.0, UNIFORM_DIP / c, (r, c)), 0.0)
    steps[uniform, c - 2] = np.nan
    steps[uniform, c - 1] = 1.0
    steps[dips & uniform[:, None]] = 0.0
    mass = np.where(uniform, lost.sum(1), 1.0 - peak)
    values = stick_breaking(rng, mass, steps)  # (r, c) by position
    values[uniform] += 1.0 / c - lost[uniform]
    values[~uniform, c - 1] = peak[~uniform]
    out = np.empty((r, c))
    np.put_along_axis(out, order, values, axis=1)
    return out


def _view_identities(rng: np.random.Generator, n: int, spec: SyntheticSpec) -> tuple:
    """The people of one view in its two frames (two arrays of ids in 0..n-1, in image order)."""
    least = max(1, math.floor(spec.min_visible * n))  # >= 1: only fewer people than the journal's need it
    first = rng.permutation(n)[:int(rng.integers(least, n + 1))]
    absent = rng.permutation(np.setdiff1d(np.arange(n), first))
    leave = int(rng.integers(0, min(spec.churn, len(first) - 1) + 1))  # never empties frame 2
    enter = int(rng.integers(0, min(spec.churn, len(absent)) + 1))
    second = np.concatenate([rng.permutation(first)[leave:], absent[:enter]])
    return first, rng.permutation(second)


def synthetic_sample(rng: np.random.Generator, spec: SyntheticSpec = SyntheticSpec()) -> tuple:
    """One synthetic matrix: ``(p (M, M) float32, target (M, M) float32, image_of (M,) int64)``;
    images are view-major (view v, frame t is image 2v + t), people in random order per image."""
    views = int(rng.integers(spec.views[0], spec.views[1] + 1))
    n = int(rng.integers(spec.people[0], spec.people[1] + 1))
    ids = [frame for _ in range(views) for frame in _view_identities(rng, n, spec)]
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
