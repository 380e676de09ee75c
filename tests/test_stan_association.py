"""The ``stan`` association mode: its STAN input, threshold + Hungarian partners, one ID per
person across views on a small synthetic scene, and the config path to a STAN file."""
import itertools
from pathlib import Path

import numpy as np
import pytest
import torch

from config import TrackConfig, load_config
from deep_sort.multiview import make_association
from deep_sort.nn_matching import NearestNeighborDistanceMetric
from deep_sort.tracker import Tracker
from deep_sort.stan_association import StanAssociation, stan_input, threshold_hungarian
from models.stan import STAN, StanFileError, save_stan
from pipeline.tracking import tracker_params
from tools import pretrain_stan
from tests.test_multiview import VIEWS, make_scene, run


class PassThrough(torch.nn.Module):
    """A stand-in STAN whose A is its input P (clamped as STAN's): the mode then matches on the
    softmaxed blocks themselves, which the tests can compute by hand."""

    def forward(self, p, valid):
        pair = valid[:, :, None] & valid[:, None, :]
        return torch.where(pair, p.clamp(1e-4, 0.9999), p.new_zeros(()))


def test_stan_input_blocks():
    e = np.eye(3)
    groups = [e[[0, 1]], np.zeros((0, 3)), e[[1, 0, 2]]]
    p = stan_input(groups, 0.5, 0.1)
    assert p.shape == (5, 5)
    # block (image 0, image 2): rows e0, e1 against e1, e0, e2; tau = ln(3) / 0.1 -> 3^10 = 59049
    big = 3.0 ** 10
    np.testing.assert_allclose(p[0, 2:], np.array([1, big, 1]) / (big + 2), rtol=1e-12)
    np.testing.assert_allclose(p[:2, :2], np.eye(2) * (2 ** 10 - 1) / (2 ** 10 + 1) + 1 / (2 ** 10 + 1),
                               rtol=1e-12)


def test_threshold_hungarian_by_hand():
    block = np.array([[0.6, 0.55], [0.58, 0.2], [0.1, 0.3]])
    # after the threshold: [[0.6, 0.55], [0.58, 0], [0, 0]]; best: (0,1) + (1,0) = 1.13 > 0.6
    assert threshold_hungarian(block, 0.5) == [(0, 1), (1, 0)]
    assert threshold_hungarian(np.zeros((0, 2)), 0.5) == []


def test_partners_follow_the_symmetrised_assignment():
    scene = make_scene(1, people=3, seed=1)
    dets = {v: scene[1][v][1] for v in VIEWS}
    dets[3] = dets[3][:2]  # view 3 lacks person 2
    mode = StanAssociation(PassThrough(), epsilon=0.1, threshold=0.5)
    # no tracks yet: only detections enter STAN
    trackers = {v: Tracker(NearestNeighborDistanceMetric("cosine", 0.2), itertools.count(1)) for v in VIEWS}
    partners = mode.partner_table(VIEWS, trackers, dets)
    assert partners.get(1, 2).tolist() == [0, 1, 2]
    assert partners.get(1, 3).tolist() == [0, 1, -1]  # person 2 has no partner in view 3
    assert partners.get(3, 1).tolist() == [0, 1]


def test_one_id_per_person_across_views():
    scene = make_scene(40, people=4, seed=3, absent={(2, 1): (10, 14)})
    ids = run(scene, association=StanAssociation(PassThrough(), renew_interval=10))
    for f in (20, 40):
        for p in range(4):
            seen = {ids[f][v][p] for v in VIEWS if p in ids[f][v]}
            assert len(seen) == 1, (f, p, ids[f])
        assert len({ids[f][1][p] for p in range(4)}) == 4  # different people keep different IDs


def test_a_real_stan_runs_in_the_tracker(tmp_path):
    torch.manual_seed(0)
    save_stan(tmp_path / "fc.pt", STAN("fc"), {"untrained": True})
    track = load_config(None, ["--track.association=stan", f"--track.stan_weights={tmp_path / 'fc.pt'}"]).track
    params = tracker_params(track)
    assert isinstance(params["association"], StanAssociation)
    assert params["association"].epsilon == 0.1 and params["association"].renew_interval == 30
    scene = make_scene(5, people=3, seed=2)
    ids = run(scene, association=params["association"])
    assert all(len(ids[f][v]) <= 3 for f in ids for v in VIEWS)
    with pytest.raises(StanFileError, match="stan_weights"):
        tracker_params(load_config(None, ["--track.association=stan"]).track)
    with pytest.raises(KeyError, match="stan"):
        make_association("stann")


SHARED = Path(__file__).resolve().parents[2] / "shared"  # a shared/ folder beside the repository
ORACLE = SHARED / "data" / "mvmhat_eval"


@pytest.mark.skipif(not (SHARED / "tools" / "oracle_features.py").is_file() or not (ORACLE / "scenes.csv").is_file(),
                    reason=f"needs the shared oracle tool and MvMHAT test GT in {SHARED}")
def test_oracle_protocol_runs_the_stan_mode(tmp_path):
    from tools.oracle_eval import run_sigma

    args = pretrain_stan.parse_args(["--variant", "fc", "--train", "60", "--val", "5", "--epochs", "2", "--lr", "1e-2",
                                     "--people", "3,5", "--out", str(tmp_path / "fc.pt")])
    pretrain_stan.main(args)
    rows = {}
    for mode in ("release", "stan"):
        for sigma in (0.0, 0.3):
            track = TrackConfig(association=mode, stan_weights=str(tmp_path / "fc.pt"), renew_interval=10)
            rows[mode, sigma] = run_sigma(sigma, ["1"], track, tmp_path / mode, data=ORACLE,
                                          frame_ranges={"1": (800, 860)})
    assert rows["stan", 0.0]["frames"] == 59 and rows["stan", 0.0]["MOTA"] > 0.9
    # exact features: both modes find the same (perfect) cross-view partners, so the same tracks
    assert rows["stan", 0.0]["MVIDF1"] == rows["release", 0.0]["MVIDF1"]
    # noisy features: the release's epsilon-0.5 softmax never reaches 0.5 on this range (no cross-view
    # ID at all: MVIDF1 0/0); STAN's sharper input links views
    release = rows["release", 0.3]["MVIDF1"]
    assert np.isnan(release) or release == 0
    assert rows["stan", 0.3]["MVIDF1"] > 0.1
