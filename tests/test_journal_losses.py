"""The MvMHAT++ (journal) hinge of MvMHATLoss: parity with the plain loops (values and gradients),
a hand-computed case of each branch, perfect features give zero, bad arguments."""
from __future__ import annotations

import pytest
import torch

from models import loss_ops
from models.loss_reference import LoopMvMHATLoss
from models.losses import TERMS, MvMHATLoss
from tests.test_losses import CASES, random_batch


def run(crit, feats, mask):
    """The loss terms and d loss / d features (zeros where the loss has no term with a gradient)."""
    x = feats.clone().requires_grad_(True)
    out = crit(x, mask)
    if not out["loss"].requires_grad:  # e.g. triplewise only with two images: no triple
        return out, torch.zeros_like(feats)
    (grad,) = torch.autograd.grad(out["loss"], x)
    return out, grad


@pytest.mark.parametrize("epsilon", [0.1, 1.0, 3.0])  # sharp rows (counterparts) to flat rows (none)
@pytest.mark.parametrize("weights", [(0.0, 1.0, 1.0), (1.0, 1.0, 0.0), (0.0, 0.0, 2.0)])
@pytest.mark.parametrize("case", CASES)
def test_journal_hinge_matches_loops(case, weights, epsilon):
    b, k, n, pads = case
    feats, mask = random_batch(b, k, n, d=8, pad_images=pads, seed=b * 10 + k)
    kw = dict(epsilon=epsilon, self_weight=weights[0], pairwise_weight=weights[1], triplewise_weight=weights[2],
              transitive="journal", hinge="journal", relaxed_margin=0.4, margin=0.5)
    out, grad = run(MvMHATLoss(**kw), feats, mask)
    ref, ref_grad = run(LoopMvMHATLoss(**kw), feats, mask)
    for name in TERMS:
        torch.testing.assert_close(out[name], ref[name], rtol=1e-6, atol=1e-12)
    torch.testing.assert_close(grad, ref_grad, rtol=1e-6, atol=1e-12)
    assert grad[~mask].abs().max() == 0


def test_both_branches_occur_and_differ_from_the_conference_hinge():
    # flat softmax rows (epsilon 3) have no counterpart: the journal hinge is then the band term
    feats, mask = random_batch(2, 4, 5, d=8, seed=3)
    kw = dict(epsilon=3.0, self_weight=0.0, transitive="journal")
    journal = MvMHATLoss(hinge="journal", **kw)(feats, mask)
    conference = MvMHATLoss(hinge="conference", **kw)(feats, mask)
    assert journal["pairwise"] < conference["pairwise"]  # the band term is the weaker one here
    sharp = dict(epsilon=1e-3, self_weight=0.0, transitive="journal")  # every row reaches 0.5
    torch.testing.assert_close(MvMHATLoss(hinge="journal", **sharp)(feats, mask)["pairwise"],
                               MvMHATLoss(hinge="conference", **sharp)(feats, mask)["pairwise"])


def test_journal_hinge_by_hand():
    # C = [[0.3, 0.9], [0.2, 0.6]], index 0 without a counterpart, index 1 with one; m = 0.5, m2 = 0.4.
    # i = 0: 1/2 [relu(0.9 - 0.3 - 0.4) + relu(0.3 - 0.9 - 0.4)] + 1/2 [relu(0.2 - 0.3 - 0.4)
    #        + relu(0.3 - 0.2 - 0.4)] = 0.1;  i = 1: relu(0.2 + 0.5 - 0.6) + relu(0.9 + 0.5 - 0.6) = 0.9.
    # (0.1 + 0.9) / (2 * 2) = 0.25. A padded third index changes nothing.
    c = torch.tensor([[0.3, 0.9, 5.0], [0.2, 0.6, 5.0], [5.0, 5.0, 5.0]], dtype=torch.float64)
    valid = torch.tensor([True, True, False])
    counterpart = torch.tensor([False, True, True])
    out = loss_ops.journal_hinge(c, valid, counterpart, 0.5, 0.4)
    assert out.item() == pytest.approx(0.25, rel=1e-12)
    # one index: the empty max counts as 0 and the empty min takes no term (the journal code's
    # min with 100 on the diagonal): relaxed 1/2 [relu(0 - d - m2) + 0] * 2 / 2 = 0 for d = 0.7
    one = loss_ops.journal_hinge(torch.tensor([[0.7]], dtype=torch.float64), torch.tensor([True]),
                                 torch.tensor([False]), 0.5, 0.4)
    assert one.item() == 0.0
    # with a counterpart: relu(0 + m - d) * 2 / 2 = 0.5 - 0.3
    one = loss_ops.journal_hinge(torch.tensor([[0.3]], dtype=torch.float64), torch.tensor([True]),
                                 torch.tensor([True]), 0.5, 0.4)
    assert one.item() == pytest.approx(0.2, rel=1e-12)


def test_bad_hinge_arguments():
    with pytest.raises(ValueError, match="hinge"):
        MvMHATLoss(hinge="tpami")
    with pytest.raises(ValueError, match="transitive='journal'"):
        MvMHATLoss(hinge="journal", transitive="conference")
