"""Tiny hand-made cases, one per rule of ../shared/METRICS.md, with hand-derived numbers."""
import math

import numpy as np
import pytest

from metrics.clear_mot import ClearCounts, clear_mot
from metrics.crossview import (CrossViewCounts, concatenated, crossview_overall, crossview_scene,
                               interleaved, view_links)
from metrics.evaluate import evaluate
from metrics.identity import id_measures
from metrics.inputs import SceneData, ViewData
from metrics.pairs import iou_devkit, iou_plus_one
from metrics.sequence import devkit_sequence

A = (0.0, 0.0, 10.0, 10.0)  # reference box
NEAR = (2.0, 0.0, 10.0, 10.0)  # IoU 80/120 = 2/3 with A: matches, but worse than A itself


def rows(*r):
    """MOT rows from ``(frame, id, box)`` tuples; box is a tlwh tuple."""
    if not r:
        return np.zeros((0, 6))
    return np.array([[f, i, *box] for f, i, box in r], dtype=float)


def at(x):
    return (float(x), 0.0, 10.0, 10.0)


# ---------------------------------------------------------------- IoU conventions

def test_iou_conventions():
    a, b = np.array([[0, 0, 3, 3.0]]), np.array([[1, 0, 3, 3.0]])
    assert iou_devkit(a, b)[0] == pytest.approx(6 / 12)  # x2 = x + w, no +1
    assert iou_plus_one(a, b)[0] == pytest.approx(12 / 20)  # widths 4, overlap 3 x 4
    far = np.array([[100, 0, 3, 3.0]])
    assert iou_plus_one(a, far)[0] == 0.0 and iou_devkit(a, far)[0] == 0.0


# ---------------------------------------------------------------- CLEAR MOT

def test_switch_needs_gt_in_previous_frame():
    # GT annotated in frames 1-3, matched to 10 then (after a miss at frame 2) to 20: one switch
    gt = rows((1, 1, A), (2, 1, A), (3, 1, A))
    c = clear_mot(gt, rows((1, 10, A), (3, 20, A)))
    assert (c.gt, c.matches, c.fn, c.fp, c.ids, c.fm) == (3, 2, 1, 0, 1, 1)
    assert c.ratios()["MOTA"] == pytest.approx(1 - 2 / 3)
    # not annotated in frame 2: the change of id at frame 3 is not a switch
    c = clear_mot(rows((1, 1, A), (3, 1, A)), rows((1, 10, A), (3, 20, A)))
    assert (c.gt, c.matches, c.ids, c.fm) == (2, 2, 0, 1)
    assert c.ratios()["MOTA"] == 1.0


def test_previous_match_is_kept_and_motp():
    # frame 2: result 20 fits better, but 10 still overlaps enough and keeps the GT; 20 is a FP
    gt = rows((1, 1, A), (2, 1, A))
    c = clear_mot(gt, rows((1, 10, A), (2, 10, NEAR), (2, 20, A)))
    assert (c.matches, c.fp, c.fn, c.ids) == (2, 1, 0, 0)
    assert c.distsum == pytest.approx(1 / 3)
    assert c.ratios()["MOTP"] == pytest.approx(1 - (1 / 3) / 2)


def test_empty_frame_breaks_the_kept_match():
    # frame 2 has no box at all: at frame 3 nothing is kept, the assignment takes the better result
    # 20, and the GT was not annotated at frame 2, so no switch
    c = clear_mot(rows((1, 1, A), (3, 1, A)), rows((1, 10, A), (3, 10, NEAR), (3, 20, A)))
    assert (c.matches, c.fp, c.ids) == (2, 1, 0)
    assert c.distsum == pytest.approx(0.0)
    # with frame 2 present, 10 is kept instead
    c = clear_mot(rows((1, 1, A), (2, 1, A), (3, 1, A)), rows((1, 10, A), (2, 10, A), (3, 10, NEAR), (3, 20, A)))
    assert (c.matches, c.fp, c.ids) == (3, 1, 0)
    # a frame with results only: all false positives; a frame with GT only: all misses
    c = clear_mot(rows((1, 1, A)), rows((1, 5, A), (2, 5, A), (2, 6, at(50))))
    assert (c.gt, c.matches, c.fp, c.fn, c.frames) == (1, 1, 2, 0, 1)


def test_match_threshold_is_inclusive():
    # devkit IoU exactly 0.5: 1 - IoU <= 0.5 matches
    c = clear_mot(rows((1, 1, (0, 0, 3, 3))), rows((1, 2, (1, 0, 3, 3))))
    assert c.matches == 1


def test_fragmentation_counts_gaps_between_first_and_last_tracked_frame():
    gt = rows(*[(f, 1, A) for f in range(1, 8)])
    c = clear_mot(gt, rows(*[(f, 9, A) for f in (2, 3, 5, 7)]))  # tracked 2,3 | 5 | 7
    assert (c.fm, c.matches, c.fn) == (2, 4, 3)


def test_mt_pt_ml_boundaries():
    # four GT ids over frames 1-5, far apart; tracked 4/5 (exactly 0.8), 5/5, 0/5, 1/5 (exactly 0.2)
    gt = rows(*[(f, i, at(100 * i)) for i in (1, 2, 3, 4) for f in range(1, 6)])
    res = rows(*[(f, 11, at(100)) for f in range(1, 5)], *[(f, 12, at(200)) for f in range(1, 6)],
               (3, 14, at(400)))
    c = clear_mot(gt, res)
    assert (c.tracks, c.mt, c.pt, c.ml) == (4, 1, 2, 1)


def test_gt_id_zero_is_an_ordinary_id():
    c = clear_mot(rows((1, 0, A), (2, 0, A), (1, 1, at(50))), rows((1, 3, A), (2, 3, A), (1, 4, at(50))))
    assert (c.tracks, c.matches, c.fn, c.fp, c.mt) == (2, 3, 0, 0, 2)
    assert id_measures(rows((1, 0, A), (2, 0, A)), rows((1, 3, A), (2, 3, A))).idtp == 2


def test_duplicated_gt_row():
    # (frame 1, id 1) twice: CLEAR keeps the last copy (far away: a miss and a FP); IDF1 counts
    # both copies and the first copy can match the result
    gt = rows((1, 1, A), (1, 1, at(50)))
    res = rows((1, 7, A))
    c = clear_mot(gt, res)
    assert (c.gt, c.matches, c.fn, c.fp) == (1, 0, 1, 1)
    i = id_measures(gt, res)
    assert (i.gt, i.pred, i.idtp, i.idfn, i.idfp) == (2, 1, 1, 1, 0)
    assert i.ratios()["IDF1"] == pytest.approx(2 / 3)


def test_idf1_global_matching():
    # GT 1 is covered by result 10 for 3 frames and by 20 for 1; GT 2 by 20 for 2 frames
    gt = rows(*[(f, 1, A) for f in range(1, 5)], (5, 2, at(50)), (6, 2, at(50)))
    res = rows(*[(f, 10, A) for f in range(1, 4)], (4, 20, A), (5, 20, at(50)), (6, 20, at(50)))
    i = id_measures(gt, res)
    assert (i.idtp, i.idfn, i.idfp) == (5, 1, 1)
    assert i.ratios()["IDF1"] == pytest.approx(10 / 12)


def test_devkit_filtering():
    gt = rows((0, 1, A), (5, 1, A), (6, 1, A), (9, 1, A))
    res = rows((0, 2, A), (6, 2, A), (8, 2, A), (9, 2, A))
    s = devkit_sequence(gt, res, 0, 8)  # frame 0 dropped, GT ends at 6, so results after 6 too
    assert s.gt[:, 0].tolist() == [5, 6] and s.res[:, 0].tolist() == [6]


def test_empty_inputs():
    empty = rows()
    c = clear_mot(empty, empty)
    assert c == ClearCounts() and math.isnan(c.ratios()["MOTA"]) and c.ratios()["MOTP"] == 0.0
    c = clear_mot(rows((1, 1, A), (2, 1, A)), empty)
    assert (c.fn, c.fp, c.ml, c.ratios()["MOTA"]) == (2, 0, 1, 0.0)
    c = clear_mot(empty, rows((1, 1, A)))
    assert c.fp == 1 and math.isnan(c.ratios()["MOTA"])
    i = id_measures(empty, rows((1, 1, A)))
    assert (i.idfp, i.ratios()["IDP"]) == (1, 0.0) and math.isnan(i.ratios()["IDR"])
    i = id_measures(empty, empty)
    assert i.ratios()["IDP"] == 0.0 and math.isnan(i.ratios()["IDF1"])


# ---------------------------------------------------------------- cross-view (official)

def one_frame(view_a, view_b):
    """Cross-view counts of two views with a single frame 1: views are (gt rows, res rows)."""
    counts, frames = crossview_scene([view_a[0], view_b[0]], [view_a[1], view_b[1]], 1, 1)
    return counts, frames


def test_union_links_last_result_wins():
    # view a: GT 1 is best matched by 7, but result 8 (later in the file) also links to it
    # (its best GT is GT 1, IoU 110/132 with +1 pixels): the union keeps both, 8 wins
    a_gt, a_res = rows((1, 1, A)), rows((1, 7, A), (1, 8, (1, 0, 10, 10)))
    assert view_links(a_gt, a_res, 1, 1)[1] == ([1], [8], [7, 8])
    c, f = one_frame((a_gt, a_res), (rows((1, 1, A)), rows((1, 8, A))))
    assert (f.precision[0], f.recall[0]) == (1.0, 1.0)
    assert (c.fp, c.mme, c.missed, c.boxes) == (0, 0, 0, 2)
    assert c.ratios()["MVMA"] == 1.0


def test_result_linked_to_two_gt_boxes():
    # GT 1 and GT 2 both pick result 5 as their best; result 6 only overlaps below 0.5
    links = view_links(rows((1, 1, A), (1, 2, (1, 0, 10, 10))), rows((1, 5, (0.5, 0, 10, 10)), (1, 6, at(6))), 1, 1)
    assert links[1] == ([1, 2], [5, 5], [5, 6])


def test_strict_link_threshold_with_plus_one_iou():
    # +1 IoU of (0,0,2,2) and (1,0,2,2) is exactly 0.5: no link
    assert view_links(rows((1, 1, (0, 0, 2, 2))), rows((1, 5, (1, 0, 2, 2))), 1, 1)[1][1] == [0]


def test_crossview_fp_and_missed():
    # view a: GT 1 taken by 5, result 6 unlinked; view b: GT 1 taken by 6. Result 6 is a FP
    # (untaken in a, present in b); no common taken id: 2 missed; TP 0 over 1 GT -> recall 0
    c, f = one_frame((rows((1, 1, A)), rows((1, 5, A), (1, 6, at(50)))), (rows((1, 1, A)), rows((1, 6, A))))
    assert (c.fp, c.missed, c.mme, c.boxes) == (1, 2, 0, 2)
    assert f.recall[0] == 0.0 and math.isnan(f.precision[0])
    assert c.ratios()["MVMA"] == pytest.approx(1 - 3 / 2)


def test_one_box_per_view_quirk():
    # different people (GT 1 and 2), one box each, same result id 5 in both views: the MATLAB
    # quirk makes gt_match_num 1, so missed = 2 (1 - 1) = 0 and the shared id is one mismatch
    c, f = one_frame((rows((1, 1, A)), rows((1, 5, A))), (rows((1, 2, A)), rows((1, 5, A))))
    assert (c.missed, c.mme, c.fp, c.boxes) == (0, 1, 0, 2)
    assert f.precision[0] == 0.0 and math.isnan(f.recall[0])
    # the same with a second, untracked person in each view: gt_match_num 0, common taken ids
    # {5, 0}: missed 2 (0 - 2) = -4, mme 2
    c, _ = one_frame((rows((1, 1, A), (1, 3, at(50))), rows((1, 5, A))),
                     (rows((1, 2, A), (1, 4, at(50))), rows((1, 5, A))))
    assert (c.missed, c.mme) == (-4, 2)


def test_gt_id_zero_never_counts_as_true_positive():
    c, f = one_frame((rows((1, 0, A)), rows((1, 5, A))), (rows((1, 0, A)), rows((1, 5, A))))
    assert (c.mme, c.missed, c.boxes) == (1, 0, 2)
    assert f.precision[0] == 0.0 and math.isnan(f.recall[0])


def test_pair_without_gt_adds_results_to_precision_denominator():
    # frame 1: view b has no GT but 3 results; frame 2: empty everywhere (NaN -> 0 in the means)
    c, f = crossview_scene([rows((1, 1, A)), rows()], [rows((1, 5, A)), rows((1, 5, A), (1, 6, A), (1, 7, A))], 1, 2)
    assert f.precision[0] == 0.0 and math.isnan(f.recall[0]) and np.isnan(f.precision[1])
    assert (c.boxes, c.frames, c.nan_precision_frames, c.nan_recall_frames) == (0, 2, 1, 2)
    assert c.ratios()["MVIDP"] == 0.0


def test_crossview_perfect_and_overall_means():
    perfect, _ = one_frame((rows((1, 1, A), (1, 2, at(50))), rows((1, 5, A), (1, 6, at(50)))),
                           (rows((1, 1, A), (1, 2, at(50))), rows((1, 5, A), (1, 6, at(50)))))
    assert perfect.ratios() == {"MVIDP": 1.0, "MVIDR": 1.0, "MVIDF1": 1.0, "MVMA": 1.0}
    half = CrossViewCounts(missed=2, fp=0, mme=1, boxes=8, frames=2, precision_sum=1.0, recall_sum=0.5)
    overall = crossview_overall([perfect, half])
    assert overall["MVIDP"] == pytest.approx((1.0 + 0.5) / 2) and overall["MVIDR"] == pytest.approx((1 + 0.25) / 2)
    assert overall["MVMA"] == pytest.approx(1 - (2 * 1 + 0 + 2) / (4 + 8))
    assert math.isnan(crossview_overall([])["MVIDP"])


def test_crossview_empty_views():
    c, f = crossview_scene([rows(), rows()], [rows(), rows()], 5, 7)
    assert c.frames == 3 and c.boxes == 0 and c.ratios()["MVIDP"] == 0.0 and math.isnan(c.ratios()["MVMA"])
    # GT in both views, no results at all: every common person is missed twice
    assert view_links(rows((1, 1, A)), rows(), 1, 1) == {1: ([1], [0], [])}
    c, f = one_frame((rows((1, 1, A), (1, 2, at(50))), rows()), (rows((1, 1, A), (1, 2, at(50))), rows()))
    # common taken ids {0}: res_match_num 1, so missed = 2 (2 - 1), mme = 1 - 0
    assert (c.missed, c.mme, c.fp, c.boxes) == (2, 1, 0, 4) and f.recall[0] == 0.0


# ---------------------------------------------------------------- DIVOTrack CVIDF1 / CVMA

def test_cv_layouts():
    v0, v1 = rows((1, 1, A), (3, 1, A)), rows((2, 1, A))
    assert concatenated([v0, v1], [3, 2])[:, 0].tolist() == [1, 3, 6]  # view 1 shifted by 3 + 1
    assert interleaved([v0, v1])[:, 0].tolist() == [2, 6, 5]  # frame x 2 + view


def test_cvidf1_and_cvma_penalise_inconsistent_ids():
    gt = [rows((1, 1, A), (2, 1, A)), rows((1, 1, A), (2, 1, A))]  # one person seen by two views
    bad = [rows((1, 10, A), (2, 10, A)), rows((1, 20, A), (2, 20, A))]  # a different id per view
    last = [2, 2]
    i = id_measures(concatenated(gt, last), concatenated(bad, last))
    assert i.idtp == 2 and i.ratios()["IDF1"] == 0.5
    c = clear_mot(interleaved(gt), interleaved(bad))  # every alternation is a switch: 3 of them
    assert (c.ids, c.fn, c.fp) == (3, 0, 0) and c.ratios()["MOTA"] == 0.25
    good = [rows((1, 10, A), (2, 10, A)), rows((1, 10, A), (2, 10, A))]
    assert id_measures(concatenated(gt, last), concatenated(good, last)).ratios()["IDF1"] == 1.0
    assert clear_mot(interleaved(gt), interleaved(good)).ratios()["MOTA"] == 1.0


# ---------------------------------------------------------------- pooling

def test_counts_are_pooled_before_ratios():
    def scene(name, n_frames, miss_every):
        gt = rows(*[(f, 1, A) for f in range(1, n_frames + 1)])
        res = rows(*[(f, 1, A) for f in range(1, n_frames + 1) if f % miss_every])
        return SceneData(name, 1, n_frames, [ViewData(f"{name}_1", gt, res), ViewData(f"{name}_2", gt, res)])

    report = evaluate([scene("a", 2, 2), scene("b", 10, 100)])  # a: 1 miss of 2 per view; b: perfect
    assert report.view_metrics("a_1")["MOTA"] == 0.5 and report.scene_metrics("b")["MOTA"] == 1.0
    overall = report.overall_metrics()
    assert overall["MOTA"] == pytest.approx(1 - 2 / 24)  # pooled, not the mean of 0.5 and 1.0
    assert (overall["FN"], overall["MT"], overall["ML"]) == (2, 2, 0)
    # MVIDR: scene means, then the unweighted mean of the scenes
    mv_a, mv_b = report.scene_metrics("a")["MVIDR"], report.scene_metrics("b")["MVIDR"]
    assert (mv_a, mv_b) == (0.5, 1.0) and overall["MVIDR"] == pytest.approx(0.75)
