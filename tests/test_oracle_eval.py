"""tools/oracle_eval.py on the first 61 frames of scene 1 (oracle detections, exact features)."""
from pathlib import Path

import numpy as np
import pytest

from config import TrackConfig
from loader.mot import read_mot

SHARED = Path(__file__).resolve().parents[2] / "shared"  # a shared/ folder beside the repository
DATA = SHARED / "data" / "mvmhat_eval"
pytestmark = pytest.mark.skipif(
    not (SHARED / "tools" / "oracle_features.py").is_file() or not (DATA / "scenes.csv").is_file(),
    reason=f"needs the shared oracle tool and MvMHAT test GT in {SHARED} (a shared/ folder beside the repo)")

START, END = 800, 860


def test_short_scene_both_modes(tmp_path):
    from tools.oracle_eval import run_sigma

    rows = {}
    for mode in ("release", "tracklet"):
        rows[mode] = run_sigma(0.0, ["1"], TrackConfig(association=mode), tmp_path / mode,
                               data=DATA, frame_ranges={"1": (START, END)})
    for mode, row in rows.items():
        assert row["frames"] == END - START - 1 and row["fps"] > 0  # the released loop: start..end-2
        for v in "1234":
            res = read_mot(tmp_path / mode / "sigma0" / f"1_{v}.txt")
            assert res[:, 0].min() == START + 2 and res[:, 0].max() == END - 2  # the released frame loop
        assert row["MOTA"] > 0.9
    # exact features: one ID space from the first confirmed frame (the 4 frames without output
    # cap MVIDF1 at 57/61 = 0.934); the released rules link the views only after re-matching
    # rounds (frames 810, 840 here)
    assert rows["tracklet"]["MVIDF1"] > 0.9 and rows["tracklet"]["IDF1"] > 0.95
    assert rows["release"]["MVIDF1"] < 0.5


def test_command_line_prints_one_row_per_sigma(tmp_path, capsys):
    from tools.oracle_eval import main, parse_args

    args, overrides = parse_args(["--association", "tracklet", "--sigmas", "0,0.3", "--scenes", "13", "--out",
                                  str(tmp_path), "--data", str(DATA), "--json", str(tmp_path / "r.json")])
    assert overrides == []
    track = TrackConfig()
    rows = main(args, track)
    out = capsys.readouterr().out
    assert [r["sigma"] for r in rows] == [0.0, 0.3]
    assert out.count("\n| 0 |") == 1 and out.count("\n| 0.3 |") == 1
    assert (tmp_path / "sigma0.3" / "13_4.txt").is_file() and (tmp_path / "r.json").is_file()
    assert np.isfinite(rows[0]["MVIDF1"])
