"""Check eval.py's in-memory HOTA (metrics/hota.py) against TrackEval's own file-based Evaluator.

    python -m tools.hota_files_check [--data ../shared/data/mvmhat_eval] [--out /tmp/hota_files]

Writes every view sequence of the released results (filtered as the official evaluation does) and
every scene's DIVOTrack concatenated layout as MOTChallenge files the way TrackEval reads them:
frames renumbered ``1..L``, GT columns 7-9 set to ``1,1,1`` (an evaluated, visible pedestrian:
the MvMHAT files do not use these columns that way), a duplicated (frame, id) row reduced to its
last copy (TrackEval refuses duplicates). Then runs TrackEval's ``Evaluator`` with its ``HOTA``
metric on them and prints, for each HOTA field, the largest difference to ``metrics.evaluate``'s
values over the sequences and the combined rows, and the wall time of both ways. Exit status 1
when a difference exceeds 1e-9.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import sys
import time
from pathlib import Path

import numpy as np

from metrics.crossview import concatenated
from metrics.evaluate import HOTA_METRICS, evaluate
from metrics.hota import HotaResult, collapsed
from metrics.inputs import load_scenes, scenes_from_csv
from metrics.sequence import as_rows, devkit_sequence

SHARED = Path(__file__).resolve().parents[2] / "shared"  # a shared/ folder beside the repository
TOLERANCE = 1e-9


def write_mot_challenge(path: Path, rows: np.ndarray, first_frame: int, gt: bool) -> int:
    """Write MOT rows as a TrackEval MOTChallenge file, reduced as :func:`metrics.hota.collapsed`
    reduces them (ids renumbered from 1), frame ``first_frame`` becoming 1; GT rows get columns 7-9
    ``1,1,1``, results ``-1,-1,-1``. Returns the largest written frame (0 if none)."""
    frames, ids, boxes, _ = collapsed(as_rows(rows))
    frames = frames - first_frame + 1
    path.parent.mkdir(parents=True, exist_ok=True)
    tail = "1,1,1" if gt else "-1,-1,-1"
    with open(path, "w", encoding="utf-8") as f:
        for fr, i, b in zip(frames.tolist(), ids.tolist(), boxes.tolist()):
            f.write(f"{fr},{i + 1},{b[0]!r},{b[1]!r},{b[2]!r},{b[3]!r},{tail}\n")
    return int(frames.max()) if len(frames) else 0


def evaluator_hota(folder: Path, lengths: dict) -> dict:
    """TrackEval's ``Evaluator`` with ``HOTA`` on ``folder/gt/<seq>/gt/gt.txt`` and
    ``folder/trk/ours/data/<seq>.txt``: ``{seq or 'COMBINED_SEQ': HOTA result dict}``."""
    import trackeval  # the package metrics.hota wraps; imported after it, so its import note is gone

    dataset = trackeval.datasets.MotChallenge2DBox({
        "GT_FOLDER": str(folder / "gt"), "TRACKERS_FOLDER": str(folder / "trk"), "SKIP_SPLIT_FOL": True,
        "SEQ_INFO": lengths, "TRACKERS_TO_EVAL": ["ours"], "PRINT_CONFIG": False})
    evaluator = trackeval.Evaluator({
        "USE_PARALLEL": False, "PRINT_RESULTS": False, "PRINT_CONFIG": False, "TIME_PROGRESS": False,
        "OUTPUT_SUMMARY": False, "OUTPUT_DETAILED": False, "PLOT_CURVES": False, "LOG_ON_ERROR": None})
    with contextlib.redirect_stdout(io.StringIO()):  # its progress lines
        out, _ = evaluator.evaluate([dataset], [trackeval.metrics.HOTA()])
    return {k: v["pedestrian"]["HOTA"] for k, v in out["MotChallenge2DBox"]["ours"].items()}


def write_sequences(folder: Path, seqs: dict) -> dict:
    """``seqs``: ``{name: (gt rows, result rows, first frame)}`` -> files; ``{name: length}``."""
    lengths = {}
    for name, (gt, res, first) in seqs.items():
        a = write_mot_challenge(folder / "gt" / name / "gt" / "gt.txt", gt, first, True)
        b = write_mot_challenge(folder / "trk" / "ours" / "data" / f"{name}.txt", res, first, False)
        lengths[name] = max(a, b, 1)
    return lengths


def max_differences(ours: dict, ref: dict) -> dict:
    """Largest absolute difference per HOTA field over the sequences of ``ours`` ({name: HotaResult})."""
    return {k: max(float(np.max(np.abs(ours[n].fields[k] - ref[n][k]))) for n in ours) for k in HOTA_METRICS}


def main(args: argparse.Namespace) -> int:
    data = args.data
    scenes, notes = load_scenes(scenes_from_csv(data / "gt", data / "res", data / "scenes.csv"))
    t0 = time.perf_counter()
    report = evaluate(scenes, notes=notes, metrics=["hota"])
    ours_s = time.perf_counter() - t0
    views, layouts = {}, {}
    for scene in scenes:
        seqs = [devkit_sequence(v.gt, v.res, scene.start, scene.end) for v in scene.views]
        for v, s in zip(scene.views, seqs):
            views[v.key] = (s.gt, s.res, max(1, scene.start))
        last = [int(max(s.gt[:, 0].max(initial=0), s.res[:, 0].max(initial=0))) for s in seqs]
        layouts[f"cv{scene.name}"] = (concatenated([s.gt for s in seqs], last),
                                      concatenated([s.res for s in seqs], last), max(1, scene.start))
    failed = False
    for what, seqs, ours in (
            ("per view", views, {k: report.views[k].hota for k in views}),
            ("concatenated views", layouts, {f"cv{n}": s.cv_hota for n, s in report.scenes.items()})):
        folder = args.out / what.replace(" ", "_")
        lengths = write_sequences(folder, seqs)
        t0 = time.perf_counter()
        ref = evaluator_hota(folder, lengths)
        files_s = time.perf_counter() - t0
        ours["COMBINED_SEQ"] = HotaResult.combine(list(ours.values()))
        diff = max_differences(ours, ref)
        worst = max(diff.values())
        failed |= worst > TOLERANCE
        print(f"{what}: {len(seqs)} sequences, TrackEval Evaluator {files_s:.1f} s; largest difference "
              f"{worst:.2e} ({', '.join(f'{k} {v:.1e}' for k, v in diff.items())}); combined HOTA "
              f"{np.mean(ref['COMBINED_SEQ']['HOTA']):.6f} (files) vs {ours['COMBINED_SEQ'].summary()['HOTA']:.6f}")
    print(f"in memory (metrics.evaluate, both layouts): {ours_s:.1f} s")
    return 1 if failed else 0


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=SHARED / "data" / "mvmhat_eval", help="folder with gt/, res/, scenes.csv")
    p.add_argument("--out", type=Path, default=Path("/tmp/hota_files"), help="where the MOTChallenge files go")
    return p.parse_args(argv)


if __name__ == "__main__":
    sys.exit(main(parse_args()))
