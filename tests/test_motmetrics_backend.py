"""py-motmetrics as a second backend: IDF1 equal to the official backend, MOTA within 0.2 points."""
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("motmetrics")

from metrics.clear_mot import ClearCounts, clear_mot  # noqa: E402
from metrics.evaluate import METRICS, evaluate, get_backend  # noqa: E402
from metrics.identity import IdCounts, id_measures  # noqa: E402
from metrics.inputs import SceneData, ViewData, load_scenes, scenes_from_csv  # noqa: E402
from metrics.motmetrics_backend import motmetrics_counts  # noqa: E402
from metrics.sequence import devkit_sequence  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "mvmhat_eval"
A = (0.0, 0.0, 10.0, 10.0)


def rows(*r):
    return np.array([[f, i, *box] for f, i, box in r], dtype=float).reshape(-1, 6)


def test_tiny_sequence_agrees_except_the_switch_rule():
    # GT 1 not annotated at frame 2; its result id changes from 10 to 20 at frame 3
    gt = rows((1, 1, A), (3, 1, A), (4, 1, A), (1, 2, (50, 0, 10, 10)))
    res = rows((1, 10, A), (3, 20, A), (4, 20, A), (1, 30, (52, 0, 10, 10)), (4, 40, (90, 0, 5, 5)))
    official, ident = clear_mot(gt, res), id_measures(gt, res)
    mm_clear, mm_ident = motmetrics_counts(gt, res)
    assert mm_ident == ident and (ident.idtp, ident.idfp, ident.idfn) == (3, 2, 1)
    assert (mm_clear.matches, mm_clear.fp, mm_clear.fn) == (official.matches, official.fp, official.fn) == (4, 1, 0)
    assert mm_clear.distsum == pytest.approx(official.distsum)
    assert official.ids == 0 and mm_clear.ids == 1  # the devkit needs the GT in frame t-1


def test_empty_inputs():
    assert motmetrics_counts(rows(), rows()) == (ClearCounts(), IdCounts())
    clear, ident = motmetrics_counts(rows((1, 1, A)), rows())
    assert (clear.fn, clear.gt, ident.idfn) == (1, 1, 1)


def test_backend_lookup_and_evaluate():
    with pytest.raises(KeyError, match="motmetrics"):
        get_backend("matlab")
    gt = rows((1, 1, A), (2, 1, A))
    scene = SceneData("s", 1, 2, [ViewData("s_1", gt, gt), ViewData("s_2", gt, gt)])
    report = evaluate([scene], backend="motmetrics")
    assert report.backend == "motmetrics"
    metrics = report.overall_metrics()
    assert set(metrics) == set(METRICS) and metrics["MOTA"] == 1.0 and metrics["IDF1"] == 1.0


@pytest.mark.skipif(not (DATA / "scenes.csv").is_file(), reason=f"needs the released results in {DATA}")
def test_released_results_idf1_equal_mota_close():
    specs = [s for s in scenes_from_csv(DATA / "gt", DATA / "res", DATA / "scenes.csv") if s.name in ("3", "13")]
    data, _ = load_scenes(specs)
    official, other = {}, {}
    for scene in data:
        for v in scene.views:
            seq = devkit_sequence(v.gt, v.res, scene.start, scene.end)
            official[v.key] = (clear_mot(seq.gt, seq.res), id_measures(seq.gt, seq.res))
            other[v.key] = motmetrics_counts(seq.gt, seq.res)
    for key in official:
        ours, theirs = official[key][1].ratios()["IDF1"], other[key][1].ratios()["IDF1"]
        if key == "3_2":  # a duplicated GT row: both copies count officially, one here
            assert theirs == pytest.approx(ours, abs=2e-4)
        else:
            assert other[key][1] == official[key][1], key
    pooled = [ClearCounts.total(c[0] for c in d.values()).ratios()["MOTA"] for d in (official, other)]
    assert abs(pooled[0] - pooled[1]) <= 0.002  # 0.2 percentage points
