"""STMA (metrics/stma.py): hand-computed tiny cases, and the closed form against a straightforward loop
version that builds the per-window N x N matrices, on small random multi-view scenes."""
import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from metrics.stma import EPS, stma_overall, stma_scene, windows_of


def rows(*items):
    return np.array(items, dtype=float).reshape(-1, 6)


def f1(tp, sum_p, sum_g):
    p, r = tp / (sum_p + EPS), tp / (sum_g + EPS)
    return 2 * p * r / (p + r + EPS)


BOX, FAR = (0, 0, 10, 20), (200, 200, 10, 20)


def test_windows():
    """start 1, end 6, L 5: step 2, windows [1,5], [3,6], [5,6]."""
    frames = np.arange(1, 7)
    entry, window, n = windows_of(frames, 1, 6, 5)
    assert n == 3
    members = {w: sorted(frames[entry[window == w]].tolist()) for w in range(n)}
    assert members == {0: [1, 2, 3, 4, 5], 1: [3, 4, 5, 6], 2: [5, 6]}
    assert windows_of(np.arange(10, 41), 10, 40, 30)[2] == 3  # starts 10, 25, 40
    with pytest.raises(ValueError):
        windows_of(frames, 1, 6, 1)


def test_perfect_and_switch_by_hand():
    gt = rows((1, 7, *BOX), (2, 7, *BOX))
    perfect = stma_scene([gt], [rows((1, 3, *BOX), (2, 3, *BOX))], 1, 2, lengths=(5,))
    assert perfect["STMA5"] == pytest.approx(f1(4, 4, 4)) and perfect["STMA5"] == pytest.approx(1.0, abs=1e-6)
    switch = stma_scene([gt], [rows((1, 3, *BOX), (2, 4, *BOX))], 1, 2, lengths=(5,))
    # entries (3,7), (4,7): sum P = 2, sum G = 4, TP = 2 -> precision 1, recall 1/2, F1 2/3
    assert switch["STMA5"] == pytest.approx(f1(2, 2, 4)) and switch["STMA5"] == pytest.approx(2 / 3, abs=1e-6)


def test_cross_view_ids_and_false_positive_by_hand():
    """One frame, two views; the person is 3 in view 1 and 5 in view 2, and view 2 has a false
    positive with id 3: entries (3,7), (5,7), (3,-). P has 5 ones, G 4, TP 2: F1 = 2 (2/5)(1/2) / 0.9."""
    gt = [rows((1, 7, *BOX)), rows((1, 7, *BOX))]
    res = [rows((1, 3, *BOX)), rows((1, 5, *BOX), (1, 3, *FAR))]
    got = stma_scene(gt, res, 1, 1, lengths=(5, 10))
    assert got["STMA5"] == pytest.approx(f1(2, 5, 4)) and got["STMA5"] == pytest.approx(4 / 9, abs=1e-6)
    assert got["STMA10"] == got["STMA5"]


def test_short_and_empty_windows_by_hand():
    """Frames 1-6, L 5 (windows [1,5], [3,6], [5,6]): tracked in frames 1-4, then no results.
    Window 1: (3,7) x4 + (-,7): TP 16, sum P 16, sum G 25. Window 2: TP 4, sum P 4, sum G 16.
    Window 3: only (-,7): F1 0."""
    gt = rows(*[(f, 7, *BOX) for f in range(1, 7)])
    res = rows(*[(f, 3, *BOX) for f in range(1, 5)])
    got = stma_scene([gt], [res], 1, 6, lengths=(5,))["STMA5"]
    assert got == pytest.approx((f1(16, 16, 25) + f1(4, 4, 16) + 0.0) / 3)
    assert got == pytest.approx((32 / 41 + 0.4) / 3, abs=1e-6)


def test_threshold_and_duplicates_by_hand():
    """IoU exactly 0.5 is no match; a duplicated untaken id counts once where GT and results share the
    frame, every row where they do not."""
    gt = rows((1, 7, 0, 0, 10, 10), (1, 7, 0, 0, 10, 10), (2, 8, *FAR))
    res = rows((1, 3, 0, 0, 10, 20), (3, 4, *BOX), (3, 4, *BOX))  # IoU 100/200 in frame 1
    got = stma_scene([gt], [res], 1, 3, lengths=(5,))["STMA5"]
    # entries: (3,-), (-,7) [frame 1], (-,8) [frame 2, GT only], (4,-), (4,-) [frame 3, results only]
    assert got == pytest.approx(f1(0, 1 + 4, 1 + 1))
    assert got == 0.0
    same = stma_scene([gt], [rows((1, 3, 0, 0, 10, 10))], 1, 1, lengths=(5,))["STMA5"]
    assert same == pytest.approx(f1(1, 1, 1))  # the duplicated GT 7: one match, the untaken copy adds nothing


def test_overall_is_the_mean_of_scenes():
    assert stma_overall([{"STMA5": 0.2, "STMA10": 0.4}, {"STMA5": 0.6, "STMA10": 0.8}]) == pytest.approx(
        {"STMA5": 0.4, "STMA10": 0.6})


# ---- the straightforward version: per-frame loops, explicit N x N matrices ------------------------

def loop_iou(a, b):
    ax2, ay2, bx2, by2 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    w = max(0.0, min(ax2, bx2) - max(a[0], b[0]))
    h = max(0.0, min(ay2, by2) - max(a[1], b[1]))
    return w * h / (a[2] * a[3] + b[2] * b[3] - w * h)


def loop_entries(gt, res, start, end):
    out = []  # (frame, pred or -1, gt or -1)
    for f in range(start, end + 1):
        g = [r for r in gt.tolist() if r[0] == f]
        p = [r for r in res.tolist() if r[0] == f]
        if p and not g:
            out += [(f, r[1], -1) for r in p]
        elif g and not p:
            out += [(f, -1, r[1]) for r in g]
        elif g and p:
            m = np.array([[loop_iou(a[2:6], b[2:6]) for b in g] for a in p])  # results x GT
            m[m <= 0.5] = 0
            rr, cc = linear_sum_assignment(-m)
            taken = [(p[i][1], g[j][1]) for i, j in zip(rr, cc) if m[i, j] > 0]
            out += [(f, a, b) for a, b in taken]
            out += [(f, a, -1) for a in sorted({r[1] for r in p} - {a for a, _ in taken})]
            out += [(f, -1, b) for b in sorted({r[1] for r in g} - {b for _, b in taken})]
    return out


def loop_stma(gt_views, res_views, start, end, length):
    entries = [e for g, r in zip(gt_views, res_views) for e in loop_entries(g, r, start, end)]
    scores, w = [], start
    while w <= end:
        sel = [e for e in entries if w <= e[0] <= min(w + length - 1, end)]
        pred = np.array([e[1] for e in sel], dtype=float)
        gt = np.array([e[2] for e in sel], dtype=float)
        P = (pred[:, None] == pred[None, :]).astype(float)
        G = (gt[:, None] == gt[None, :]).astype(float)
        for i in range(len(sel)):
            if pred[i] == -1:
                P[i, :] = 0
                P[:, i] = 0
            if gt[i] == -1:
                G[i, :] = 0
                G[:, i] = 0
        tp, fp, fn = np.sum(G * P), np.sum((1 - G) * P), np.sum(G * (1 - P))
        precision, recall = tp / (tp + fp + EPS), tp / (tp + fn + EPS)
        scores.append(2 * precision * recall / (precision + recall + EPS))
        w += length // 2
    return float(np.mean(scores))


def random_scene(rng, views=3, frames=14, people=4):
    gts, ress = [], []
    for v in range(views):
        gt, res = [], []
        for pid in range(people):
            x, y = rng.uniform(0, 40, 2)  # crowded: boxes overlap, assignments have conflicts
            for f in range(1, frames + 1):
                x, y = x + rng.normal(0, 3), y + rng.normal(0, 3)
                if rng.random() < 0.85:
                    gt.append((f, pid, x, y, 20, 40))
                if rng.random() < 0.8:
                    rid = pid + (10 * v if rng.random() < 0.3 else 0) + (5 if f > frames // 2 and pid == 1 else 0)
                    res.append((f, rid, x + rng.normal(0, 4), y + rng.normal(0, 4), 20, 40 + rng.normal(0, 5)))
            if rng.random() < 0.5:
                f = int(rng.integers(1, frames + 1))
                res.append((f, pid, *rng.uniform(0, 60, 2), 20, 40))  # a duplicated or stray id
        gt += [(f, 50, 300, 300, 20, 40) for f in range(frames - 2, frames + 1)]  # GT-only frames for nobody
        res += [(1, 60, 500, 500, 20, 40), (1, 60, 520, 500, 20, 40)]
        order = rng.permutation(len(res))  # file order is not frame order
        gts.append(rows(*gt))
        ress.append(rows(*res)[order])
    return gts, ress


@pytest.mark.parametrize("seed", range(6))
def test_closed_form_equals_loop_version(seed):
    rng = np.random.default_rng(seed)
    gts, ress = random_scene(rng)
    start, end = 2, 13  # some rows lie outside the range
    got = stma_scene(gts, ress, start, end, lengths=(3, 5, 10, 30))
    for length in (3, 5, 10, 30):
        assert got[f"STMA{length}"] == pytest.approx(loop_stma(gts, ress, start, end, length), abs=1e-12), length
    assert 0.05 < got["STMA5"] < 0.95
