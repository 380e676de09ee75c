"""Cross-view metrics: the official MVIDP/MVIDR/MVIDF1/MVMA and DIVOTrack's CVIDF1/CVMA.

**Official** (``evaluation_MHA.m`` of the MvMHAT release, as ``../shared/METRICS.md`` writes it
down, quirks included). For every frame of a scene's range and every view pair ``a < b``:

1. A pair where view b (then view a) has no GT box only adds that view's result count to the
   precision denominator.
2. In each view, results link to GT with the +1-pixel IoU and a strict ``IoU > 0.5``: each GT box
   to its best result and each result to its best GT (first maximum on ties); the union of the
   links is used. A GT box takes the id of its linked result (0 if none); of several, the result
   that comes last in the frame's row order wins (:func:`view_links`).
3. FP, ``gt_match_num`` (with the one-box-per-view quirk), ``res_match_num``, the first-position
   filtering, ``right``, MME, MISSED and the box count as in :func:`_pair_counts`.

Per frame, precision = TP / precision denominator and recall = TP / recall denominator, summed
over the pairs first; 0/0 is NaN and counts as 0 in the scene means. Overall MVIDP/MVIDR are
unweighted means of the scene values (:func:`crossview_overall`).

**DIVOTrack** (:func:`concatenated`, :func:`interleaved`): CVIDF1 is IDF1 on the views laid one
after another in time; CVMA is MOTA with the devkit rules on the views interleaved frame by frame.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from loader.mot import FRAME, ID
from metrics.counts import Counts, ratio
from metrics.pairs import iou_plus_one, same_frame_pairs
from metrics.sequence import as_rows

LINK_IOU = 0.5  # strict: a link needs IoU > 0.5

ViewFrame = tuple  # (gt ids, taken result ids, result ids) of one view in one frame, as lists


@dataclass
class CrossViewCounts(Counts):
    """Sums over the frames of one or more scenes (pooled by ``+``; MVIDP/MVIDR are frame means)."""

    missed: int = 0  # MVMISSED (can be negative)
    fp: int = 0  # MVFP
    mme: int = 0  # MVMME
    boxes: int = 0  # ALLBOX: GT boxes summed over the view pairs
    frames: int = 0
    precision_sum: float = 0.0  # sum over frames of the frame precision, NaN counted as 0
    recall_sum: float = 0.0
    nan_precision_frames: int = 0
    nan_recall_frames: int = 0

    def ratios(self) -> dict:
        """MVIDP, MVIDR (frame means), MVIDF1 from them, MVMA from the sums."""
        p, r = ratio(self.precision_sum, self.frames), ratio(self.recall_sum, self.frames)
        return {"MVIDP": p, "MVIDR": r, "MVIDF1": _f1(p, r),
                "MVMA": 1.0 - ratio(2 * self.mme + self.fp + self.missed, self.boxes)}


@dataclass
class CrossViewFrames:
    """Per-frame internals of one scene, (F,) arrays; precision/recall keep their NaNs."""

    frame: np.ndarray
    precision: np.ndarray
    recall: np.ndarray
    missed: np.ndarray
    fp: np.ndarray
    mme: np.ndarray
    boxes: np.ndarray


def _f1(p: float, r: float) -> float:
    return ratio(2 * p * r, p + r) if not (math.isnan(p) or math.isnan(r)) else math.nan


def view_links(gt: np.ndarray, res: np.ndarray, start: int, end: int) -> dict:
    """``{frame: (gt ids, taken ids, result ids)}`` of one view for frames in ``[start, end]``.

    Rows are taken in the order of a stable sort by frame (file order inside a frame); ``taken[i]``
    is the id of the result linked to GT box i (rule 2 of the module docstring), 0 if none.
    """
    gt, res = as_rows(gt), as_rows(res)
    gt = gt[(gt[:, FRAME] >= start) & (gt[:, FRAME] <= end)]
    res = res[(res[:, FRAME] >= start) & (res[:, FRAME] <= end)]
    gt = gt[np.argsort(gt[:, FRAME], kind="stable")]
    res = res[np.argsort(res[:, FRAME], kind="stable")]
    pairs = same_frame_pairs(gt[:, FRAME].astype(np.int64), res[:, FRAME].astype(np.int64))
    ia, ib = pairs.ia, pairs.ib
    iou = iou_plus_one(gt[ia, 2:6], res[ib, 2:6])
    taken_row = np.full(len(gt), -1, dtype=np.int64)
    if len(iou):
        g_best_g, g_best_r = _best_links(ia, ib, iou)  # each GT to its best result
        order = np.lexsort((ia, ib))
        r_best_r, r_best_g = _best_links(ib[order], ia[order], iou[order])  # each result to its best GT
        np.maximum.at(taken_row, np.r_[g_best_g, r_best_g], np.r_[g_best_r, r_best_r])
    res_id = res[:, ID].astype(np.int64)
    taken = np.zeros(len(gt), dtype=np.int64)
    taken[taken_row >= 0] = res_id[taken_row[taken_row >= 0]]
    taken = taken.tolist()
    gt_id, res_id = gt[:, ID].astype(np.int64).tolist(), res_id.tolist()
    out = {}
    for f, g0, g1, r0, r1 in zip(pairs.keys.tolist(), pairs.a_start.tolist(), pairs.a_end.tolist(),
                                 pairs.b_start.tolist(), pairs.b_end.tolist()):
        out[f] = (gt_id[g0:g1], taken[g0:g1], res_id[r0:r1])
    return out


def _best_links(owner: np.ndarray, other: np.ndarray, iou: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For pairs grouped by ``owner`` (contiguous, ``other`` ascending inside a group): the
    (owner, other) links of each owner to its first best partner when that IoU is > 0.5."""
    starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
    best = np.maximum.reduceat(iou, starts)
    sizes = np.diff(np.r_[starts, len(iou)])
    pos = np.where(iou == np.repeat(best, sizes), np.arange(len(iou)), len(iou))
    first = np.minimum.reduceat(pos, starts)
    keep = best > LINK_IOU
    return owner[starts[keep]], other[first[keep]]


def _first_kept(values: list, common: set) -> list:
    """Keep a value only at its first position among the common values; 0 elsewhere."""
    seen, out = set(), []
    for v in values:
        if v in common and v not in seen:
            seen.add(v)
            out.append(v)
        else:
            out.append(0)
    return out


def _with_sets(view: ViewFrame) -> tuple:
    """A view-frame plus the sets every pair needs: GT ids, taken ids, results, untaken results."""
    gt, taken, res = view
    return gt, taken, res, set(gt), set(taken), set(res), set(res) - set(taken)


def _pair_counts(a: tuple, b: tuple) -> tuple[int, int, int, int, int, int, int]:
    """``(tp, recall_den, precision_den, fp, mme, missed, boxes)`` of one view pair in one frame
    (views as given by :func:`_with_sets`); both views have at least one GT box."""
    gt_a, taken_a, res_a, set_gt_a, set_taken_a, set_res_a, untaken_a = a
    gt_b, taken_b, res_b, set_gt_b, set_taken_b, set_res_b, untaken_b = b
    fp = len(untaken_a & set_res_b) + len(untaken_b & set_res_a)
    common_gt = set_gt_a & set_gt_b
    # MATLAB: intersect() of two 1x1 inputs is a row vector, so its size(., 1) is 1 even when empty
    gt_match_num = 1 if len(gt_a) == 1 and len(gt_b) == 1 else len(common_gt)
    common_res = set_taken_a & set_taken_b  # 0 is a value when both views have an untaken GT
    kept_gt_a, kept_res_a = _first_kept(gt_a, common_gt), _first_kept(taken_a, common_res)
    kept_gt_b, kept_res_b = _first_kept(gt_b, common_gt), _first_kept(taken_b, common_res)
    match_b = {g: r for g, r in zip(kept_gt_b, kept_res_b) if g != 0 and r != 0}
    right = sum(1 for g, r in zip(kept_gt_a, kept_res_a) if g != 0 and r != 0 and match_b.get(g) == r)
    recall_den = sum(1 for g in kept_gt_a if g > 0)
    precision_den = sum(1 for r in kept_res_a if r > 0)
    mme = len(common_res) - right
    missed = 2 * (gt_match_num - len(common_res))
    return right, recall_den, precision_den, fp, mme, missed, len(gt_a) + len(gt_b)


def crossview_scene(gt_views: Sequence[np.ndarray], res_views: Sequence[np.ndarray],
                    start: int, end: int) -> tuple[CrossViewCounts, CrossViewFrames]:
    """Official cross-view counts of one scene over frames ``start..end`` (inclusive).

    ``gt_views[v]``/``res_views[v]``: MOT rows (N, >=6) of view v, in the scene's view order;
    rows outside the range are ignored. Returns the scene sums and the per-frame internals.
    """
    links = [view_links(g, r, start, end) for g, r in zip(gt_views, res_views)]
    empty = _with_sets(([], [], []))
    frames = np.arange(start, end + 1)
    sums = []  # per frame: tp, rec_den, prec_den, fp, mme, missed, boxes
    for f in frames.tolist():
        views = [_with_sets(lk[f]) if f in lk else empty for lk in links]
        row = [0] * 7
        for ia, a in enumerate(views):
            for b in views[ia + 1:]:
                if not b[0]:
                    row[2] += len(b[2])
                elif not a[0]:
                    row[2] += len(a[2])
                else:
                    row = [x + y for x, y in zip(row, _pair_counts(a, b))]
        sums.append(row)
    sums = np.asarray(sums, dtype=np.int64).reshape(len(frames), 7)
    tp, rec_den, prec_den = sums[:, 0].astype(float), sums[:, 1], sums[:, 2]
    with np.errstate(invalid="ignore", divide="ignore"):
        precision, recall = tp / prec_den, tp / rec_den
    per_frame = CrossViewFrames(frames, precision, recall, sums[:, 5], sums[:, 3], sums[:, 4], sums[:, 6])
    counts = CrossViewCounts(
        missed=int(sums[:, 5].sum()), fp=int(sums[:, 3].sum()), mme=int(sums[:, 4].sum()),
        boxes=int(sums[:, 6].sum()), frames=len(frames),
        precision_sum=float(np.nan_to_num(precision, nan=0.0).sum()),
        recall_sum=float(np.nan_to_num(recall, nan=0.0).sum()),
        nan_precision_frames=int(np.isnan(precision).sum()), nan_recall_frames=int(np.isnan(recall).sum()))
    return counts, per_frame


def crossview_overall(scenes: Sequence[CrossViewCounts]) -> dict:
    """Overall official values: MVIDP/MVIDR = unweighted means of the scene values, MVIDF1 from
    those means, MVMA from MISSED, FP, MME and ALLBOX summed over the scenes."""
    if not scenes:
        return {"MVIDP": math.nan, "MVIDR": math.nan, "MVIDF1": math.nan, "MVMA": math.nan}
    per = [s.ratios() for s in scenes]
    p = float(np.mean([x["MVIDP"] for x in per]))
    r = float(np.mean([x["MVIDR"] for x in per]))
    total = CrossViewCounts.total(scenes)
    return {"MVIDP": p, "MVIDR": r, "MVIDF1": _f1(p, r), "MVMA": total.ratios()["MVMA"]}


def concatenated(views: Sequence[np.ndarray], last_frames: Sequence[int]) -> np.ndarray:
    """DIVOTrack's CVIDF1 layout: view m's rows with frames shifted by the sum over earlier views
    of (their largest frame + 1); ``last_frames[m]`` is view m's largest GT or result frame."""
    offsets = np.r_[0, np.cumsum(np.asarray(last_frames, dtype=np.int64) + 1)[:-1]]
    parts = []
    for m, v in enumerate(views):
        rows = as_rows(v).copy()
        rows[:, FRAME] += offsets[m]
        parts.append(rows)
    return np.concatenate(parts, axis=0) if parts else np.zeros((0, 6))


def interleaved(views: Sequence[np.ndarray]) -> np.ndarray:
    """DIVOTrack's CVMA layout: new frame = frame x V + m for view m (0-based) of V views."""
    parts = []
    for m, v in enumerate(views):
        rows = as_rows(v).copy()
        rows[:, FRAME] = rows[:, FRAME] * len(views) + m
        parts.append(rows)
    return np.concatenate(parts, axis=0) if parts else np.zeros((0, 6))
