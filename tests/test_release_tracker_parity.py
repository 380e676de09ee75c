"""The ``release`` mode against the released tracker: its detection order and dropped detections
on hand-made cases, then scene by scene against the released tracker's own oracle runs
(``../shared/reference/released_tracker_oracle.json``)."""
import json
from pathlib import Path

import numpy as np
import pytest

from config import TrackConfig
from deep_sort import Detection, MultiViewTracker, Tracker
from deep_sort.association import NoAssociation
from deep_sort.nn_matching import NearestNeighborDistanceMetric
from deep_sort.release_association import ReleaseAssociation, release_order
from deep_sort.tracker import TemporalMatches

SHARED = Path(__file__).resolve().parents[2] / "shared"  # a shared/ folder beside the repository
DATA = SHARED / "data" / "mvmhat_eval"
REFERENCE = SHARED / "reference" / "released_tracker_oracle.json"
E = np.eye(4, dtype=np.float32)


def det(feature, x=0.0, confidence=1.0):
    return Detection([x, 0, 10, 20], confidence, feature)


def test_release_order_is_nms_order():
    # NMS at overlap 1.0 keeps every box, highest score first, equal scores from the end
    dets = lambda *conf: [det(E[0], confidence=c) for c in conf]  # noqa: E731
    assert release_order(dets(1, 1, 1)) == [2, 1, 0]
    assert release_order(dets(0.5, 0.9, 0.9, 0.2)) == [2, 1, 0, 3]
    assert release_order([]) == []
    assert ReleaseAssociation.detection_order(dets(0.3, 0.8)) == [1, 0]


def test_multiview_tracker_takes_the_modes_detection_order():
    frame = {1: [det(E[0], 0), det(E[1], 50), det(E[2], 100)]}
    release = MultiViewTracker((1,), ReleaseAssociation())
    release.update(1, frame)
    # new IDs are drawn in the release's order: the last detection first
    assert [(t.track_id, t.detection.tlwh[0]) for t in release.trackers[1].tracks] == [(1, 100), (2, 50), (3, 0)]
    plain = MultiViewTracker((1,), NoAssociation())
    plain.update(1, frame)
    assert [(t.track_id, t.detection.tlwh[0]) for t in plain.trackers[1].tracks] == [(1, 0), (2, 50), (3, 100)]


def test_discarded_cross_view_claim_drops_the_detection():
    # view 1: persons 0, 1 on tracks 10, 11. View 2: its track 11 took person 2's detection 0;
    # detection 1 (person 1) finds track 11 through view 1, but track 11 is matched in view 2
    # already: the cross-view match is discarded and detection 1 starts no track either
    detections = {1: [det(E[0]), det(E[1])], 2: [det(E[2]), det(E[1])]}
    temporal = {1: TemporalMatches([(10, 0), (11, 1)], [], []), 2: TemporalMatches([(11, 0)], [], [1])}
    plan = ReleaseAssociation().associate(31, (1, 2), {}, detections, temporal)
    assert plan.assignments == {1: [(10, 0), (11, 1)], 2: [(11, 0)]}
    assert plan.dropped == {2: {1}}
    # a detection nobody claims still starts a new track (not dropped)
    temporal[1] = TemporalMatches([(10, 0)], [], [1])
    plan = ReleaseAssociation().associate(31, (1, 2), {}, detections, temporal)
    assert plan.assignments == {1: [(10, 0)], 2: [(11, 0)]} and plan.dropped == {}


def test_temporal_match_lost_at_rematching_drops_the_detection():
    # re-matching frame: view 2's temporal matches (10, 1) and (20, 0) are put back; detection 0
    # (person 0) takes track 10 from view 1, which discards both; detection 1 (person 2, no
    # partner among view 1's three people) had a claim, so it is dropped, not a new track
    detections = {1: [det(E[0]), det(E[1]), det(E[3])], 2: [det(E[0]), det(E[2])]}
    temporal = {1: TemporalMatches([(10, 0), (11, 1), (12, 2)], [], []),
                2: TemporalMatches([(10, 1), (20, 0)], [], [])}
    plan = ReleaseAssociation(renew_interval=30).associate(30, (1, 2), {}, detections, temporal)
    assert plan.assignments[2] == [(10, 0)]
    assert plan.dropped == {2: {1}}
    assert plan.keep_alive == {10, 11, 12, 20}


def test_tracker_apply_skips_dropped_detections():
    tracker = Tracker(NearestNeighborDistanceMetric("cosine", 0.2), iter(range(1, 10)))
    tracker.apply([det(E[0], 0), det(E[1], 50), det(E[2], 100)], [], dropped={1})
    assert [(t.track_id, t.detection.tlwh[0]) for t in tracker.tracks] == [(1, 0), (2, 100)]


# --- parity with the released tracker, scene by scene ----------------------------------------
PARITY_SCENES = ["3", "8", "9", "13"]  # the scenes the earlier rules got wrong (all 13: see docs)


@pytest.mark.skipif(not REFERENCE.is_file() or not (SHARED / "tools" / "oracle_features.py").is_file()
                    or not (DATA / "scenes.csv").is_file(),
                    reason=f"needs the released-tracker reference, the oracle tool and the MvMHAT test GT "
                           f"in {SHARED} (a shared/ folder beside the repo)")
@pytest.mark.parametrize("sigma", [0.0, 0.3])
def test_release_matches_the_released_tracker_per_scene(tmp_path, sigma):
    from tools.oracle_eval import run_sigma

    reference = json.loads(REFERENCE.read_text())["sigma"][f"{sigma:.1f}"]["per_scene"]
    row = run_sigma(sigma, PARITY_SCENES, TrackConfig(association="release"), tmp_path, data=DATA)
    for scene in PARITY_SCENES:
        ours, ref = row["per_scene"][scene], reference[scene]
        for key in ("MOTA", "IDF1"):  # percent in the reference
            assert 100 * ours[key] == pytest.approx(ref[key], abs=0.05), (scene, key)
        for key in ("MVIDP", "MVIDR", "MVIDF1", "MVMA"):
            assert np.nan_to_num(ours[key]) == pytest.approx(ref[key], abs=0.001), (scene, key)
        # exact: the inputs are fixed (GT boxes, seeded one-hot features) and the counts have margin
        # against float differences between CPUs: they equal the released code's (another
        # implementation) and stay the same with features and boxes perturbed by 1e-5 and 1e-10
        # relative, far above float32/float64 summation-order differences
        assert ours["IDs"] == ref["IDs"], scene
