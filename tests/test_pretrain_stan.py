"""STAN pre-training: the synthetic matrices follow their description, the F1 rule by hand,
and a tiny run of ``python -m tools.pretrain_stan`` writes a loadable STAN file."""
import json

import numpy as np
import pytest

from models.stan import load_stan
from models.stan_pretrain import block_matches, f1, match_counts, synthetic_sample
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
    # frames of one view: 0-2 leave, 0-2 enter; each image sees >= 60% of the people present
    ids = _identities(target, image_of)
    present = [set().union(*(ids[a] for a in range(t, k, 2))) for t in (0, 1)]
    assert len(present[0] - present[1]) <= 2 and len(present[1] - present[0]) <= 2
    assert 9 <= len(present[0]) <= 15
    for a in range(k):
        assert len(ids[a]) >= 0.6 * len(present[a % 2]) - 1e-9


def _identities(target, image_of):
    """Person labels from the target matrix (connected components = one person)."""
    label = -np.ones(len(image_of), int)
    for i in range(len(image_of)):
        if label[i] < 0:
            label[target[i] > 0] = i
    return [set(label[image_of == a].tolist()) for a in range(image_of.max() + 1)]


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
