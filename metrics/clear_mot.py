"""CLEAR MOT (MOTA, MOTP, FP, FN, IDs) with FM and MT/PT/ML, MOTChallenge devkit semantics.

Rules (``../shared/METRICS.md``, the devkit's ``clearMOTMex`` and ``CLEAR_MOT_HUN``):

* IoU without the +1 pixel convention; a pair can match when ``1 - IoU <= 0.5``.
* Frame by frame, the matches of frame ``t-1`` are kept when both boxes are still there and still
  overlap enough; the remaining GT and results are matched by a min-cost assignment on ``1 - IoU``
  (the most matches first, then the least cost), exact ties broken by adding ``1e-9 x`` a running
  index over the valid pairs of the sorted unmatched GT ids, then result ids.
* An identity switch is counted only when the GT was annotated in frame ``t-1`` and is now matched
  to a different result id than at its last match (however long ago).
* A duplicated (frame, id) row collapses to its last copy (GT and results alike).
* FM counts, per GT id, the tracked -> untracked transitions between its first and last tracked
  frame (frames where it is not annotated count as untracked).
* MT/PT/ML from the tracked share of a GT id's rows: ``< 0.2`` ML, ``<= 0.8`` PT, else MT.
  (The devkit also asks, for PT, that the last result frame be at least the track's number of
  GT rows - a ``find`` index used as a frame number. That never fails on the benchmark, where
  frames are in the hundreds or more, and METRICS.md leaves it out; so do we.)

The per-frame loop runs in Python over small per-frame blocks; every IoU of the sequence is
computed in one vectorised call beforehand.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from loader.mot import FRAME, ID
from metrics.counts import Counts, ratio
from metrics.pairs import iou_devkit, same_frame_pairs
from metrics.sequence import as_rows, keep_last_copy, renumber

MATCH_DISTANCE = 0.5  # largest 1 - IoU of a match
TIE_BREAK = 1e-9


@dataclass
class ClearCounts(Counts):
    """Integer counts of one or more sequences (pooled by ``+``)."""

    gt: int = 0  # GT boxes, a duplicated (frame, id) counted once
    matches: int = 0
    fp: int = 0
    fn: int = 0
    ids: int = 0  # identity switches
    fm: int = 0  # fragmentations
    tracks: int = 0  # distinct GT ids
    mt: int = 0
    pt: int = 0
    ml: int = 0
    frames: int = 0  # largest GT frame number (the devkit's FAR denominator)
    distsum: float = 0.0  # sum of 1 - IoU over the matches

    def ratios(self) -> dict:
        """MOTA, MOTP, Rcll, Prcn as fractions; FAR in false positives per frame.

        MOTP and Prcn are 0 when there is no match (as the devkit forces them); the others are
        NaN when their denominator is 0."""
        return {
            "MOTA": 1.0 - ratio(self.fn + self.fp + self.ids, self.gt),
            "MOTP": 1.0 - self.distsum / self.matches if self.matches else 0.0,
            "Rcll": ratio(self.matches, self.gt),
            "Prcn": ratio(self.matches, self.fp + self.matches) if self.matches else 0.0,
            "FAR": ratio(self.fp, self.frames),
        }


def _assign(dist: np.ndarray) -> list[tuple[int, int]]:
    """Devkit min-cost matching of a (n, m) block of ``1 - IoU``: the matched (row, col) pairs."""
    valid = dist <= MATCH_DISTANCE
    uid = np.cumsum(valid.ravel()).reshape(valid.shape) - 1  # running index over valid pairs
    rows = np.flatnonzero(valid.any(axis=1))
    cols = np.flatnonzero(valid.any(axis=0))
    cost = (dist + TIE_BREAK * uid)[rows[:, None], cols]
    sub_valid = valid[rows[:, None], cols]
    penalty = 1.0 + min(len(rows), len(cols))  # any extra match beats any cost difference
    r, c = linear_sum_assignment(np.where(sub_valid, cost, penalty))
    keep = sub_valid[r, c]
    return list(zip(rows[r[keep]].tolist(), cols[c[keep]].tolist()))


def _frame_matches(prev_map: dict, frame_g: list, frame_r: list, block: np.ndarray) -> dict:
    """Matches of one frame, ``{gt id: (result id, distance)}``: the kept matches of the previous
    frame (``prev_map``, empty when that frame is not ``t-1``), then the assignment of the rest."""
    cur: dict = {}
    if prev_map:
        gpos = {g: i for i, g in enumerate(frame_g)}
        rpos = {r: j for j, r in enumerate(frame_r)}
        for g in sorted(prev_map):
            i, j = gpos.get(g), rpos.get(prev_map[g])
            if i is not None and j is not None and block[i, j] <= MATCH_DISTANCE:
                cur[g] = (prev_map[g], block[i, j])
    used = {v[0] for v in cur.values()}
    ug = [i for i, g in enumerate(frame_g) if g not in cur]
    ue = [j for j, r in enumerate(frame_r) if r not in used]
    if ug and ue:
        sub = block[np.asarray(ug)[:, None], ue]
        if (sub <= MATCH_DISTANCE).any():
            for a, b in _assign(sub):
                cur[frame_g[ug[a]]] = (frame_r[ue[b]], sub[a, b])
    return cur


def clear_mot(gt: np.ndarray, res: np.ndarray) -> ClearCounts:
    """CLEAR MOT counts of one view sequence.

    ``gt`` (N, >=6) and ``res`` (M, >=6): MOT rows already filtered as the devkit does
    (:func:`metrics.sequence.devkit_sequence`); ids may be any integers (0 included). Either may
    be empty.
    """
    gt, res = as_rows(gt), as_rows(res)
    gid_all, n_ids = renumber(gt[:, ID])
    rid_all, _ = renumber(res[:, ID])
    gf_all = gt[:, FRAME].astype(np.int64)
    rf_all = res[:, FRAME].astype(np.int64)
    gk = keep_last_copy(gf_all, gid_all)
    rk = keep_last_copy(rf_all, rid_all)
    g_frame, g_id, g_box = gf_all[gk], gid_all[gk], gt[gk, 2:6]
    r_frame, r_id, r_box = rf_all[rk], rid_all[rk], res[rk, 2:6]

    pairs = same_frame_pairs(g_frame, r_frame)
    dist = 1.0 - iou_devkit(g_box[pairs.ia], r_box[pairs.ib])
    # A frame where no box has two possible partners matches exactly its valid pairs, whatever was
    # kept from t-1; only the other ("conflict") frames need the per-frame assignment.
    valid = np.flatnonzero(dist <= MATCH_DISTANCE)
    busy_g = np.bincount(pairs.ia[valid], minlength=len(g_id)) > 1
    busy_r = np.bincount(pairs.ib[valid], minlength=len(r_id)) > 1
    conflict = set(np.r_[g_frame[busy_g], r_frame[busy_r]].tolist())
    v_start = np.searchsorted(valid, pairs.p_start).tolist()
    v_end = np.searchsorted(valid, pairs.p_end).tolist()
    v_g, v_r = g_id[pairs.ia[valid]].tolist(), r_id[pairs.ib[valid]].tolist()
    v_d = dist[valid].tolist()

    g_ids, r_ids = g_id.tolist(), r_id.tolist()
    last_match = [-1] * n_ids
    prev_frame, prev_map, prev_gt = None, {}, ()
    out = ClearCounts(gt=len(g_ids), tracks=n_ids, frames=int(g_frame.max()) if len(g_frame) else 0)
    m_frame, m_gt, m_dist = [], [], []
    spans = zip(pairs.keys.tolist(), pairs.a_start.tolist(), pairs.a_end.tolist(), pairs.b_start.tolist(),
                pairs.b_end.tolist(), pairs.p_start.tolist(), v_start, v_end)
    for f, g0, g1, r0, r1, p0, va, vb in spans:
        follows = prev_frame == f - 1
        if f in conflict:
            ng, nr = g1 - g0, r1 - r0
            cur = _frame_matches(prev_map if follows else {}, g_ids[g0:g1], r_ids[r0:r1],
                                 dist[p0:p0 + ng * nr].reshape(ng, nr))
        else:
            cur = {g: (r, d) for g, r, d in zip(v_g[va:vb], v_r[va:vb], v_d[va:vb])}
        if follows and cur:
            was_there = set(prev_gt)
            for g, (r, _) in cur.items():
                if g in was_there and last_match[g] != -1 and last_match[g] != r:
                    out.ids += 1
        for g, (r, d) in cur.items():
            last_match[g] = r
            m_frame.append(f)
            m_gt.append(g)
            m_dist.append(d)
        out.matches += len(cur)
        out.fp += r1 - r0 - len(cur)
        out.fn += g1 - g0 - len(cur)
        prev_frame, prev_map, prev_gt = f, {g: v[0] for g, v in cur.items()}, g_ids[g0:g1]
    out.distsum = float(np.sum(m_dist)) if m_dist else 0.0
    _track_quality(out, gf_all, gid_all, np.asarray(m_frame, dtype=np.int64), np.asarray(m_gt, dtype=np.int64))
    return out


def _track_quality(out: ClearCounts, g_frame: np.ndarray, g_id: np.ndarray,
                   m_frame: np.ndarray, m_gt: np.ndarray) -> None:
    """Fill FM and MT/PT/ML from the matched (frame, gt id) pairs; ``g_*`` are all GT rows."""
    if out.tracks == 0:
        return
    stride = out.tracks
    tracked = np.isin(g_frame * stride + g_id, m_frame * stride + m_gt)
    rows = np.bincount(g_id, minlength=stride)
    hit = np.bincount(g_id, weights=tracked, minlength=stride)
    coverage = hit / rows
    out.ml = int(np.sum(coverage < 0.2))
    out.pt = int(np.sum((coverage >= 0.2) & (coverage <= 0.8)))
    out.mt = int(np.sum(coverage > 0.8))
    order = np.lexsort((m_frame, m_gt))
    f, g = m_frame[order], m_gt[order]
    out.fm = int(np.sum((g[1:] == g[:-1]) & (f[1:] - f[:-1] > 1)))
