"""MvMHATLoss: parity with the plain-loop reference (values and gradients), hand-derived cases,
perfect features give zero loss, permutation invariance, padding and precision edge cases."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from deep_sort import linear_assignment
from models import loss_ops
from models.loss_reference import LoopMvMHATLoss
from models.losses import TERMS, MvMHATLoss



def random_batch(b: int, k: int, n: int, d: int, pad_images: tuple = (), seed: int = 0):
    """Random unit features with 1..n people per image at random slots, padding images
    (mask row all False) at pad_images = ((sample, image), ...), garbage in padded rows."""
    g = torch.Generator().manual_seed(seed)
    feats = torch.randn(b, k, n, d, generator=g, dtype=torch.float64)
    feats = feats / feats.norm(dim=-1, keepdim=True)
    mask = torch.zeros(b, k, n, dtype=torch.bool)
    for i in range(b):
        for j in range(k):
            count = int(torch.randint(1, n + 1, (1,), generator=g))
            if (i, j) == (0, 0):
                count = 1  # always at least one single-person image
            mask[i, j, torch.randperm(n, generator=g)[:count]] = True
    for i, j in pad_images:
        mask[i, j] = False
    garbage = 7.0 * torch.randn(feats.shape, generator=g, dtype=torch.float64)
    feats = torch.where(mask[..., None], feats, garbage)
    return feats, mask


def run(crit, feats, mask):
    x = feats.clone().requires_grad_(True)
    out = crit(x, mask)
    (grad,) = torch.autograd.grad(out["loss"], x)
    return out, grad


CASES = [  # (B, K, N, padding images)
    (1, 2, 3, ()),
    (2, 4, 5, ((1, 2),)),
    (1, 8, 5, ((0, 3), (0, 6))),  # the paper's K = 4 views x 2 frames
    (2, 3, 4, ((0, 0), (0, 1))),  # sample 0 has a single real image: no pair, no triple
]
# (self, pairwise, triplewise weights, margin): random unit features rarely violate the self
# term at m = 0.5, so the cases with the self term on use larger margins.
WEIGHTS = [(1.0, 1.0, 1.0, 0.5), (0.0, 1.0, 0.0, 0.5), (0.3, 0.0, 2.0, 0.999),
           (1.0, 0.0, 0.0, 0.9995)]


@pytest.mark.parametrize("transitive", ["conference", "journal"])
@pytest.mark.parametrize("weights", WEIGHTS)
@pytest.mark.parametrize("case", CASES)
def test_vectorised_matches_loops(case, weights, transitive):
    b, k, n, pads = case
    feats, mask = random_batch(b, k, n, d=8, pad_images=pads, seed=b * 100 + k)
    kw = dict(margin=weights[3], self_weight=weights[0], pairwise_weight=weights[1],
              triplewise_weight=weights[2], transitive=transitive)
    out, grad = run(MvMHATLoss(**kw), feats, mask)
    ref, ref_grad = run(LoopMvMHATLoss(**kw), feats, mask)
    for name in TERMS:
        assert out[name].dtype == torch.float64
        torch.testing.assert_close(out[name], ref[name], rtol=1e-5, atol=1e-12)
    assert out["loss"] > 0
    torch.testing.assert_close(grad, ref_grad, rtol=1e-5, atol=1e-12)
    assert grad[~mask].abs().max() == 0  # padded rows get no gradient
    for name, w in zip(TERMS[1:], weights[:3]):
        if w == 0:
            assert out[name].item() == 0 and not out[name].requires_grad


def test_loss_is_the_weighted_sum():
    feats, mask = random_batch(2, 4, 5, 8, seed=3)
    out = MvMHATLoss(self_weight=0.5, pairwise_weight=2.0, triplewise_weight=3.0)(feats, mask)
    assert tuple(out) == TERMS  # the names the trainer logs and plots
    expected = 0.5 * out["self"] + 2.0 * out["pairwise"] + 3.0 * out["triplewise"]
    torch.testing.assert_close(out["loss"], expected)


@pytest.mark.parametrize("delta, epsilon", [(0.5, 0.1), (0.5, 0.5), (0.3, 1.0), (0.9, 0.05)])
def test_softmax_scale_is_the_same_in_the_loss_and_the_tracker(delta, epsilon):
    # one formula written twice on purpose (torch for training, numpy for tracking)
    n = np.arange(1, 40)
    tracker = [linear_assignment.softmax_scale(int(c), delta, epsilon) for c in n]
    loss = loss_ops.softmax_scale(torch.from_numpy(n), delta, epsilon)
    assert loss.dtype == torch.float64
    np.testing.assert_allclose(loss.numpy(), tracker, rtol=1e-12, atol=1e-12)


def orthonormal_identities(people: int, d: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(d, people, generator=g, dtype=torch.float64))
    return q.T  # (people, d), orthonormal rows


@pytest.mark.parametrize("transitive, hinge", [("conference", "conference"), ("journal", "conference"),
                                               ("journal", "journal")])
def test_perfect_features_give_zero_loss(transitive, hinge):
    b, k, n, people, d = 2, 6, 7, 5, 16
    ids = orthonormal_identities(people, d)
    g = torch.Generator().manual_seed(1)
    feats = torch.zeros(b, k, n, d, dtype=torch.float64)
    mask = torch.zeros(b, k, n, dtype=torch.bool)
    for i in range(b):
        for j in range(k - i):  # sample 1 ends with a padding image
            slots = torch.randperm(n, generator=g)[:people]  # same people, any order and slots
            feats[i, j, slots] = ids[torch.randperm(people, generator=g)]
            mask[i, j, slots] = True
    out = MvMHATLoss(transitive=transitive, hinge=hinge)(feats, mask)
    for name in TERMS:
        assert out[name].item() == pytest.approx(0.0, abs=1e-12), name


@pytest.mark.parametrize("transitive", ["conference", "journal"])
def test_permuting_people_changes_nothing(transitive):
    feats, mask = random_batch(2, 5, 6, 8, pad_images=((1, 3),), seed=11)
    g = torch.Generator().manual_seed(5)
    perm = torch.stack([torch.stack([torch.randperm(6, generator=g) for _ in range(5)])
                        for _ in range(2)])  # (B, K, N): slots, padding included
    p_feats = torch.gather(feats, 2, perm[..., None].expand_as(feats))
    p_mask = torch.gather(mask, 2, perm)
    crit = MvMHATLoss(transitive=transitive)
    out, p_out = crit(feats, mask), crit(p_feats, p_mask)
    for name in TERMS:
        torch.testing.assert_close(p_out[name], out[name], rtol=1e-12, atol=1e-14)


def test_self_term_by_hand():
    # One image, two people with cosine 1/2. tau = ln(2) / 0.1, so e^tau = 1024 and
    # sigma(S_aa) = [[32/33, 1/33], [1/33, 32/33]]; with m = 1 each of the four hinge
    # terms is 1/33 + 1 - 32/33 = 2/33, and (1/4) * 4 * 2/33 = 2/33.
    f = torch.tensor([[1.0, 0.0], [0.5, 3 ** 0.5 / 2]], dtype=torch.float64)
    out = MvMHATLoss(margin=1.0)(f[None, None], torch.ones(1, 1, 2, dtype=torch.bool))
    assert out["self"].item() == pytest.approx(2 / 33, rel=1e-12)
    assert out["pairwise"].item() == 0 and out["triplewise"].item() == 0


def test_pairwise_term_by_hand():
    # Image a = (e1, e2), image b = (e1, e1): S_ab = [[1, 1], [0, 0]], S_ba = [[1, 0], [1, 0]].
    # n_a = n_b, so U = S_ab: sigma(U) = all 1/2, sigma(U^T) rows = [1024, 1] / 1025, so
    # C = [[1024, 1], [1024, 1]] / 1025. Hinge terms (m = 1/2): i=0: 0 and 1/2;
    # i=1: 1/2 + 1023/1025 and 1/2; total / 4.
    e1, e2 = torch.eye(2, dtype=torch.float64)
    feats = torch.stack([torch.stack([e1, e2]), torch.stack([e1, e1])])[None]  # (1, 2, 2, 2)
    out = MvMHATLoss()(feats, torch.ones(1, 2, 2, dtype=torch.bool))
    assert out["pairwise"].item() == pytest.approx((1.5 + 1023 / 1025) / 4, rel=1e-12)


def test_single_person_image_uses_an_empty_max_of_zero():
    # n = 1: sigma(S_aa) = [[1]], both maxima count as 0: (1/2) * 2 * relu(0 + m - 1).
    f = torch.tensor([[[[1.0, 0.0]]]], dtype=torch.float64)
    out = MvMHATLoss(margin=1.5)(f, torch.ones(1, 1, 1, dtype=torch.bool))
    assert out["self"].item() == pytest.approx(0.5, rel=1e-12)


def test_no_pairs_or_triples_is_zero_and_nan_padding_is_ignored():
    feats, mask = random_batch(1, 3, 4, 8, pad_images=((0, 1), (0, 2)), seed=2)
    feats[~mask] = float("nan")
    x = feats.clone().requires_grad_(True)
    out = MvMHATLoss()(x, mask)
    assert out["pairwise"].item() == 0 and out["triplewise"].item() == 0
    out["loss"].backward()
    assert torch.isfinite(out["loss"]) and torch.isfinite(x.grad).all()


def test_low_precision_inputs_are_computed_in_float32():
    feats, mask = random_batch(2, 4, 5, 8, pad_images=((1, 0),), seed=4)
    ref = MvMHATLoss()(feats, mask)
    out32 = MvMHATLoss()(feats.float(), mask)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out_bf16 = MvMHATLoss()(feats.to(torch.bfloat16), mask)
    for name in TERMS:
        assert out32[name].dtype == torch.float32 and out_bf16[name].dtype == torch.float32
        torch.testing.assert_close(out32[name], ref[name].float(), rtol=1e-4, atol=1e-5)
        assert abs(out_bf16[name].item() - ref[name].item()) < 0.05


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("transitive", ["conference", "journal"])
def test_cuda_matches_cpu_and_runs_under_bf16_autocast(transitive):
    feats, mask = random_batch(2, 5, 6, 8, pad_images=((1, 3),), seed=6)
    crit = MvMHATLoss(margin=0.9, transitive=transitive)
    out, grad = run(crit, feats, mask)
    out_cuda, grad_cuda = run(crit, feats.cuda(), mask.cuda())
    for name in TERMS:
        torch.testing.assert_close(out_cuda[name].cpu(), out[name], rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(grad_cuda.cpu(), grad, rtol=1e-7, atol=1e-10)
    x = feats.cuda().to(torch.bfloat16).requires_grad_(True)
    with torch.autocast("cuda", dtype=torch.bfloat16):
        out_bf16 = crit(x, mask.cuda())
    out_bf16["loss"].backward()
    assert out_bf16["loss"].dtype == torch.float32 and torch.isfinite(x.grad).all()
    assert abs(out_bf16["loss"].item() - out["loss"].item()) < 0.1


def test_bad_arguments():
    with pytest.raises(ValueError, match="journal"):
        MvMHATLoss(transitive="paper")
    with pytest.raises(ValueError, match="mask"):
        MvMHATLoss()(torch.zeros(1, 2, 3, 4), torch.ones(1, 2, 4, dtype=torch.bool))
