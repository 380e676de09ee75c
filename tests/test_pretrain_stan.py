"""STAN pre-training: the synthetic matrices follow their description, the F1 rule by hand,
and a tiny run of ``python -m tools.pretrain_stan`` writes a loadable STAN file."""
import json
import math

import numpy as np
import pytest

from models import stan_pretrain
from models.stan import load_stan
from models.stan_pretrain import _noisy_block, block_matches, f1, match_counts, stick_breaking, synthetic_sample
from tools import pretrain_stan


@pytest.mark.parametrize("seed", range(5))
def test_synthetic_matrices_follow_the_description(seed):
    p, target, image_of = synthetic_sample(np.random.default_rng(seed))
    k = len(np.unique(image_of))
    assert k in (6, 8) and np.array_equal(np.unique(image_of), np.arange(k))  # 3-4 views x 2 frames
    assert np.allclose(target, target.T) and np.all(np.diag(target) == 1)
    for a in range(k):
        ra = np.flatnonzero(image_of == a)
        assert np.allclose(target[np.ix_(ra, ra)], np.eye(len(ra)))  # people of one image are distinct
        for b in range(k):
            rb = np.flatnonzero(image_of == b)
            block = p[np.ix_(ra, rb)]
            np.testing.assert_allclose(block.sum(1), 1.0, rtol=1e-5)  # row-stochastic, like a softmax
            assert (block >= 0).all()
            t = target[np.ix_(ra, rb)]
            assert (t.sum(1) <= 1).all()
            if a == b and len(rb) > 1:  # diagonal blocks lose at most 0.2 of their 1
                assert (block[t > 0] >= 0.8 - 1e-6).all()
    # per view: frame 1 shows >= floor(60%) of the scene, frame 2 is frame 1 less 0-2 plus 0-2
    ids = _identities(target, image_of)
    scene = set().union(*ids)
    assert len(scene) <= 15
    for v in range(k // 2):
        first, second = ids[2 * v], ids[2 * v + 1]
        assert len(first) >= math.floor(0.6 * len(scene))
        assert len(first - second) <= 2 and len(second - first) <= 2


def _identities(target, image_of):
    """Person labels from the target matrix (connected components = one person)."""
    label = -np.ones(len(image_of), int)
    for i in range(len(image_of)):
        if label[i] < 0:
            label[target[i] > 0] = i
    return [set(label[image_of == a].tolist()) for a in range(image_of.max() + 1)]


def test_stick_breaking_by_hand():
    # each position takes its fraction of what is left; 1 takes the rest, 0 nothing
    r = np.array([[0.5, 0.5, 1.0, 0.0], [0.0, 0.25, 1.0, 0.0]])
    parts = stick_breaking(np.random.default_rng(0), np.array([1.0, 0.4]), r)
    np.testing.assert_allclose(parts, [[0.5, 0.25, 0.25, 0.0], [0.0, 0.1, 0.3, 0.0]])
    drawn = stick_breaking(np.random.default_rng(0), np.full(3, 0.3), np.array([[np.nan, np.nan, 1.0]] * 3))
    np.testing.assert_allclose(drawn.sum(1), 0.3)
    assert (drawn >= 0).all()


def test_noise_rows_follow_the_rules():
    rng = np.random.default_rng(0)
    rows, c = 20000, 6
    target = np.zeros((2 * rows, c))
    target[:rows, 2] = 1.0  # matched rows (match in column 2), then unmatched rows
    block = _noisy_block(rng, target, diagonal=False)
    np.testing.assert_allclose(block.sum(1), 1.0)
    kept = block[:rows, 2]
    assert kept.min() >= 1 - 0.65 - 1e-12 and kept.max() <= 1 - 0.05 + 1e-12
    assert abs((kept < 0.5).mean() - 0.1) < 0.01  # false cases: u ~ U(0.5, 0.65) w.p. 0.1
    others = np.delete(block[:rows], 2, axis=1)
    np.testing.assert_allclose(others.sum(1), 1 - kept)
    means = others.mean(0)  # stick-breaking in a random order: every other column alike
    assert means.max() - means.min() < 0.01
    free = block[rows:]
    peaked = (free.max(1) >= 0.4) & (free.max(1) <= 0.75)
    near_uniform = (free.min(1) >= 0.1 / c - 1e-12) & ((free < 1 / c).sum(1) >= 1)
    assert (peaked | near_uniform).all() and 0.05 < (~near_uniform).mean() <= 0.11
    diagonal = _noisy_block(rng, np.eye(5), diagonal=True)
    assert np.diag(diagonal).min() >= 0.8 - 1e-12 and np.diag(diagonal).max() <= 1.0
    np.testing.assert_allclose(_noisy_block(rng, np.zeros((3, 1)), diagonal=False), np.ones((3, 1)))


def test_noise_rows_with_and_without_false_cases(monkeypatch):
    rng = np.random.default_rng(1)
    c = 5
    target = np.zeros((4000, c))
    target[:2000, 0] = 1.0
    monkeypatch.setattr(stan_pretrain, "FALSE_CASE_RATE", 0.0)
    block = _noisy_block(rng, target, diagonal=False)
    assert block[:2000, 0].min() >= 0.7 - 1e-12  # u ~ U(0.05, 0.3) only
    free = block[2000:]  # all near-uniform: 1-(c-1) entries dip by at most 0.9/c, the others gain
    below = (free < 1 / c).sum(1)
    assert (free >= 0.1 / c - 1e-12).all() and below.min() >= 1 and below.max() <= c - 1
    assert set(np.unique(below).tolist()) == set(range(1, c))
    monkeypatch.setattr(stan_pretrain, "FALSE_CASE_RATE", 1.0)
    block = _noisy_block(rng, target, diagonal=False)
    assert block[:2000, 0].min() >= 0.35 - 1e-12 and block[:2000, 0].max() <= 0.5 + 1e-12
    peak = block[2000:].max(1)  # all spurious: one entry U(0.4, 0.75), 1 - peak spread over the others
    assert peak.min() >= 0.4 - 1e-12 and (np.sort(block[2000:], 1)[:, -2] <= 0.6 + 1e-12).all()
    np.testing.assert_allclose(block.sum(1), 1.0)


def test_block_matches_and_f1_by_hand():
    image_of = np.array([0, 0, 1, 1])
    s = np.array([[1, 0, 0.7, 0.3],
                  [0, 1, 0.45, 0.55],
                  [0.7, 0.4, 1, 0],
                  [0.2, 0.45, 0, 1]])
    pred = block_matches(s, image_of)
    # block (0,1): (0,2) and (1,3); block (1,0): (2,0) only ((3,1) is 0.45 < 0.5)
    assert pred == {(0, 2), (1, 3), (2, 0)}
    target = np.eye(4)
    target[0, 2] = target[2, 0] = target[1, 3] = target[3, 1] = 1
    counts = match_counts(pred, target, image_of)
    assert counts == (3, 0, 1)
    assert f1(counts) == pytest.approx(6 / 7)


def test_tiny_pretraining_run_writes_a_stan_file(tmp_path, capsys):
    out = tmp_path / "stan.pt"
    args = pretrain_stan.parse_args(["--variant", "fc", "--train", "40", "--val", "10", "--epochs", "2",
                                     "--lr", "1e-3", "--people", "3,4", "--views", "2,2", "--out", str(out)])
    meta = pretrain_stan.main(args)
    stan, saved = load_stan(out)
    assert stan.variant == "fc" and saved["train"] == 40 and saved["people"] == [3, 4]
    assert 0 <= meta["stan_f1"] <= 1 and 0 < meta["hungarian_f1"] <= 1
    printed = capsys.readouterr().out
    assert f"STAN {meta['stan_f1']:.4f}" in printed and "thresholded Hungarian" in printed
    json.dumps(saved)  # the meta is plain data
    with pytest.raises(SystemExit):
        pretrain_stan.parse_args(["--people", "5,3"])
