"""HOTA through TrackEval's metric class (metrics/hota.py): hand-computed tiny cases, and our in-memory
call against TrackEval's own file-based Evaluator on the same small sequences."""
import sys

import numpy as np
import pytest

from metrics.hota import FIELDS, HotaResult, hota_sequence, iou_trackeval
from tools.hota_files_check import evaluator_hota, write_sequences

ALPHAS = np.arange(0.05, 0.99, 0.05)  # TrackEval's 19 localisation thresholds


def rows(*items):
    """MOT rows from (frame, id, x, y, w, h) tuples."""
    return np.array(items, dtype=float).reshape(-1, 6)


def test_alphas_are_trackevals():
    assert len(ALPHAS) == 19 and ALPHAS[12] < 2 / 3 < ALPHAS[13]


def test_switch_and_false_positive_by_hand():
    """GT 1 in frames 1-4; result 10 covers it in frames 1-2, result 11 in frames 3-4 (perfect boxes,
    so every alpha gives the same); result 12 is a false positive far away in frame 4.
    TP 4, FN 0, FP 1: DetA 4/5, DetRe 1, DetPr 4/5. Each (GT, result) pair has 2 matches out of
    4 + 2 - 2 frames: AssA 1/2, AssRe 2/4, AssPr 2/2. HOTA = sqrt(4/5 x 1/2)."""
    gt = rows(*[(f, 1, 0, 0, 10, 20) for f in (1, 2, 3, 4)])
    res = rows((1, 10, 0, 0, 10, 20), (2, 10, 0, 0, 10, 20), (3, 11, 0, 0, 10, 20), (4, 11, 0, 0, 10, 20),
               (4, 12, 100, 100, 10, 20))
    got = hota_sequence(gt, res).summary()
    want = {"DetA": 0.8, "DetRe": 1.0, "DetPr": 0.8, "AssA": 0.5, "AssRe": 0.5, "AssPr": 1.0, "LocA": 1.0,
            "HOTA": np.sqrt(0.4)}
    assert got == pytest.approx(want, abs=1e-12)


def test_partial_overlap_by_hand():
    """One person, two frames; frame 2's box overlaps with IoU 80/120 = 2/3: matched for the 13
    alphas up to 0.65, not for the 6 from 0.70 (TP 1, FN 1, FP 1: DetA 1/3, AssA 1/3, DetRe 1/2)."""
    gt = rows((1, 5, 0, 0, 10, 10), (2, 5, 0, 0, 10, 10))
    res = rows((1, 9, 0, 0, 10, 10), (2, 9, 2, 0, 10, 10))
    assert iou_trackeval(gt[1:, 2:6], res[1:, 2:6])[0] == pytest.approx(2 / 3)
    got = hota_sequence(gt, res).summary()
    lo, hi = 13, 6
    want = {"HOTA": (lo + hi / 3) / 19, "DetA": (lo + hi / 3) / 19, "AssA": (lo + hi / 3) / 19,
            "DetRe": (lo + hi / 2) / 19, "DetPr": (lo + hi / 2) / 19, "AssRe": (lo + hi / 2) / 19,
            "AssPr": (lo + hi / 2) / 19, "LocA": (lo * (1 + 2 / 3) / 2 + hi * 1.0) / 19}
    assert got == pytest.approx(want, abs=1e-12)


def test_empty_inputs():
    gt = rows((1, 1, 0, 0, 10, 10))
    assert hota_sequence(gt, rows()).summary()["DetRe"] == 0.0
    assert hota_sequence(rows(), gt).summary()["DetPr"] == 0.0
    assert HotaResult.combine([hota_sequence(gt, gt), hota_sequence(gt, rows())]).summary()["DetRe"] == 0.5
    assert all(np.isnan(v) for v in HotaResult().summary().values())


def test_duplicated_row_keeps_last_copy():
    gt = rows((1, 1, 0, 0, 10, 10), (1, 1, 50, 50, 10, 10))  # the second copy is the one kept
    res = rows((1, 7, 50, 50, 10, 10))
    assert hota_sequence(gt, res).summary()["HOTA"] == pytest.approx(1.0)


def random_sequence(rng, frames=12, people=4):
    """GT of a few moving people and results with noise, id switches, misses and false positives."""
    gt, res = [], []
    for pid in range(people):
        x, y = rng.uniform(0, 60, 2)
        for f in range(1, frames + 1):
            x, y = x + rng.normal(0, 2), y + rng.normal(0, 2)
            if rng.random() < 0.9:
                gt.append((f, pid, x, y, 20, 40))
            if rng.random() < 0.85:
                rid = 100 + pid + (10 if f > frames // 2 and pid % 2 else 0)
                res.append((f, rid, x + rng.normal(0, 4), y + rng.normal(0, 4), 20 + rng.normal(0, 3), 40))
        if rng.random() < 0.5:
            f = int(rng.integers(1, frames + 1))
            res.append((f, 900 + pid, *rng.uniform(0, 80, 2), 20, 40))
    return rows(*gt), rows(*res)


def test_in_memory_call_equals_trackevals_evaluator(tmp_path):
    """The per-frame data we hand to HOTA is what TrackEval's MOTChallenge reader builds from files
    whose GT columns 7-9 say "evaluated pedestrian" (tools/hota_files_check.py writes them): equal
    numbers per sequence and combined. (That tool runs the same check on the 49 released sequences.)"""
    rng = np.random.default_rng(5)
    seqs = {f"seq{i}": random_sequence(rng) for i in range(3)}
    ref = evaluator_hota(tmp_path, write_sequences(tmp_path, {n: (g, r, 1) for n, (g, r) in seqs.items()}))
    ours = {name: hota_sequence(gt, res) for name, (gt, res) in seqs.items()}
    for name, result in ours.items():
        for k in FIELDS:
            np.testing.assert_allclose(result.fields[k], ref[name][k], rtol=0, atol=1e-12, err_msg=f"{name} {k}")
    combined = HotaResult.combine(list(ours.values()))
    for k in FIELDS:
        np.testing.assert_allclose(combined.fields[k], ref["COMBINED_SEQ"][k], rtol=0, atol=1e-12, err_msg=k)
    assert 0.2 < combined.summary()["HOTA"] < 0.95  # a case with real errors, not a trivial one


def test_missing_trackeval_is_a_known_error(monkeypatch):
    import errors
    from metrics import hota

    monkeypatch.setitem(sys.modules, "trackeval", None)
    monkeypatch.setitem(sys.modules, "trackeval.metrics", None)
    with pytest.raises(errors.KnownError, match="pip install --no-deps trackeval==1.3.0"):
        hota._import_hota()


def test_cross_view_hota_needs_one_id_across_views():
    """Two views, one person, perfect boxes: per-view HOTA 1 whatever the ids; on the concatenated
    layout, ids 5 and 6 for the two views halve AssA (each result covers 3 of the person's 6
    frames): CVHOTA = sqrt(1/2). The same id in both views gives 1."""
    from metrics.evaluate import evaluate
    from metrics.inputs import SceneData, ViewData

    gt = rows(*[(f, 1, 0, 0, 10, 20) for f in (1, 2, 3)])

    def scene(id_a, id_b):
        res = [gt.copy(), gt.copy()]
        res[0][:, 1], res[1][:, 1] = id_a, id_b
        return SceneData("s", 1, 3, [ViewData("s_1", gt, res[0]), ViewData("s_2", gt, res[1])])

    report = evaluate([scene(5, 6)], metrics="hota")
    assert report.view_metrics("s_1")["HOTA"] == 1.0 and report.scene_metrics("s")["HOTA"] == 1.0
    cv = report.overall_metrics()
    assert cv["CVDetA"] == 1.0 and cv["CVAssA"] == pytest.approx(0.5) and cv["CVHOTA"] == pytest.approx(np.sqrt(0.5))
    assert evaluate([scene(5, 5)], metrics="hota").overall_metrics()["CVHOTA"] == 1.0
