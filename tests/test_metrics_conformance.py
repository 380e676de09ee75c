"""Conformance with the official MATLAB evaluation on the released MvMHAT results.

Reference numbers: ``shared/reference/official_eval_scenes_1-6.json`` (per view, pooled, cross-view
per scene and overall) and ``official_crossview_perframe_scenes_1-6.csv`` (cross-view internals per
frame). Every integer count must be equal; every ratio within 1e-4 as a fraction (0.01 for the
values the reference gives in percent). Scenes 7-14 have no reference here; they must run and give
consistent numbers.
"""
import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest

from metrics.clear_mot import ClearCounts
from metrics.evaluate import CROSS_VIEW_METRICS, METRICS, PER_VIEW_METRICS, evaluate
from metrics.identity import IdCounts
from metrics.inputs import load_scenes, scenes_from_csv

SHARED = Path(__file__).resolve().parents[2] / "shared"
DATA = SHARED / "data" / "mvmhat_eval"
REFERENCE = SHARED / "reference"
if not (DATA / "scenes.csv").is_file() or not (REFERENCE / "official_eval_scenes_1-6.json").is_file():
    pytest.skip(f"needs the official data and reference numbers in {SHARED} (a shared/ folder beside "
                f"the repository, present in CI)", allow_module_level=True)

PERCENT = 0.01  # tolerance for reference values printed in percent
FRACTION = 1e-4


@pytest.fixture(scope="module")
def reference():
    return json.loads((REFERENCE / "official_eval_scenes_1-6.json").read_text())


@pytest.fixture(scope="module")
def report():
    data, notes = load_scenes(scenes_from_csv(DATA / "gt", DATA / "res", DATA / "scenes.csv"))
    return evaluate(data, backend="official", notes=notes)


def mot_fields(clear: ClearCounts, ident: IdCounts) -> tuple[dict, dict]:
    """Our counts and percentages under the reference's (devkit's) names."""
    counts = {"FP": clear.fp, "FN": clear.fn, "IDs": clear.ids, "FM": clear.fm, "GT": clear.tracks,
              "Ngt": clear.tracks, "MT": clear.mt, "PT": clear.pt, "ML": clear.ml, "sum_c": clear.matches,
              "sum_g": clear.gt, "sum_fp": clear.fp, "sum_m": clear.fn, "sum_mme": clear.ids, "Fgt": clear.frames,
              "IDTP": ident.idtp, "IDFP": ident.idfp, "IDFN": ident.idfn, "numGT": ident.gt, "numPRED": ident.pred}
    r, i = clear.ratios(), ident.ratios()
    percent = {"MOTA": r["MOTA"], "MOTP": r["MOTP"], "Rcll": r["Rcll"], "Prcn": r["Prcn"],
               "IDF1": i["IDF1"], "IDP": i["IDP"], "IDR": i["IDR"]}
    return counts, {k: 100 * v for k, v in percent.items()}


def compare_mot(where: str, ref: dict, clear: ClearCounts, ident: IdCounts) -> list[str]:
    counts, percent = mot_fields(clear, ident)
    errors = [f"{where} {k}: {v} != {ref[k]}" for k, v in counts.items() if k in ref and v != ref[k]]
    errors += [f"{where} {k}: {v:.6f} != {ref[k]:.6f}" for k, v in percent.items()
               if k in ref and abs(v - ref[k]) > PERCENT]
    if "FAR" in ref and abs(clear.ratios()["FAR"] - ref["FAR"]) > FRACTION:
        errors.append(f"{where} FAR")
    if abs(clear.distsum - ref["distsum"]) > FRACTION:
        errors.append(f"{where} distsum: {clear.distsum} != {ref['distsum']}")
    return errors


def test_per_view_mot_metrics(report, reference):
    refs = reference["mot_per_view"]
    assert len(refs) == 23
    errors = [e for key, ref in refs.items() for e in compare_mot(key, ref, report.views[key].clear,
                                                                   report.views[key].ident)]
    assert not errors, "\n".join(errors)


def test_pooled_mot_metrics(report, reference):
    keys = [k for s in reference["scenes"] for k in report.scenes[s].views]
    clear = ClearCounts.total(report.views[k].clear for k in keys)
    ident = IdCounts.total(report.views[k].ident for k in keys)
    errors = compare_mot("scenes 1-6", reference["mot_pooled_scenes_1_6"], clear, ident)
    assert not errors, "\n".join(errors)


def test_crossview_per_scene(report, reference):
    errors = []
    for scene, ref in reference["cross_view_per_scene"].items():
        c = report.scenes[scene].crossview
        ours = {"MVMISSED": c.missed, "MVFP": c.fp, "MVMME": c.mme, "ALLBOX": c.boxes, "num_frames": c.frames,
                "nan_prec_frames": c.nan_precision_frames, "nan_rec_frames": c.nan_recall_frames}
        errors += [f"{scene} {k}: {v} != {ref[k]}" for k, v in ours.items() if v != ref[k]]
        errors += [f"{scene} {k}: {v} != {ref[k]}" for k, v in c.ratios().items() if abs(v - ref[k]) > FRACTION]
        assert report.ranges[scene] == (ref["start"], ref["end"]) and len(report.scenes[scene].views) == ref["num_views"]
    assert not errors, "\n".join(errors)


def test_crossview_per_frame(report):
    errors = []
    with open(REFERENCE / "official_crossview_perframe_scenes_1-6.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    by_scene = {}
    for r in rows:
        by_scene.setdefault(r["scene"], []).append(r)
    for scene, ref in by_scene.items():
        fr = report.scenes[scene].frames
        assert [int(r["frame"]) for r in ref] == fr.frame.tolist()
        for k, r in enumerate(ref):
            for name, ours in (("new_missed", fr.missed), ("new_fp", fr.fp), ("new_mme", fr.mme),
                               ("all_bbx", fr.boxes)):
                if int(r[name]) != ours[k]:
                    errors.append(f"{scene} frame {r['frame']} {name}: {ours[k]} != {r[name]}")
            for name, ours in (("precision", fr.precision), ("recall", fr.recall)):
                want = float(r[name])
                same = (math.isnan(want) and math.isnan(ours[k])) or abs(want - ours[k]) < 1e-9
                if not same:
                    errors.append(f"{scene} frame {r['frame']} {name}: {ours[k]} != {want}")
    assert not errors, "\n".join(errors[:20])


def test_crossview_overall(report, reference):
    from metrics.crossview import crossview_overall, CrossViewCounts

    ref = reference["cross_view_scenes_1_6"]
    scenes = [report.scenes[s].crossview for s in reference["scenes"]]
    overall = crossview_overall(scenes)
    for k in ("MVIDP", "MVIDR", "MVIDF1", "MVMA"):
        assert overall[k] == pytest.approx(ref[k], abs=FRACTION), k
    total = CrossViewCounts.total(scenes)
    assert (total.missed, total.fp, total.mme, total.boxes) == (ref["MVMISSED"], ref["MVFP"], ref["MVMME"], ref["ALLBOX"])


def test_all_scenes_run_and_are_consistent(report):
    assert list(report.scenes) == ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "12", "13", "14"]
    assert len(report.views) == 49
    for key, v in report.views.items():
        c, i = v.clear, v.ident
        assert c.mt + c.pt + c.ml == c.tracks and c.matches + c.fn == c.gt, key
        assert i.idtp + i.idfn == i.gt and i.idtp + i.idfp == i.pred, key
        metrics = report.view_metrics(key)
        assert set(metrics) == set(PER_VIEW_METRICS)
        assert all(np.isfinite(x) for x in metrics.values()), key
    for name in report.scenes:
        metrics = report.scene_metrics(name)
        assert set(metrics) == set(METRICS)
        assert all(np.isfinite(metrics[k]) for k in CROSS_VIEW_METRICS), name
        assert 0 <= metrics["CVIDF1"] <= 1 and metrics["CVMA"] <= 1
    doc = report.to_json()
    assert set(doc["overall"]) == set(METRICS) and set(doc["per_view"]) == set(report.views)
    json.dumps(doc, allow_nan=False)
    assert any("3_2" in n and "duplicated" in n for n in report.notes)


def test_protocol_file_in_the_repository_is_the_shared_one():
    """eval.py's default scenes file (configs/datasets/mvmhat_eval_scenes.csv) is the official one."""
    from metrics.inputs import read_scenes_csv

    repo = Path(__file__).resolve().parents[1]
    ours = read_scenes_csv(repo / "configs" / "datasets" / "mvmhat_eval_scenes.csv")
    assert ours == read_scenes_csv(DATA / "scenes.csv")
