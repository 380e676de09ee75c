"""eval.py end to end on tiny data written by the tests: table, JSON, bad input, dataset-root mode."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import eval as eval_cli
from loader.layout import Manifest, SceneSpec, write_manifest
from loader.mot import write_mot
from metrics.evaluate import (CV_HOTA_METRICS, FAMILIES, HOTA_METRICS, METRICS, PER_VIEW_METRICS, STMA_METRICS,
                              metric_names)
from metrics.table import COMPACT

REPO = Path(__file__).resolve().parents[1]


def track(pid, frames, x):
    return [[f, pid, x, 0, 10, 10, 1, -1, -1, -1] for f in frames]


def two_people(frames):
    return np.array(track(1, frames, 0) + track(2, frames, 50), dtype=float)


@pytest.fixture
def folder(tmp_path):
    """GT folder + scenes CSV of one scene (frames 1-3, 2 views) and perfect results."""
    (tmp_path / "scenes.csv").write_text("scene,start_frame,end_frame,num_views\n1,1,3,2\n")
    for view in (1, 2):
        write_mot(tmp_path / "gt" / f"1_{view}.txt", two_people(range(1, 4)))
        write_mot(tmp_path / "res" / f"1_{view}.txt", two_people(range(1, 4)))
    return tmp_path


def run(*argv):
    return eval_cli.main(eval_cli.parse_args([str(a) for a in argv]))


def folder_args(root, *extra):
    return ["--gt", root / "gt", "--res", root / "res", "--scenes", root / "scenes.csv", *extra]


def test_table_and_json(folder, capsys):
    assert run(*folder_args(folder, "--json", folder / "out.json")) == 0
    out = capsys.readouterr().out
    header = out.splitlines()[0].split()
    assert header == ["Scene", *COMPACT]  # every family by default, the compact columns
    overall = next(line for line in out.splitlines() if line.startswith("Overall")).split()
    assert overall[1:3] == ["100.0", "100.0"] and all(v == "100.0" for v in overall[1:])
    doc = json.loads((folder / "out.json").read_text())
    every = metric_names(FAMILIES)
    assert set(every) == set(METRICS) | set(HOTA_METRICS) | set(CV_HOTA_METRICS) | set(STMA_METRICS)
    assert set(doc["overall"]) == set(every) and doc["metrics"] == list(FAMILIES)
    assert set(doc["per_scene"]) == {"1"} and set(doc["per_scene"]["1"]) == set(every)
    assert set(doc["per_view"]) == {"1_1", "1_2"}
    assert all(set(v) == set(PER_VIEW_METRICS) | set(HOTA_METRICS) for v in doc["per_view"].values())
    assert doc["overall"]["MOTA"] == 1.0 and doc["overall"]["MVIDF1"] == 1.0 and doc["overall"]["CVMA"] == 1.0
    assert doc["overall"]["HOTA"] == 1.0 and doc["per_view"]["1_2"]["HOTA"] == 1.0 and doc["overall"]["CVHOTA"] == 1.0
    assert doc["overall"]["STMA5"] == pytest.approx(1.0, abs=1e-6)
    assert isinstance(doc["overall"]["FP"], int) and isinstance(doc["per_view"]["1_1"]["MT"], int)
    assert doc["details"]["per_view"]["1_1"]["clear"]["gt"] == 6
    assert doc["details"]["per_view"]["1_1"]["hota"]["TP"] == [6] * 19


def test_wide_and_markdown(folder, capsys):
    assert run(*folder_args(folder, "--wide")) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["Scene", *metric_names(FAMILIES)]
    overall = next(line for line in lines if line.startswith("Overall")).split()
    assert overall[metric_names(FAMILIES).index("FP") + 1] == "0"
    assert run(*folder_args(folder, "--markdown", "--metrics", "stma")) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "| Scene | STMA5 | STMA10 | STMA30 |" and lines[1] == "|---|---:|---:|---:|"
    assert lines[-2].startswith("| Overall | 100.0 |")


def test_official_only_is_the_old_report(folder, capsys):
    """--metrics official,cv: exactly the columns and keys eval.py had before HOTA and STMA."""
    assert run(*folder_args(folder, "--metrics", "official,cv", "--wide", "--json", folder / "out.json")) == 0
    assert capsys.readouterr().out.splitlines()[0].split() == ["Scene", *METRICS]
    doc = json.loads((folder / "out.json").read_text())
    assert set(doc["overall"]) == set(METRICS) and set(doc["per_scene"]["1"]) == set(METRICS)
    assert all(set(v) == set(PER_VIEW_METRICS) for v in doc["per_view"].values())
    assert set(doc["details"]["overall"]) == {"clear", "identity", "crossview", "cv_concatenated", "cv_interleaved"}
    assert run(*folder_args(folder, "--metrics", "hota", "--json", folder / "out.json")) == 0
    doc = json.loads((folder / "out.json").read_text())
    assert set(doc["overall"]) == set(HOTA_METRICS) | set(CV_HOTA_METRICS) and doc["metrics"] == ["hota"]


def test_settings_from_config(folder, tmp_path, capsys):
    """eval.metrics and eval.backend from the config's eval section; --metrics wins over it; a
    bad family name is an error naming the valid ones."""
    cfg = tmp_path / "eval.yaml"
    cfg.write_text("eval:\n  metrics: stma,official\n  backend: motmetrics\n  stma_iou: 0.4\n")
    assert run(*folder_args(folder, "--config", cfg, "--json", folder / "out.json")) == 0
    doc = json.loads((folder / "out.json").read_text())
    assert doc["metrics"] == ["official", "stma"] and doc["backend"] == "motmetrics"
    assert run(*folder_args(folder, "--config", cfg, "--eval.metrics=cv", "--json", folder / "out.json")) == 0
    assert json.loads((folder / "out.json").read_text())["metrics"] == ["cv"]
    assert run(*folder_args(folder, "--config", cfg, "--metrics", "hota", "--json", folder / "out.json")) == 0
    assert json.loads((folder / "out.json").read_text())["metrics"] == ["hota"]
    capsys.readouterr()
    assert run(*folder_args(folder, "--metrics", "official,idf1")) == 2
    assert "unknown metric family ['idf1']" in capsys.readouterr().err
    assert run(*folder_args(folder, "--eval.metrics=mota")) == 2
    assert "eval.metrics" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        eval_cli.parse_args(["--gt", "g", "--res", "r", "--train.lr=1"])  # only eval.* overrides here


def test_stma_iou_setting(folder, tmp_path):
    """Results shifted to IoU 1/3 with the GT: no STMA match at the protocol's 0.5, all at 0.3."""
    for view in (1, 2):
        write_mot(folder / "res" / f"1_{view}.txt", two_people(range(1, 4)) + [0, 0, 5, 0, 0, 0, 0, 0, 0, 0])
    out = folder / "out.json"
    assert run(*folder_args(folder, "--metrics", "stma", "--json", out)) == 0
    assert json.loads(out.read_text())["overall"]["STMA5"] == 0.0
    assert run(*folder_args(folder, "--metrics", "stma", "--eval.stma_iou=0.3", "--json", out)) == 0
    assert json.loads(out.read_text())["overall"]["STMA5"] == pytest.approx(1.0, abs=1e-6)


def test_missing_results_listed(folder, capsys):
    for view in (1, 2):
        (folder / "res" / f"1_{view}.txt").unlink()
    assert run(*folder_args(folder)) == 2
    err = capsys.readouterr().err
    assert "2 result file(s) missing" in err
    assert str(folder / "res" / "1_1.txt") in err and str(folder / "res" / "1_2.txt") in err


def test_missing_as_empty(folder, capsys):
    (folder / "res" / "1_2.txt").unlink()
    assert run(*folder_args(folder, "--missing-as-empty", "--json", folder / "out.json")) == 0
    assert "scored as empty" in capsys.readouterr().err
    doc = json.loads((folder / "out.json").read_text())
    assert doc["per_view"]["1_2"]["FN"] == 6 and doc["per_view"]["1_1"]["FN"] == 0
    assert doc["overall"]["FN"] == 6 and doc["overall"]["ML"] == 2


def test_malformed_row_names_file_and_line(folder, capsys):
    bad = folder / "res" / "1_1.txt"
    lines = bad.read_text().splitlines()
    lines[2] = "2,1,0,0,x,10"
    bad.write_text("\n".join(lines) + "\n")
    assert run(*folder_args(folder)) == 2
    assert f"{bad}:3:" in capsys.readouterr().err


def test_non_utf8_byte_names_file_and_line(folder, capsys):
    bad = folder / "gt" / "1_2.txt"
    bad.write_bytes(bad.read_bytes().replace(b"\n3,", b"\n3\xe9,", 1))
    assert run(*folder_args(folder, "--json", folder / "out.json")) == 2
    err = capsys.readouterr().err
    assert f"{bad}:" in err and "byte 0xe9" in err and "not UTF-8" in err
    assert not (folder / "out.json").exists()


def test_duplicate_rows_reported(folder, capsys):
    gt = folder / "gt" / "1_1.txt"
    gt.write_text(gt.read_text() + "2,1,0,0,10,10,1,-1,-1,-1\n")
    assert run(*folder_args(folder, "--json", folder / "out.json")) == 0
    assert "1_1: ground truth has 1 duplicated (frame, id)" in capsys.readouterr().err
    doc = json.loads((folder / "out.json").read_text())
    assert doc["details"]["per_view"]["1_1"]["clear"]["gt"] == 6  # CLEAR: one copy
    assert doc["details"]["per_view"]["1_1"]["identity"]["gt"] == 7  # IDF1: both copies
    assert any("duplicated" in n for n in doc["notes"])


def test_folder_without_scenes_or_manifest(folder, capsys):
    """Without --scenes, a GT folder must be the benchmark's (the protocol file in the repository)."""
    assert run("--gt", folder / "gt", "--res", folder / "res") == 2
    err = capsys.readouterr().err
    assert "--scenes" in err and "mvmhat_eval_scenes.csv: 47 of its files missing" in err


def test_protocol_scenes_are_the_manifests_test_ranges():
    """configs/datasets/mvmhat_eval_scenes.csv (eval.py's default) scores each scene's test range of
    configs/datasets/mvmhat.yaml, end frame included (as the official scorer does)."""
    from loader.layout import load_manifest
    from metrics.inputs import read_scenes_csv

    manifest = load_manifest(REPO / "configs" / "datasets" / "mvmhat.yaml")
    rows = read_scenes_csv(eval_cli.PROTOCOL_SCENES)
    assert [r[0] for r in rows] == list(manifest.scenes) and len(rows) == 13
    assert all((start, end) == manifest.scenes[name].splits["test"] for name, start, end, _ in rows)
    assert sum(r[3] for r in rows) == 49 and [r[0] for r in rows if r[3] == 3] == ["6", "8", "10"]


def test_unknown_scene(folder, capsys):
    assert run(*folder_args(folder, "--scene", "9")) == 2
    assert "unknown scene" in capsys.readouterr().err


def test_dataset_root(tmp_path, capsys):
    root, res = tmp_path / "data", tmp_path / "res"
    scene = SceneSpec(name="7", dir="scene7", splits={"train": (0, 2), "test": (2, 4)})  # test frames 2, 3
    write_manifest(root / "dataset.yaml", Manifest(name="tiny", scenes={"7": scene}))
    for i, view in enumerate(("cam2", "cam10"), start=1):  # numeric order: cam2 is view 1
        write_mot(root / "scene7" / view / "gt_det" / "gt.txt", two_people(range(0, 6)))
        shift = 0 if view == "cam2" else 30  # cam10's results are off target
        write_mot(res / f"7_{i}.txt", two_people(range(2, 4)) + [0, 0, shift, 0, 0, 0, 0, 0, 0, 0])
    assert run("--gt", root, "--res", res, "--json", tmp_path / "out.json") == 0
    doc = json.loads((tmp_path / "out.json").read_text())
    assert doc["scenes"]["7"]["start"] == 2 and doc["scenes"]["7"]["end"] == 3
    assert set(doc["per_view"]) == {"7_1", "7_2"}
    assert doc["per_view"]["7_1"]["FN"] == 0 and doc["per_view"]["7_1"]["MOTA"] == 1.0  # frames 0, 1, 4, 5 excluded
    assert doc["per_view"]["7_2"]["FN"] == 4 and doc["per_view"]["7_2"]["FP"] == 4
    (res / "7_2.txt").unlink()
    assert run("--gt", root, "--res", res) == 2
    assert str(res / "7_2.txt") in capsys.readouterr().err


def test_runs_as_a_script(folder):
    proc = subprocess.run([sys.executable, "eval.py", *map(str, folder_args(folder))], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("Scene") and "Overall" in proc.stdout
