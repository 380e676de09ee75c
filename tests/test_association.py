"""The ``"tracklet"`` association mode on small hand-made scenes.

Scenes: people walking side by side (150 px apart, never overlapping) in two views, with
one-hot features per person (dimension 8). Reported boxes are the detections, so each output is
mapped back to its person exactly.
"""
import numpy as np
import pytest

from config import CHOICES, TrackConfig
from deep_sort import Detection, MultiViewTracker
from deep_sort.association import NoAssociation
from deep_sort.multiview import ASSOCIATIONS, make_association
from deep_sort.release_association import ReleaseAssociation
from deep_sort.stan_association import StanAssociation
from deep_sort.tracklet_association import TrackletAssociation
from models.stan import STAN, save_stan
from pipeline.tracking import build_association, tracker_params

VIEWS = ("1", "2")
DIM = 8


def frame_detections(f, people, view, feature_of=None, x_of=None):
    """Detections of ``people`` in ``view`` at frame ``f``: ``(persons, [Detection])``."""
    dets = []
    for p in people:
        h = 120.0
        x = (x_of or {}).get(p, 100 + 150 * p) + 20 * np.sin(f / 15 + p)
        feature = np.eye(DIM)[(feature_of or {}).get(p, p)]
        dets.append(Detection([x, 200 + 10 * int(view), 0.4 * h, h], 1.0, feature))
    return list(people), dets


def run(scene, association):
    """``ids[f][view][person]`` reported per frame; ``scene[f][view] = (persons, detections)``."""
    mv = MultiViewTracker(VIEWS, association, output_box="detection")
    ids = {}
    for f, views in scene.items():
        out = mv.update(f, {v: d for v, (_, d) in views.items()})
        ids[f] = {}
        for v, (persons, dets) in views.items():
            boxes = [d.tlwh.tobytes() for d in dets]
            ids[f][v] = {persons[boxes.index(box.tobytes())]: tid for tid, box in out[v]}
    return ids, mv


def test_one_id_space_from_the_first_confirmed_frame():
    scene = {f: {v: frame_detections(f, [0, 1, 2], v) for v in VIEWS} for f in range(1, 61)}
    ids, _ = run(scene, TrackletAssociation())
    assert ids[2] == {"1": {}, "2": {}}  # tentative until the third hit (n_init = 3)
    first = ids[3]["1"]
    assert len(set(first.values())) == 3
    for f in range(3, 61):
        assert ids[f]["1"] == first and ids[f]["2"] == first, f


def test_a_wrong_early_link_is_overturned_by_later_evidence():
    # view 2 shows persons 0 and 1 with each other's features for the first 10 frames
    swap = {0: 1, 1: 0}
    scene = {f: {"1": frame_detections(f, [0, 1, 2], "1"),
                 "2": frame_detections(f, [0, 1, 2], "2", swap if f <= 10 else None)}
             for f in range(1, 81)}
    ids, _ = run(scene, TrackletAssociation())
    early = ids[5]
    assert early["1"][0] == early["2"][1] and early["1"][1] == early["2"][0]  # the wrong links
    assert early["1"][2] == early["2"][2]
    fixed = next(f for f in range(5, 81) if all(ids[f]["1"][p] == ids[f]["2"][p] for p in range(3)))
    assert fixed <= 40  # overturned once the evidence turned (10 wrong frames vs the later ones)
    final = ids[fixed]["1"]
    assert len(set(final.values())) == 3
    for f in range(fixed, 81):
        assert ids[f]["1"] == final and ids[f]["2"] == final, f


def test_a_lone_detection_of_another_person_is_never_linked():
    # view 2 sees only person 2, whom view 1 never sees
    scene = {f: {"1": frame_detections(f, [0, 1], "1"), "2": frame_detections(f, [2], "2")}
             for f in range(1, 101)}
    ids, _ = run(scene, TrackletAssociation())
    for f in range(3, 101):
        assert ids[f]["2"][2] not in ids[f]["1"].values(), f
    # the released rules force that link (its re-matching frames 30, 60, 90 confirm it)
    released, _ = run(scene, ReleaseAssociation())
    assert released[100]["2"][2] in released[100]["1"].values()


def test_a_new_track_rejoins_its_identity_and_displaces_the_lost_one():
    # person 0 leaves view 2 for frames 21-25 and comes back far away: Deep SORT starts a
    # new track there; the association gives it the person's ID back
    scene = {}
    for f in range(1, 61):
        people2 = [0, 1] if not 21 <= f <= 25 else [1]
        x = {0: 700.0} if f > 25 else None
        scene[f] = {"1": frame_detections(f, [0, 1], "1"), "2": frame_detections(f, people2, "2", x_of=x)}
    ids, mv = run(scene, TrackletAssociation())
    person0 = ids[20]["1"][0]
    assert ids[20]["2"][0] == person0
    assert all(ids[f]["2"][0] == person0 for f in range(28, 61))  # confirmed at its third hit
    lost = [t for t in mv.trackers["2"].tracks if t.time_since_update > 0]
    assert lost and all(t.track_id not in ids[60]["1"].values() for t in lost)


def test_evidence_memory_is_bounded():
    # people come and go: the mode keeps two (D,) sums per live track, of bounded norm
    mode = TrackletAssociation(memory=20, recent=5)
    mv = MultiViewTracker(VIEWS, mode, max_age=5)
    live = set()
    for f in range(1, 201):
        people = [p for p in range(4) if (f // 40 + p) % 3 != 0]
        mv.update(f, {v: frame_detections(f, people, v)[1] for v in VIEWS})
        before, live = live, {id(t) for v in VIEWS for t in mv.trackers[v].tracks}
        assert {id(t) for t in mode.evidence} <= before | live  # tracks of this frame or the last
    assert 0 < len(mode.evidence) <= 8
    for s in mode.evidence.values():
        assert s.shape == (2, DIM) and np.linalg.norm(s[0]) <= 20 + 1e-9 and np.linalg.norm(s[1]) <= 5 + 1e-9


def test_empty_frames_and_single_views():
    mv = MultiViewTracker(VIEWS, TrackletAssociation())
    assert mv.update(1, {}) == {"1": [], "2": []}
    for f in range(2, 6):
        out = mv.update(f, {"1": frame_detections(f, [0, 1], "1")[1]})
    assert len(out["1"]) == 2 and out["2"] == []


def test_registry_lists_names_and_modes_take_their_own_parameters():
    assert ASSOCIATIONS == {"release": ReleaseAssociation, "tracklet": TrackletAssociation,
                            "stan": StanAssociation, "none": NoAssociation}
    assert set(ASSOCIATIONS) == set(CHOICES["track.association"])  # config.py cannot import deep_sort
    with pytest.raises(KeyError, match=r"'nope'.*\['none', 'release', 'stan', 'tracklet'\]"):
        make_association("nope")
    with pytest.raises(TypeError):  # no mode swallows another mode's parameters
        make_association("tracklet", renew_interval=30)
    with pytest.raises(TypeError):
        make_association("none", delta=0.5)


def test_association_built_from_config(tmp_path):
    save_stan(tmp_path / "stan.pt", STAN("fc"), {})
    for name, mode in ASSOCIATIONS.items():
        assert type(build_association(TrackConfig(association=name, stan_weights=str(tmp_path / "stan.pt")))) is mode
    release = build_association(TrackConfig(association="release", renew_interval=10, epsilon=0.3))
    assert (release.renew_interval, release.epsilon, release.delta) == (10, 0.3, 0.5)
    tracklet = build_association(TrackConfig(association="tracklet", tracklet_margin=0.05, tracklet_revise_interval=7))
    assert (tracklet.rules.margin, tracklet.revise_interval) == (0.05, 7)
    cfg = TrackConfig(association="nope")  # a config object made in code skips the CHOICES check
    with pytest.raises(KeyError, match="valid"):
        build_association(cfg)


def test_config_and_one_tracker_per_instance():
    mode = make_association("tracklet")
    cfg = TrackConfig(association="tracklet", tracklet_link_threshold=0.6)
    a, b = tracker_params(cfg)["association"], tracker_params(cfg)["association"]
    assert a is not b and a.rules.link_threshold == 0.6
    assert tracker_params(cfg)["nn_budget"] == cfg.tracklet_nn_budget  # bounded Deep SORT memory
    assert tracker_params(TrackConfig())["nn_budget"] is None  # the release keeps every feature
    MultiViewTracker(VIEWS, mode).update(1, {})
    with pytest.raises(RuntimeError, match="one MultiViewTracker"):
        MultiViewTracker(VIEWS, mode).update(1, {})
