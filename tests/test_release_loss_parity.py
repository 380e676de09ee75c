"""Parity of MvMHATLoss with the released losses, ported from their semantics one loop at a time.

The ports below are written from the description of the released code (realgump/MvMHAT
``loss.py``; MvMHAT++ ``all_loss.py`` for the journal loop's orientation), not from
``models/losses.py`` or ``models/loss_reference.py``: they keep the released structure where it
differs in form from ours -- raw features normalised inside, the block of a pair turned so that
it has at least as many rows as columns (a tie keeps the pair's order), each direction
softmaxed with the scale of its own column count, the diagonal zeroed by a mask *before* the
row and column maxima (so the maxima run over a row that holds a 0), division by 2n, and the
transitive block of the conference code as the product of two raw cosine blocks. Sample: one
step of the release, 4 views x 2 frames = 8 images with 1 to 8 people each.
"""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from models.losses import MvMHATLoss

DELTA, EPSILON, MARGIN = 0.5, 0.1, 0.5  # the released constants (loss.py, config.py)


def scaled_softmax(block: torch.Tensor) -> torch.Tensor:
    """Row softmax with the released scale log(delta / (1 - delta) * columns) / epsilon."""
    scale = math.log(DELTA / (1 - DELTA) * block.shape[1]) / EPSILON
    return F.softmax(block * scale, dim=1)


def released_hinge(cycle: torch.Tensor) -> torch.Tensor:
    n = cycle.shape[0]
    eye = torch.eye(n, dtype=cycle.dtype)
    pos, neg = cycle * eye, cycle * (1 - eye)  # the diagonal is zeroed, not excluded
    row = F.relu(neg.max(dim=1).values + MARGIN - torch.diagonal(pos)).sum()
    col = F.relu(neg.max(dim=0).values + MARGIN - torch.diagonal(pos)).sum()
    return (row + col) / (2 * n)


def released_cycle(block: torch.Tensor) -> torch.Tensor:
    """The released pair step: turn the block to rows >= columns, softmax both ways, multiply."""
    if block.shape[0] < block.shape[1]:
        s21, s12 = block, block.t()
    else:
        s12, s21 = block, block.t()
    return scaled_softmax(s12) @ scaled_softmax(s21)


def released_losses(features: list) -> tuple:
    """(pairwise, triplewise) of one sample as the conference code computes them."""
    x = [F.normalize(f, dim=-1) for f in features]
    k = len(x)
    blocks = [[x[i] @ x[j].t() for j in range(k)] for i in range(k)]
    pair_sum, pairs = 0, 0
    for i in range(k):
        for j in range(k):
            if i < j:
                pairs += 1
                pair_sum = pair_sum + released_hinge(released_cycle(blocks[i][j]))
    triple_sum, triples = 0, 0
    for i, j, m in ordered_triples(k):
        triples += 1
        through = blocks[i][m] @ blocks[m][j]  # raw cosine blocks, multiplied
        triple_sum = triple_sum + released_hinge(released_cycle(through))
    return pair_sum / pairs, triple_sum / triples


def ordered_triples(k: int) -> list:
    """The released loops' image triples: every pair i < j with every third image m, in loop order."""
    return [(i, j, m) for i in range(k) for j in range(i + 1, k) for m in range(k) if m != i and m != j]


def journal_triplewise(features: list) -> torch.Tensor:
    """The MvMHAT++ transitive loop on softmaxed blocks P_ij = sigma(S_ij): for i < j and a third
    image m, the path i -> m -> j is closed by P_ji; the loop is read from j (P_ji P_im P_mj) when
    image i has fewer people than j, else from i (P_im P_mj P_ji)."""
    x = [F.normalize(f, dim=-1) for f in features]
    k = len(x)
    p = [[scaled_softmax(x[i] @ x[j].t()) for j in range(k)] for i in range(k)]
    total, count = 0, 0
    for i, j, m in ordered_triples(k):
        count += 1
        path = p[i][m] @ p[m][j]
        cycle = p[j][i] @ path if path.shape[0] < path.shape[1] else path @ p[j][i]
        total = total + released_hinge(cycle)
    return total / count


def random_images(counts: list, dim: int, seed: int) -> list:
    g = torch.Generator().manual_seed(seed)
    return [3.0 * torch.randn(n, dim, generator=g, dtype=torch.float64) for n in counts]


def slots(counts: list) -> tuple:
    """Where each image's people sit in our padded layout: shuffled slots, one spare slot (padding
    in every image). Returns the slot indices per image and the mask (1, K, N)."""
    n = max(counts) + 1
    mask = torch.zeros(1, len(counts), n, dtype=torch.bool)
    where = []
    for i, c in enumerate(counts):
        idx = torch.randperm(n, generator=torch.Generator().manual_seed(i))[:c]
        mask[0, i, idx] = True
        where.append(idx)
    return where, mask


COUNTS = [  # people in each of the 8 images (view-major: view 1 frame 1, view 1 frame 2, ...)
    [1, 2, 3, 4, 5, 6, 7, 8],
    [8, 1, 8, 3, 3, 5, 1, 7],  # ties in both orders, single-person images
    [4, 4, 4, 4, 4, 4, 4, 4],  # every pair a tie: the pair order decides
    [2, 7, 1, 6, 5, 5, 8, 3],
]


def gradient(fn, features: list) -> list:
    leaves = [f.clone().requires_grad_(True) for f in features]
    value = fn(leaves)
    grads = torch.autograd.grad(value, leaves)
    return value.detach(), list(grads)


def ours(features: list, term: str, **kw) -> torch.Tensor:
    """MvMHATLoss on our padded layout (unit rows, as the network gives them); the gradient flows
    back to the raw features through the normalisation, as in the port."""
    where, mask = slots([len(f) for f in features])
    d = features[0].shape[1]
    images = [torch.zeros(mask.shape[2], d, dtype=f.dtype).index_put((w,), F.normalize(f, dim=-1))
              for f, w in zip(features, where)]
    return MvMHATLoss(delta=DELTA, epsilon=EPSILON, margin=MARGIN, **kw)(torch.stack(images)[None], mask)[term]


@pytest.mark.parametrize("counts", COUNTS)
def test_conference_loss_equals_the_released_code(counts):
    features = random_images(counts, dim=16, seed=sum(counts))
    for index, term in enumerate(("pairwise", "triplewise")):
        ref, ref_grad = gradient(lambda f: released_losses(f)[index], features)
        val, grad = gradient(lambda f: ours(f, term, self_weight=0.0), features)
        torch.testing.assert_close(val, ref, rtol=1e-10, atol=1e-12)
        for a, b in zip(grad, ref_grad):
            torch.testing.assert_close(a, b, rtol=1e-8, atol=1e-12)
    # and the sum the release optimises: LOSS = ['pairwise', 'triplewise']
    ref, ref_grad = gradient(lambda f: sum(released_losses(f)), features)
    val, grad = gradient(lambda f: ours(f, "loss", self_weight=0.0), features)
    assert val > 0.1  # random features: far from consistent, every hinge is active somewhere
    torch.testing.assert_close(val, ref, rtol=1e-10, atol=1e-12)
    for a, b in zip(grad, ref_grad):
        torch.testing.assert_close(a, b, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("counts", COUNTS)
def test_journal_loop_starts_at_the_image_with_more_people(counts):
    features = random_images(counts, dim=16, seed=7 + sum(counts))
    ref, ref_grad = gradient(journal_triplewise, features)
    val, grad = gradient(lambda f: ours(f, "triplewise", self_weight=0.0, pairwise_weight=0.0,
                                        transitive="journal"), features)
    torch.testing.assert_close(val, ref, rtol=1e-10, atol=1e-12)
    for a, b in zip(grad, ref_grad):
        torch.testing.assert_close(a, b, rtol=1e-8, atol=1e-12)


def test_the_journal_orientation_matters():
    # Image 0 with 2 people, image 1 with 5: read from image 0 the loop is a 2 x 2 matrix, read
    # from image 1 (MvMHAT++) a 5 x 5 one; the two hinges differ, so the test above can fail.
    features = random_images([2, 5, 3], dim=8, seed=1)
    x = [F.normalize(f, dim=-1) for f in features]
    p = [[scaled_softmax(x[i] @ x[j].t()) for j in range(3)] for i in range(3)]
    from_small = released_hinge(p[0][2] @ p[2][1] @ p[1][0])
    from_large = released_hinge(p[1][0] @ p[0][2] @ p[2][1])
    assert abs(float(from_small - from_large)) > 1e-3
