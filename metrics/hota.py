"""HOTA (Luiten et al., IJCV 2021) computed by TrackEval's own ``HOTA`` metric class, fed in memory.

TrackEval's file-based ``Evaluator`` writes and reads a folder layout and re-checks every file;
here its ``HOTA.eval_sequence`` gets the per-frame data it expects directly: for each frame the
GT and result ids (renumbered to ``0..n-1`` over the sequence) and the GT x result IoU matrix,
computed as TrackEval's ``_calculate_box_ious(..., box_format='xywh')`` does (:func:`iou_trackeval`).
Pooling views, scenes or the whole benchmark is TrackEval's ``combine_sequences``
(counts summed per alpha, AssA/AssRe/AssPr/LocA averaged with the true positives as weights).

What TrackEval's MOTChallenge reader would do to these files, and what we do instead:

* Columns 7-9 of a MOTChallenge GT row mean "evaluate this row" (0: ignore), class and
  visibility; the MvMHAT GT files do not use them that way (column 7 is 0 on most rows). Every
  MvMHAT GT row is a person to track, so every row is kept as an evaluated pedestrian (as if
  columns 7-9 were ``1,1,1``) and no result is removed as matching a distractor.
* TrackEval refuses an id that occurs twice in one frame; a duplicated (frame, id) row (GT 3_2
  has one) collapses to its last copy, as for CLEAR MOT.
* Frames are the sequence's own (TrackEval's files need them renumbered ``1..L``); frames with
  neither GT nor results add nothing to HOTA and are left out.

Reported values are TrackEval's summary: each field's mean over the 19 alphas 0.05..0.95.

This module is the one place that imports ``trackeval`` (installed with ``--no-deps``: its
declared dependencies include ``opencv-python`` and ``pycocotools``, which the HOTA code never
uses). Version 1.3.0 needs no NumPy 2 alias; its package import prints a line about an optional
dataset it cannot load, which :func:`_import_hota` keeps off the terminal.
"""
from __future__ import annotations

import contextlib
import io
import sys
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from errors import KnownError
from loader.mot import FRAME, ID
from metrics.pairs import same_frame_pairs
from metrics.sequence import as_rows, keep_last_copy, renumber

FIELDS = ("HOTA", "DetA", "AssA", "LocA", "DetRe", "DetPr", "AssRe", "AssPr")
_OPTIONAL_IMPORT_NOTE = "Error importing BURST due to missing underlying dependency"


class MissingPackageError(KnownError, ImportError):
    """trackeval is not installed; the message says how to install it."""


def _import_hota():
    """TrackEval's HOTA class; the package's import-time note about its optional BURST dataset
    (it needs pycocotools) is dropped, any other output is passed on to stderr."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            from trackeval.metrics import HOTA
        except ModuleNotFoundError as e:
            if (e.name or "").split(".")[0] != "trackeval":  # not a dependency missing inside it
                raise
            raise MissingPackageError("the hota metrics need the trackeval package: pip install --no-deps "
                                      "trackeval==1.3.0 (or make test, which installs the lock)") from None
    rest = [line for line in out.getvalue().splitlines() if line and not line.startswith(_OPTIONAL_IMPORT_NOTE)]
    if rest:
        print("\n".join(rest), file=sys.stderr)
    return HOTA


_HOTA = _import_hota()


@dataclass
class HotaResult:
    """TrackEval's HOTA result dict of one sequence or of several pooled (``fields``: arrays over
    the alphas, as TrackEval returns them)."""

    fields: dict = field(default_factory=dict)

    @classmethod
    def combine(cls, results: Sequence["HotaResult"]) -> "HotaResult":
        """TrackEval's ``combine_sequences`` of several results (one result is returned as it is, as
        TrackEval reports a sequence; an empty list gives NaNs)."""
        if not results:
            return cls()
        if len(results) == 1:
            return results[0]
        return cls(_HOTA().combine_sequences({str(i): r.fields for i, r in enumerate(results)}))

    def summary(self) -> dict:
        """HOTA, DetA, AssA, LocA, DetRe, DetPr, AssRe, AssPr: means over the alphas (fractions)."""
        if not self.fields:
            return {k: float("nan") for k in FIELDS}
        return {k: float(np.mean(self.fields[k])) for k in FIELDS}

    def details(self) -> dict:
        """Per-alpha counts and the three main scores, for the JSON's ``details``."""
        if not self.fields:
            return {}
        out = {k: [int(round(v)) for v in self.fields[f"HOTA_{k}"]] for k in ("TP", "FN", "FP")}
        out.update({k: [float(v) for v in self.fields[k]] for k in ("HOTA", "DetA", "AssA")})
        out.update(self.summary())
        return out


def iou_trackeval(a_tlwh: np.ndarray, b_tlwh: np.ndarray) -> np.ndarray:
    """Element-wise IoU of (P, 4) ``tlwh`` boxes with TrackEval's operations and edge rules
    (``x2 = x + w``; 0 where an area or the union is not above machine epsilon)."""
    eps = np.finfo("float").eps
    ax0, ay0 = a_tlwh[:, 0], a_tlwh[:, 1]
    bx0, by0 = b_tlwh[:, 0], b_tlwh[:, 1]
    ax1, ay1 = ax0 + a_tlwh[:, 2], ay0 + a_tlwh[:, 3]
    bx1, by1 = bx0 + b_tlwh[:, 2], by0 + b_tlwh[:, 3]
    inter = (np.maximum(np.minimum(ax1, bx1) - np.maximum(ax0, bx0), 0)
             * np.maximum(np.minimum(ay1, by1) - np.maximum(ay0, by0), 0))
    area_a = (ax1 - ax0) * (ay1 - ay0)
    area_b = (bx1 - bx0) * (by1 - by0)
    union = area_a + area_b - inter
    inter = np.where((area_a <= eps) | (area_b <= eps) | (union <= eps), 0.0, inter)
    return inter / np.where(union <= eps, 1.0, union)


def collapsed(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """``(frames, ids 0..n-1, tlwh boxes, n)`` with a duplicated (frame, id) reduced to its last
    copy, ordered by frame, then id: the rows TrackEval sees (``tools.hota_files_check`` writes them)."""
    ids, n = renumber(rows[:, ID])
    frames = rows[:, FRAME].astype(np.int64)
    keep = keep_last_copy(frames, ids)
    return frames[keep], ids[keep], rows[keep, 2:6], n


def sequence_data(gt: np.ndarray, res: np.ndarray) -> dict:
    """The input of TrackEval's ``HOTA.eval_sequence`` for one sequence of MOT rows (N, >=6)."""
    g_frame, g_id, g_box, n_g = collapsed(as_rows(gt))
    r_frame, r_id, r_box, n_r = collapsed(as_rows(res))
    pairs = same_frame_pairs(g_frame, r_frame)
    sim = iou_trackeval(g_box[pairs.ia], r_box[pairs.ib])
    gt_ids, res_ids, sims = [], [], []
    for a0, a1, b0, b1, p0, p1 in zip(pairs.a_start.tolist(), pairs.a_end.tolist(), pairs.b_start.tolist(),
                                      pairs.b_end.tolist(), pairs.p_start.tolist(), pairs.p_end.tolist()):
        gt_ids.append(g_id[a0:a1])
        res_ids.append(r_id[b0:b1])
        sims.append(sim[p0:p1].reshape(a1 - a0, b1 - b0))
    return {"num_timesteps": len(pairs.keys), "num_gt_ids": n_g, "num_tracker_ids": n_r,
            "num_gt_dets": len(g_id), "num_tracker_dets": len(r_id),
            "gt_ids": gt_ids, "tracker_ids": res_ids, "similarity_scores": sims}


def hota_sequence(gt: np.ndarray, res: np.ndarray) -> HotaResult:
    """HOTA of one sequence: GT and result MOT rows (N, >=6), ids any integers; either may be empty."""
    return HotaResult(_HOTA().eval_sequence(sequence_data(gt, res)))
