"""Multi-view tracker with the released association rules, on small synthetic scenes.

Every scene: people walking side by side (150 px apart, never overlapping), seen by 3 views,
with near-perfect features (one-hot per person plus 1% noise). Frames start at 1, so the
re-matching frames are 30, 60, 90, ... (``renew_interval`` 30).
"""
import math

import numpy as np
import pytest

from deep_sort import Detection, MultiViewTracker
from deep_sort.detection import xyah_to_tlwh
from deep_sort.linear_assignment import adaptive_softmax, cross_view_matching, softmax_scale, threshold_matching
from deep_sort.association import FramePlan, NoAssociation
from deep_sort.release_association import ReleaseAssociation
from deep_sort.tracker import TemporalMatches

VIEWS = (1, 2, 3)
R = 30  # renew_interval


def make_scene(frames, people=5, dim=16, noise=0.01, seed=0, absent=None, swap=None):
    """``scene[f][v] = (persons, detections)``; ``absent[(v, p)] = (first, last)`` hides a person
    from a view for those frames; ``swap = (v, f, p, q)`` swaps two people's features once."""
    rng = np.random.default_rng(seed)
    absent = absent or {}
    scene = {}
    for f in range(1, frames + 1):
        scene[f] = {}
        for v in VIEWS:
            persons = [p for p in range(people)
                       if not (absent.get((v, p), (0, -1))[0] <= f <= absent.get((v, p), (0, -1))[1])]
            feats = np.eye(dim)[persons] + noise * rng.standard_normal((len(persons), dim))
            if swap and (v, f) == swap[:2]:
                i, j = persons.index(swap[2]), persons.index(swap[3])
                feats[[i, j]] = feats[[j, i]]
            feats /= np.linalg.norm(feats, axis=1, keepdims=True)
            dets = []
            for p, x in zip(persons, feats):
                h = 120 + 10 * v
                cx = 100 + 150 * p + 40 * math.sin(2 * math.pi * (f / 200 + p / people + v / 3))
                cy = 300 + 20 * v + 10 * math.cos(2 * math.pi * f / 150 + p)
                dets.append(Detection([cx - 0.2 * h, cy - h / 2, 0.4 * h, h], 1.0, x))
            scene[f][v] = (persons, dets)
    return scene


def run(scene, association=None, renew_interval=R, **kw):
    """IDs reported per frame, view and person: ``ids[f][v][p]`` (output boxes = detections);
    the released association unless another mode is given."""
    association = association or ReleaseAssociation(renew_interval=renew_interval)
    mv = MultiViewTracker(VIEWS, association, output_box="detection", **kw)
    ids = {}
    for f, views in scene.items():
        out = mv.update(f, {v: dets for v, (_, dets) in views.items()})
        ids[f] = {}
        for v, (persons, dets) in views.items():
            boxes = np.array([d.tlwh for d in dets]).reshape(-1, 4)
            ids[f][v] = {persons[int(np.flatnonzero((boxes == box).all(1))[0])]: tid for tid, box in out[v]}
    return ids


def person_ids(ids, frames, person):
    return {ids[f][v][person] for f in frames for v in VIEWS if person in ids[f][v]}


def test_views_join_the_first_views_ids_and_keep_them():
    ids = run(make_scene(150))
    # before the first re-matching frame every view has its own IDs (as released)
    assert not set(ids[20][1].values()) & set(ids[20][2].values())
    first_view = {p: ids[3][1][p] for p in range(5)}
    for f in range(3, 151):
        assert ids[f][1] == first_view  # the reference view never changes
    # released rules: the re-matched track is tentative and needs 3 rounds (frames 30, 60, 90)
    # to confirm; from then on every view reports the first view's ID for every person
    for f in range(3 * R + 1, 151):
        for v in VIEWS:
            assert ids[f][v] == first_view, (f, v)


def test_frames_and_views_without_detections():
    scene = make_scene(140)
    for f in (100, 101):  # nobody anywhere
        scene[f] = {v: ([], []) for v in VIEWS}
    for f in range(105, 116):  # view 3 sees nothing
        scene[f][3] = ([], [])
    ids = run(scene)
    assert all(ids[f][v] == {} for f in (100, 101) for v in VIEWS)
    assert ids[110][3] == {} and ids[110][1] == ids[99][1]
    for f in range(118, 141):  # tracks kept alive by the other views are found again
        for v in VIEWS:
            assert ids[f][v] == ids[99][1], (f, v)


def test_missing_views_and_unknown_views():
    mv = MultiViewTracker(VIEWS, ReleaseAssociation())
    assert mv.update(1, {}) == {1: [], 2: [], 3: []}
    with pytest.raises(KeyError, match="unknown views"):
        mv.update(2, {4: []})


def test_person_seen_first_in_the_second_view():
    ids = run(make_scene(130, absent={(1, 4): (1, 99), (3, 4): (1, 99)}))
    own = ids[3][2][4]  # person 4 gets an ID in view 2; no other view can claim it
    assert person_ids(ids, range(3, 100), 4) == {own}
    # entering views 1 and 3, it takes view 2's ID (confirmed after n_init frames)
    assert all(ids[f][v][4] == own for f in range(102, 131) for v in VIEWS)


def test_rematching_repairs_a_wrong_cross_view_id():
    # people 0 and 1 enter view 2 at frame 100 with their features swapped in that frame
    ids = run(make_scene(150, absent={(2, 0): (1, 99), (2, 1): (1, 99)}, swap=(2, 100, 0, 1)))
    a, b = ids[99][1][0], ids[99][1][1]
    assert ids[105][2][0] == b and ids[105][2][1] == a  # the wrong cross-view IDs
    fixed = next(f for f in range(105, 151) if ids[f][2][0] == a and ids[f][2][1] == b)
    assert fixed <= 100 + R
    assert all(ids[f][v] == ids[fixed][1] for f in range(fixed, 151) for v in VIEWS)


def test_bounded_costs_change_nothing():
    scene = make_scene(100, noise=0.08, absent={(2, 0): (1, 40), (3, 3): (20, 45)}, swap=(2, 41, 0, 1))
    assert run(scene) == run(scene, exact_costs=True)


def test_no_rematching_keeps_views_apart():
    ids = run(make_scene(100), renew_interval=0)
    assert not set(ids[100][1].values()) & set(ids[100][2].values())


class IndependentViews:
    """An association mode that never links views: each view keeps its temporal matches."""

    def associate(self, frame, views, trackers, detections, temporal):
        return FramePlan({v: temporal[v].matches for v in views}, set())


def test_association_mode_is_pluggable():
    scene = make_scene(100)
    mv = MultiViewTracker(VIEWS, association=IndependentViews())
    for f, views in scene.items():
        out = mv.update(f, {v: dets for v, (_, dets) in views.items()})
    assert not {t for t, _ in out[1]} & {t for t, _ in out[2]}
    with pytest.raises(TypeError, match="make_association"):  # an instance, not a name
        MultiViewTracker(VIEWS, association="release")


class Relabel:
    """Independent views, but at frame 10 view 2 swaps two IDs and renames a third."""

    def associate(self, frame, views, trackers, detections, temporal):
        relabel = {}
        if frame == 10:
            ids = sorted(t.track_id for t in trackers[2].tracks)
            relabel = {2: {ids[0]: ids[1], ids[1]: ids[0], ids[2]: 1000}}
        return FramePlan({v: [(relabel.get(v, {}).get(t, t), d) for t, d in temporal[v].matches]
                          for v in views}, set(), relabel)


def test_association_mode_can_relabel_tracks():
    scene = make_scene(12)
    mv = MultiViewTracker(VIEWS, association=Relabel(), output_box="detection")
    before = {}
    for f, views in scene.items():
        out = mv.update(f, {v: dets for v, (_, dets) in views.items()})
        boxes = [d.tlwh.tobytes() for d in views[2][1]]
        now = {boxes.index(box.tobytes()): tid for tid, box in out[2]}
        if f == 9:
            before = now
    ids = sorted(before.values())
    expected = {p: {ids[0]: ids[1], ids[1]: ids[0], ids[2]: 1000}.get(t, t) for p, t in before.items()}
    assert now == expected  # same tracks (still confirmed), new IDs
    assert sorted(mv.trackers[2].metric.samples) == sorted(expected.values())
    with pytest.raises(ValueError):
        mv.trackers[2].relabel({ids[3]: ids[4]})
    with pytest.raises(KeyError):
        mv.trackers[2].relabel({99999: 5})


class FreshPlaceholders:
    """Frame 1: view 1 starts tracks under placeholders -2 (detection 1) and -1 (detection 0);
    view 2 takes -1 for its detection 0, view 3 has its own -3 and -1 again."""

    def associate(self, frame, views, trackers, detections, temporal):
        return FramePlan({1: [(-2, 1), (-1, 0)], 2: [(-1, 0)], 3: [(-3, 1), (-1, 0)]}, set())


def test_placeholder_ids_are_drawn_in_order_of_first_appearance():
    mv = MultiViewTracker(VIEWS, association=FreshPlaceholders())
    det = lambda x: Detection([x, 0, 10, 20], 1.0, np.ones(4))  # noqa: E731
    mv.update(1, {1: [det(0), det(50)], 2: [det(0), det(50)], 3: [det(0), det(50)]})
    assert [t.track_id for t in mv.trackers[1].tracks] == [1, 2]  # -2 -> 1, -1 -> 2 (in pair order)
    assert [t.track_id for t in mv.trackers[3].tracks] == [3, 2]  # -3 -> 3
    # unassigned detections draw their IDs when the plan is applied, after every placeholder
    assert [t.track_id for t in mv.trackers[2].tracks] == [2, 4]
    assert [t.detection.tlwh[0] for t in mv.trackers[3].tracks] == [50, 0]


def test_kalman_output_box():
    scene = make_scene(12)
    dets = {f: {v: d for v, (_, d) in views.items()} for f, views in scene.items()}
    for misses, expected in ((1, 5), (0, 0)):
        mv = MultiViewTracker(VIEWS, ReleaseAssociation(), output_max_misses=misses)
        for f in range(1, 12):
            out = mv.update(f, dets[f])
        boxes = np.array([d.tlwh for d in dets[11][1]])
        assert len(out[1]) == 5
        for _, box in out[1]:  # the filtered box is close to its detection
            assert np.abs(boxes - box).sum(1).min() < 5
        out = mv.update(12, {})  # everyone missed once: reported at the predicted box or not
        assert len(out[1]) == expected



def test_degenerate_kalman_box_is_not_reported():
    # one person shrinking steadily (height 295 -> 5 in 30 frames): the missed frame's prediction
    # has a height below zero, which is no box and must not reach the result file
    feat = np.eye(4)[0]
    mv = MultiViewTracker((1,), ReleaseAssociation(), output_max_misses=1)
    for f in range(1, 31):
        out = mv.update(f, {1: [Detection([100, 100, 0.4 * (305 - 10 * f), 305 - 10 * f], 1, feat)]})
    assert len(out[1]) == 1
    track = mv.trackers[1].tracks[0]
    assert xyah_to_tlwh(mv.trackers[1].kf.predict(track.mean, track.covariance)[0][:4])[3] < 0
    assert mv.update(31, {}) == {1: []}

def test_release_rules_on_hand_made_matches():
    e = np.eye(3, dtype=np.float32)
    det = lambda f: Detection([0, 0, 10, 20], 1, f)  # noqa: E731
    # view 1 sees persons 0, 1 (tracks 10, 11); view 2 sees persons 1, 0 and 2, and has matched
    # only its detection 0 (person 1) to its own track 20
    detections = {1: [det(e[0]), det(e[1])], 2: [det(e[1]), det(e[0]), det(e[2])]}
    temporal = {1: TemporalMatches([(10, 0), (11, 1)], [], []),
                2: TemporalMatches([(20, 0)], [], [1, 2])}
    mode = ReleaseAssociation(renew_interval=30)
    # an ordinary frame: detection 1 (person 0) takes track 10's ID from view 1; detection 2
    # has no partner (person 2's row, 0.5 / 0.5 after the softmax, loses both columns in the
    # assignment) and is left to start a new ID; the temporal match stays
    plan = mode.associate(31, (1, 2), {}, detections, temporal)
    assert plan.assignments == {1: [(10, 0), (11, 1)], 2: [(20, 0), (10, 1)]}
    assert plan.keep_alive == {10, 11, 20}
    # a re-matching frame: view 2 re-decides all its detections; detection 0 takes track 11's
    # ID, which overrides its temporal match to track 20 (still kept alive this frame)
    plan = mode.associate(30, (1, 2), {}, detections, temporal)
    assert plan.assignments == {1: [(10, 0), (11, 1)], 2: [(11, 0), (10, 1)]}
    assert plan.keep_alive == {10, 11, 20}
    # with view 2 first, view 2 is the reference and view 1 re-decides: its detection 1
    # (person 1) takes track 20's ID; only reference-view matches can lend IDs in that frame
    plan = mode.associate(30, (2, 1), {}, detections, temporal)
    assert plan.assignments == {2: [(20, 0)], 1: [(10, 0), (20, 1)]}


def test_adaptive_softmax_hand_values():
    assert softmax_scale(2) == pytest.approx(2 * math.log(2))
    assert softmax_scale(1) == 0.0
    p = adaptive_softmax(np.array([[1.0, 0.0]]))
    np.testing.assert_allclose(p, [[0.8, 0.2]])  # e^(2 ln 2) = 4: 4 / (4 + 1)
    np.testing.assert_allclose(adaptive_softmax(np.eye(3)).sum(1), 1)
    assert adaptive_softmax(np.zeros((0, 3))).shape == (0, 3)


def test_cross_view_matching_hand_cases():
    # a clean permutation
    assert cross_view_matching(np.array([[0.1, 0.9], [0.95, 0.2]]))[0] == [(0, 1), (1, 0)]
    # below 0.5 after the softmax is not a match: similarities (0.2, 0.1, 0) over 3 columns give
    # e^(0.2 s) / (e^(0.2 s) + e^(0.1 s) + 1) = 0.41 with s = 2 ln 3
    s = np.array([[0.2, 0.1, 0.0]])
    assert adaptive_softmax(s)[0, 0] == pytest.approx(3 ** 0.4 / (3 ** 0.4 + 3 ** 0.2 + 1))
    assert cross_view_matching(s) == ([], [0], [0, 1, 2])
    # two rows want column 0 (0.8 and 0.78 after the softmax): the larger wins, the other row
    # has nothing left above 0.5
    assert cross_view_matching(np.array([[1.0, 0.0], [0.9, 0.0]])) == ([(0, 0)], [1], [1])
    # one column: the softmax is 1, any detection matches it (the release's forced link)
    assert cross_view_matching(np.array([[-0.3], [0.1]]))[0] == [(0, 0)]
    # a higher threshold, ids and empty inputs
    assert cross_view_matching(np.array([[1.0, 0.0]]), threshold=0.9)[0] == []
    assert cross_view_matching(np.array([[1.0, 0.0]]), row_ids=[7], col_ids=[3, 4])[0] == [(7, 3)]
    assert cross_view_matching(np.zeros((0, 2))) == ([], [], [0, 1])
    assert cross_view_matching(np.zeros((2, 0))) == ([], [0, 1], [])


def test_threshold_matching_by_hand():
    # the sum 0.9 + 0.6 beats 0.95 + 0 (0.4 is below the threshold): both rows match
    assert threshold_matching(np.array([[0.9, 0.95], [0.4, 0.6]]), 0.5) == ([(0, 0), (1, 1)], [], [])
    # a row whose every entry is below the threshold is left over, in input order, with names
    assert threshold_matching(np.array([[0.3, 0.2], [0.1, 0.7]]), 0.5, [5, 6], [8, 9]) == ([(6, 9)], [5], [8])
    # an entry equal to the threshold is kept
    assert threshold_matching(np.array([[0.5]]), 0.5)[0] == [(0, 0)]
    assert threshold_matching(np.zeros((0, 3)), 0.5) == ([], [], [0, 1, 2])


def test_no_association_is_independent_per_view_tracking():
    # a person missing from view 2 for a while: "none" must neither keep its track alive from
    # other views nor lend it IDs; each view equals a lone tracker run on that view
    scene = make_scene(100, absent={(2, 1): (40, 50)})
    ids = run(scene, association=NoAssociation())
    for f in range(3, 101):
        for v, u in ((1, 2), (1, 3), (2, 3)):
            assert not set(ids[f][v].values()) & set(ids[f][u].values())
    for v in VIEWS:
        lone = MultiViewTracker((v,), ReleaseAssociation(), output_box="detection")
        alone = {}
        for f, views in scene.items():
            persons, dets = views[v]
            boxes = np.array([d.tlwh for d in dets]).reshape(-1, 4)
            out = lone.update(f, {v: dets})
            alone[f] = {persons[int(np.flatnonzero((boxes == box).all(1))[0])]: tid for tid, box in out[v]}
        # same tracks (IDs differ: the views of one scene draw from one counter)
        pairs = {(alone[f][p], ids[f][v][p]) for f in scene for p in alone[f]}
        assert len({a for a, _ in pairs}) == len(pairs) == len({b for _, b in pairs})
        assert all(set(ids[f][v]) == set(alone[f]) for f in scene)
    assert len(person_ids(ids, range(3, 101), 1)) == 3  # one ID per view, kept across view 2's gap
