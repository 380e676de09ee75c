"""IDF1 / IDP / IDR (Ristani et al. 2016) with the MOTChallenge devkit semantics.

GT and result trajectories (one per id) are matched one-to-one, globally over the sequence, so
that the number of frames in which matched trajectories overlap with ``IoU >= 0.5`` (devkit IoU,
no +1) is the largest possible; that number is IDTP. Every row counts, so both copies of a
duplicated (frame, id) row count; as in the devkit's frame-by-frame merge, the k-th copy of a
(frame, id) in one trajectory can only match the k-th copy in the other.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from loader.mot import FRAME, ID
from metrics.counts import Counts, ratio
from metrics.pairs import iou_devkit, same_frame_pairs
from metrics.sequence import as_rows, copy_rank, renumber

IOU_THRESHOLD = 0.5


@dataclass
class IdCounts(Counts):
    """Identity counts of one or more sequences (pooled by ``+``)."""

    idtp: int = 0
    idfp: int = 0
    idfn: int = 0
    gt: int = 0  # GT rows (numGT)
    pred: int = 0  # result rows (numPRED)

    def ratios(self) -> dict:
        """IDF1, IDP, IDR as fractions; IDP is 0 without results (as the devkit), others NaN on 0/0."""
        return {
            "IDF1": ratio(2 * self.idtp, self.gt + self.pred),
            "IDP": ratio(self.idtp, self.idtp + self.idfp) if self.pred else 0.0,
            "IDR": ratio(self.idtp, self.idtp + self.idfn),
        }


def match_counts(gt: np.ndarray, res: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(overlap (n_gt_ids, n_res_ids), gt ids, res ids)``: overlap[i, j] counts the rows of GT id
    i and result id j that match (same frame and copy, IoU >= 0.5). Rows: (N, >=6) MOT arrays."""
    gt, res = as_rows(gt), as_rows(res)
    gid, n_g = renumber(gt[:, ID])
    rid, n_r = renumber(res[:, ID])
    overlap = np.zeros((n_g, n_r), dtype=np.int64)
    if n_g and n_r:
        g_rank, r_rank = copy_rank(gt[:, FRAME], gid), copy_rank(res[:, FRAME], rid)
        stride = int(max(g_rank.max(), r_rank.max())) + 1
        g_key = gt[:, FRAME].astype(np.int64) * stride + g_rank  # (frame, copy) merge key
        r_key = res[:, FRAME].astype(np.int64) * stride + r_rank
        go, ro = np.argsort(g_key, kind="stable"), np.argsort(r_key, kind="stable")
        pairs = same_frame_pairs(g_key[go], r_key[ro])
        gi, ri = go[pairs.ia], ro[pairs.ib]
        hit = iou_devkit(gt[gi, 2:6], res[ri, 2:6]) >= IOU_THRESHOLD
        np.add.at(overlap, (gid[gi[hit]], rid[ri[hit]]), 1)
    return overlap, np.unique(gt[:, ID]), np.unique(res[:, ID])


def id_measures(gt: np.ndarray, res: np.ndarray) -> IdCounts:
    """Identity counts of one sequence; ``gt``/``res`` as for :func:`metrics.clear_mot.clear_mot`."""
    gt, res = as_rows(gt), as_rows(res)
    overlap, _, _ = match_counts(gt, res)
    idtp = 0
    if overlap.size and overlap.any():
        r, c = linear_sum_assignment(overlap, maximize=True)
        idtp = int(overlap[r, c].sum())
    return IdCounts(idtp=idtp, idfp=len(res) - idtp, idfn=len(gt) - idtp, gt=len(gt), pred=len(res))
