"""Single-view Deep SORT: crossing people keep their IDs, track lifecycle, empty frames,
matching functions, and the bound-based appearance costs against exact ones."""
import itertools

import numpy as np
import pytest

from deep_sort import Detection, Tracker
from deep_sort.iou_matching import iou_cost, iou_matrix
from deep_sort.linear_assignment import INFTY_COST, matching_cascade, min_cost_matching, unambiguous
from deep_sort.nn_matching import NearestNeighborDistanceMetric, cosine_distance

DIM = 8


def feature(person: int, rng=None, noise: float = 0.0) -> np.ndarray:
    f = np.eye(DIM)[person] + (0 if rng is None else noise * rng.standard_normal(DIM))
    return f / np.linalg.norm(f)


def make_tracker(ids=None, **kw) -> Tracker:
    kw.setdefault("n_init", 3)
    return Tracker(NearestNeighborDistanceMetric("cosine", 0.2), ids or itertools.count(1), **kw)


def step(tracker: Tracker, detections):
    tracker.predict()
    tracker.update(detections)
    # confirmed tracks updated this frame, by the index of their detection
    return {detections.index(t.detection): t.track_id for t in tracker.tracks
            if t.is_confirmed() and t.time_since_update == 0}


def test_two_people_crossing_keep_ids():
    rng = np.random.default_rng(0)
    tracker = make_tracker()
    seen = {0: set(), 1: set()}
    for f in range(60):
        xa, xb = 20 + 6 * f, 380 - 6 * f  # they meet around frame 30; the boxes overlap fully
        dets = [Detection([xa, 100, 40, 100], 1, feature(0, rng, 0.05)),
                Detection([xb, 104, 40, 100], 1, feature(1, rng, 0.05))]
        for d, tid in step(tracker, dets).items():
            seen[d].add(tid)
    assert len(seen[0]) == 1 and len(seen[1]) == 1 and seen[0] != seen[1]


def test_lifecycle_n_init_and_max_age():
    tracker = make_tracker(max_age=5)
    det = lambda: [Detection([100, 100, 40, 100], 1, feature(0))]  # noqa: E731
    assert step(tracker, det()) == {} and tracker.tracks[0].is_tentative()
    assert step(tracker, det()) == {}
    assert step(tracker, det()) == {0: 1}  # confirmed at the third hit
    for _ in range(4):  # 4 missed frames: kept
        step(tracker, [])
    assert tracker.tracks[0].time_since_update == 4 and tracker.tracks[0].is_confirmed()
    assert step(tracker, det()) == {0: 1}  # found again by the cascade (5 frames since update)
    for _ in range(5):
        step(tracker, [])
    assert step(tracker, det()) == {} and [t.track_id for t in tracker.tracks] == [2]  # too late



@pytest.mark.parametrize("reid_after", [0, 1, 3])
def test_reid_after_camera_turn(reid_after):
    """Two people walk; the camera turns away for frames 10-14 and comes back 250 px off, so
    every box is outside the Kalman gate with no IoU overlap. Deep SORT (0) starts new IDs; with
    ``reid_after`` the lost tracks are re-found on appearance at once, keep their IDs and are
    then tracked at the new place. A newcomer who looks like nobody seen keeps a new ID."""
    tracker = make_tracker(reid_after=reid_after)
    frames = []
    for f in range(25):
        shift = 250 if f >= 15 else 0
        dets = [] if 10 <= f < 15 else [Detection([20 + 3 * f + shift, 100, 40, 100], 1, feature(0)),
                                         Detection([100 + 3 * f + shift, 80, 40, 100], 1, feature(1))]
        if f >= 15:
            dets.append(Detection([700, 220, 40, 100], 1, feature(2)))
        frames.append(step(tracker, dets))
    before, after = frames[9], frames[-1]
    assert set(before.values()) == {1, 2}
    assert after[2] not in (1, 2)
    if reid_after == 0:
        assert {after[0], after[1]}.isdisjoint({1, 2})
    else:
        assert frames[15] == {0: before[0], 1: before[1]}  # re-found in the first frame back
        assert after[0] == before[0] and after[1] == before[1]
        moved = tracker.find(before[0])
        assert abs(moved.to_tlwh()[0] - (20 + 3 * 24 + 250)) < 5  # the motion state restarted there


def test_reid_after_waits_for_the_cascade():
    """A track missed fewer than ``reid_after`` frames is left to the cascade: a jump after
    one miss is not re-found at once with ``reid_after=3``."""
    tracker = make_tracker(reid_after=3)
    for f in range(12):
        shift = 250 if f >= 11 else 0
        dets = [] if f == 10 else [Detection([20 + 3 * f + shift, 100, 40, 100], 1, feature(0))]
        out = step(tracker, dets)
    assert out == {} and tracker.find(1).time_since_update == 2


def test_reid_after_validates():
    with pytest.raises(ValueError, match="reid_after"):
        make_tracker(reid_after=-1)
    with pytest.raises(ValueError, match="reid_margin"):
        make_tracker(reid_margin=-0.1)


def _lost_and_back(features_before, features_after, **kw) -> tuple:
    """Three people tracked for 10 frames; people 0 and 1 vanish for 5 frames and come back
    250 px off (outside the Kalman gate), person 2 stays. Returns (IDs before, IDs after)."""
    tracker = make_tracker(**kw)
    out = []
    for f in range(17):
        lost = 10 <= f < 15
        shift = 250 if f >= 15 else 0
        feats = features_before if f < 10 else features_after
        dets = [Detection([300, 300, 40, 100], 1, feats[2])]
        if not lost:
            dets += [Detection([20 + 3 * f + shift, 100, 40, 100], 1, feats[0]),
                     Detection([100 + 3 * f + shift, 80, 40, 100], 1, feats[1])]
        out.append(step(tracker, dets))
    return out[9], out[15]


def test_reid_margin_keeps_clear_cases():
    """Distinct features: the margin test passes and both lost people are re-found."""
    feats = [feature(k) for k in range(3)]
    before, after = _lost_and_back(feats, feats, reid_after=1, reid_margin=0.3)
    assert len(set(before.values())) == 3 and after == before  # detection index -> ID


def test_reid_margin_refuses_ambiguous_features():
    """Features that hardly differ (as random-weight ones) pass the threshold but not the margin:
    without it the lost tracks take the detections back, with it new tracks start."""
    common = np.ones(DIM) / np.sqrt(DIM)
    feats = [(common + 0.05 * feature(k)) / np.linalg.norm(common + 0.05 * feature(k)) for k in range(3)]
    before, after = _lost_and_back(feats, feats, reid_after=1)
    assert after == before
    before, after = _lost_and_back(feats, feats, reid_after=1, reid_margin=0.1)
    assert after == {0: before[0]}  # the two detections that came back start tentative tracks

def test_tentative_track_dies_on_first_miss():
    tracker = make_tracker()
    step(tracker, [Detection([100, 100, 40, 100], 1, feature(0))])
    step(tracker, [])
    assert tracker.tracks == []


def test_empty_frames():
    tracker = make_tracker()
    for _ in range(3):
        assert step(tracker, []) == {}
    dets = [Detection([100, 100, 40, 100], 1, feature(0))]
    for _ in range(3):
        step(tracker, dets)
    step(tracker, [])
    assert len(tracker.tracks) == 1 and tracker.tracks[0].time_since_update == 1


def test_shared_id_source_and_keep_alive():
    ids = itertools.count(1)
    a, b = make_tracker(ids), make_tracker(ids)
    dets = [Detection([100, 100, 40, 100], 1, feature(0))]
    for tracker in (a, b):
        tracker.predict()
        tracker.apply(dets, [])
    assert [t.track_id for t in a.tracks + b.tracks] == [1, 2]
    a.predict()
    a.apply([], [], keep_alive={1})  # seen in another view: a tentative track survives a miss
    assert a.tracks[0].is_tentative()
    a.predict()
    a.apply(dets, [(7, 0)])  # an ID from elsewhere starts a track under that ID
    assert sorted(t.track_id for t in a.tracks) == [7]
    with pytest.raises(ValueError):
        a.apply(dets + dets, [(7, 0), (7, 1)])


def test_min_cost_matching_and_cascade():
    cost = np.array([[0.1, 0.5], [0.05, 0.9], [0.3, 0.15]])
    matches, rows, cols = min_cost_matching(cost, 0.2)
    assert matches == [(1, 0), (2, 1)] and rows == [0] and cols == []
    matches, rows, cols = min_cost_matching(cost, 0.08)
    assert matches == [(1, 0)] and cols == [1]
    assert min_cost_matching(np.zeros((0, 3)), 0.2) == ([], [], [0, 1, 2])
    assert min_cost_matching(np.zeros((2, 0)), 0.2, [5, 6]) == ([], [5, 6], [])
    # cascade: the younger track (1 frame since update) gets detection 0 first
    matches, rows, cols = matching_cascade(np.array([[0.1, 0.9], [0.05, 0.15]]), np.array([1, 2]), 0.2, 5)
    assert matches == [(0, 0), (1, 1)]
    matches, rows, cols = matching_cascade(np.array([[0.1], [0.05]]), np.array([1, 6]), 0.2, 5)
    assert matches == [(0, 0)] and rows == [1]


def test_iou_and_cosine_shapes():
    a = np.array([[0, 0, 10, 10], [5, 5, 10, 10]])
    np.testing.assert_allclose(iou_matrix(a, a[:1]), [[1], [25 / 175]])
    assert iou_matrix(a, np.zeros((0, 4))).shape == (2, 0)
    assert iou_cost(a, a, np.array([1, 2]))[1, 0] == INFTY_COST
    assert cosine_distance(np.zeros((0, 3)), np.ones((2, 3))).shape == (0, 2)


@pytest.mark.parametrize("budget", [None, 5, 40])
def test_feature_memory(budget):
    rng = np.random.default_rng(3)
    metric = NearestNeighborDistanceMetric("cosine", 0.2, budget)
    added = []
    for chunk in (1, 3, 1, 7, 20, 1, 30, 2):  # crosses block and ring boundaries
        feats = rng.standard_normal((chunk, DIM)).astype(np.float32)
        feats /= np.linalg.norm(feats, axis=1, keepdims=True)
        added += list(feats)
        metric.partial_fit({5: list(feats), 6: list(feats[:1])}, [5, 6])
        held = np.array(added[-budget:] if budget else added)
        samples = metric.samples[5]
        stored = np.concatenate(samples.arrays())
        assert sorted(map(tuple, stored)) == sorted(map(tuple, held))
        assert samples.radius() >= np.linalg.norm(held - samples.anchor, axis=1).max() - 1e-6
        query = rng.standard_normal((4, DIM)).astype(np.float32)
        np.testing.assert_allclose(metric.distance(query, [5])[0], cosine_distance(held, query).min(0), rtol=1e-5)
    metric.partial_fit({}, [6])  # forgetting inactive targets
    assert list(metric.samples) == [6]
    assert np.isinf(metric.distance(np.ones((1, DIM)), [5])).all()


def _crowd(seed, area, noise, frames=80, people=6):
    """People wandering in a square of side ``area`` px with noisy features: competing pairs."""
    rng = np.random.default_rng(seed)
    pos = rng.uniform(0, area, (people, 2))
    vel = rng.normal(0, 2, (people, 2))
    out = []
    for _ in range(frames):
        pos += vel + rng.normal(0, 0.5, (people, 2))
        keep = rng.random(people) > 0.1
        out.append([Detection([x, y, 40, 100], 1, feature(p, rng, noise))
                    for p, (x, y) in enumerate(pos) if keep[p]])
    return out


# crowded/noisy to sparse/clean: exact values, pruned pairs and lone pairs all occur
@pytest.mark.parametrize("seed, area, noise", [(0, 200, 0.5), (1, 400, 0.3), (2, 600, 0.2)])
def test_bounded_costs_match_exact_costs(seed, area, noise):
    fast, exact = make_tracker(), make_tracker(exact_costs=True)
    for dets in _crowd(seed, area, noise):
        assert step(fast, dets) == step(exact, dets)
    assert [t.track_id for t in fast.tracks] == [t.track_id for t in exact.tracks]


def test_unambiguous_hand_cases():
    cost = np.array([[0.1, 0.8, 0.9],
                     [0.7, 0.3, 0.35],
                     [0.9, 0.9, np.inf]])
    out = unambiguous(cost, 0.2)
    assert out[0, 0] == pytest.approx(0.1)  # clear in its row and its column
    assert out[1, 1] == INFTY_COST  # 0.35 in the same row is too close
    assert (out[2] == INFTY_COST).all()  # never the best of its columns by 0.2
    kept = unambiguous(cost, 0.0)  # margin 0: the entries that are row and column minima
    assert np.flatnonzero(kept < INFTY_COST).tolist() == [0, 4]
    rival = np.array([0.25, np.inf, np.inf])  # column 0 is close to someone known to be another person
    assert (unambiguous(cost, 0.2, rival)[:, 0] == INFTY_COST).all()
    assert unambiguous(np.zeros((0, 3)), 0.2).shape == (0, 3)
    single = unambiguous(np.array([[0.4]]), 0.2)  # no rival at all: kept
    assert single[0, 0] == pytest.approx(0.4)
