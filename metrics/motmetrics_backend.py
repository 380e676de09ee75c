"""py-motmetrics as a second backend for the over-time metrics (``--backend motmetrics``).

It computes almost what the devkit computes but differs in the switch rule, in which earlier
matches it keeps and in FM, and it counts exactly 0.8 coverage as MT (see ``../shared/METRICS.md``);
on the released results its IDF1 equals the official one and its MOTA is a little lower. It is a
cross-check, not the official number. A duplicated (frame, id) row collapses to its last copy for
every metric here (py-motmetrics cannot hold two boxes with one id in a frame).

Importing this module needs the ``motmetrics`` package (imported lazily by ``metrics.evaluate``).
"""
from __future__ import annotations

import numpy as np

if not hasattr(np, "asfarray"): np.asfarray = lambda a, dtype=np.float64: np.asarray(a, dtype=dtype)  # noqa: E701 numpy 2 removed it; motmetrics 1.4.0 calls it
import motmetrics as mm  # noqa: E402  (after the shim)

from loader.mot import FRAME, ID  # noqa: E402
from metrics.clear_mot import MATCH_DISTANCE, ClearCounts  # noqa: E402
from metrics.identity import IdCounts  # noqa: E402
from metrics.sequence import as_rows, keep_last_copy  # noqa: E402

_METRICS = ["num_objects", "num_predictions", "num_detections", "num_false_positives", "num_misses",
            "num_switches", "num_fragmentations", "num_unique_objects", "mostly_tracked",
            "partially_tracked", "mostly_lost", "motp", "idtp", "idfp", "idfn"]


def _accumulate(gt: np.ndarray, res: np.ndarray) -> "mm.MOTAccumulator":
    acc = mm.MOTAccumulator(auto_id=False)
    frames = np.union1d(gt[:, FRAME], res[:, FRAME]).astype(np.int64)
    g_at = np.searchsorted(gt[:, FRAME], frames, "left"), np.searchsorted(gt[:, FRAME], frames, "right")
    r_at = np.searchsorted(res[:, FRAME], frames, "left"), np.searchsorted(res[:, FRAME], frames, "right")
    for k, f in enumerate(frames.tolist()):
        g = gt[g_at[0][k]:g_at[1][k]]
        r = res[r_at[0][k]:r_at[1][k]]
        dist = mm.distances.iou_matrix(g[:, 2:6], r[:, 2:6], max_iou=MATCH_DISTANCE)
        if dist.size == 0:
            dist = np.empty((len(g), len(r)))
        acc.update(g[:, ID].astype(np.int64), r[:, ID].astype(np.int64), dist, frameid=f)
    return acc


def _collapse(rows: np.ndarray) -> np.ndarray:
    """Last copy of each (frame, id), ordered by frame then id."""
    rows = as_rows(rows)
    if len(rows) == 0:
        return rows
    _, ids = np.unique(rows[:, ID], return_inverse=True)
    return rows[keep_last_copy(rows[:, FRAME].astype(np.int64), ids.reshape(-1))]


def motmetrics_counts(gt: np.ndarray, res: np.ndarray) -> tuple[ClearCounts, IdCounts]:
    """CLEAR and identity counts of one view sequence computed by py-motmetrics.

    ``gt``/``res``: MOT rows (N, >=6) filtered as for the official backend; either may be empty.
    """
    gt, res = _collapse(gt), _collapse(res)
    frames = int(gt[:, FRAME].max()) if len(gt) else 0
    if len(gt) == 0 and len(res) == 0:
        return ClearCounts(), IdCounts()
    summary = mm.metrics.create().compute(_accumulate(gt, res), metrics=_METRICS, name="seq")
    s = {k: summary[k].iloc[0] for k in _METRICS}
    matches = int(s["num_detections"])  # py-motmetrics: num_matches leaves out the switches
    clear = ClearCounts(
        gt=int(s["num_objects"]), matches=matches, fp=int(s["num_false_positives"]),
        fn=int(s["num_misses"]), ids=int(s["num_switches"]), fm=int(s["num_fragmentations"]),
        tracks=int(s["num_unique_objects"]), mt=int(s["mostly_tracked"]), pt=int(s["partially_tracked"]),
        ml=int(s["mostly_lost"]), frames=frames,
        distsum=float(s["motp"]) * matches if matches else 0.0)
    ident = IdCounts(idtp=int(s["idtp"]), idfp=int(s["idfp"]), idfn=int(s["idfn"]),
                     gt=int(s["num_objects"]), pred=int(s["num_predictions"]))
    return clear, ident
