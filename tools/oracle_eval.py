"""Score the multi-view tracker's association on oracle detections of the real test scenes.

    python -m tools.oracle_eval [--association release|tracklet] [--sigmas 0,0.1,0.3] \
        [--scenes 1,2,3] [--out runs/oracle] [--seed 0] [--dim 64] [--track.key=value ...]

Detections are every ground-truth box of the official test GT (``../shared/data/mvmhat_eval``),
exact, each with a noisy one-hot identity feature of ``sigma`` (``../shared/tools/
oracle_features.py``), so only the association logic is measured. The frame rule is that of the
released frame loop, as in the reference runs (``../shared/reference/released_tracker_oracle.json``):
the tracker sees the detections of frames ``start..end-2`` of each scene (``inference.py`` sets
the last frame to ``end - 1`` and loops over ``range(start, last)``), the frame number it is
given is the ground-truth frame, views in order 1, 2, 3, ...; its output is kept for frames
``start+2..end-2``, rows in tracker order. Results go to ``OUT/sigma<sigma>/<scene>_<view>.txt``
(the official names) and are scored with the official evaluation (``eval.py``'s library). One
row per sigma: MOTA, IDF1 (percent), IDs, MVIDP, MVIDR, MVIDF1, MVMA, and multi-view frames per
second of the tracker alone (``MultiViewTracker.update`` time, all scenes together; with
``--repeats N`` each scene is tracked N times and its fastest run counts, which steadies the
number on a shared machine).
"""
from __future__ import annotations

import argparse
import dataclasses
import functools
import importlib.util
import json
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from atomic import atomic_open
from config import TrackConfig, load_config
from deep_sort.detection import Detection
from deep_sort.multiview import MultiViewTracker
from loader.mot import write_mot
from metrics.evaluate import evaluate
from metrics.inputs import load_scenes, read_scenes_csv, scenes_from_csv, select_scenes
from pipeline.tracking import track_rows, tracker_params

SHARED = Path(__file__).resolve().parents[2] / "shared"  # a shared/ folder beside the repository
DATA = SHARED / "data" / "mvmhat_eval"
COLUMNS = ("MOTA", "IDF1", "IDs", "MVIDP", "MVIDR", "MVIDF1", "MVMA", "fps")
TRIM = 2  # frames dropped from each end of a scene's output (the released frame loop)
LOOP_END = 2  # the released loop tracks frames start..end-2 (its range stops before end - 1)


@functools.lru_cache(maxsize=None)
def oracle_module(shared: Path = SHARED):
    """``oracle_features`` loaded from its file in ``shared/tools`` (ImportError naming the folder
    if absent); ``sys.path`` is left as it is."""
    path = Path(shared) / "tools" / "oracle_features.py"
    if not path.is_file():
        raise ImportError(f"oracle_features.py not found in {path.parent} (a shared/ folder beside the repository)")
    spec = importlib.util.spec_from_file_location("oracle_features", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # as an import would: dataclasses and pickling look it up there
    spec.loader.exec_module(module)
    return module


def scene_frames(scene: str, sigma: float, seed: int, dim: Optional[int], data: Path,
                 frame_range: Optional[tuple] = None) -> tuple:
    """``(views, frames, {frame: {view: [Detection]}})`` of one scene's oracle detections."""
    oracle = oracle_module()
    dets, info = oracle.oracle_detections(scene, sigma=sigma, seed=seed, dim=dim, gt_dir=data / "gt",
                                          scenes_csv=data / "scenes.csv", frame_range=frame_range,
                                          return_info=True)
    start, end = info["frame_range"]
    by_frame: Dict[int, Dict[str, List[Detection]]] = {f: {v: [] for v in info["views"]}
                                                      for f in range(start, end + 1)}
    for v, rows in dets.items():
        for f, tlwh, feature in rows:
            by_frame[f][v].append(Detection(tlwh, 1.0, feature))
    return info["views"], (start, end), by_frame


def track_oracle_scene(views: Sequence[str], frame_range: tuple, by_frame: dict, params: dict) -> tuple:
    """Run the tracker over frames start..end-2 (the released loop); ``(rows per view (M, 10),
    frames tracked, tracker seconds)``. The tracker is causal: the frames it skips at the end
    are past the output kept (``start+2..end-2``) anyway."""
    start, end = frame_range
    last = end - LOOP_END
    tracker = MultiViewTracker(views, **params)
    rows, seconds = track_rows(tracker, ((f, by_frame[f]) for f in range(start, last + 1)),
                               keep=(start + TRIM, end - TRIM))
    return rows, last - start + 1, seconds


def run_sigma(sigma: float, scenes: Sequence[str], track: TrackConfig, out: Path, seed: int = 0,
              dim: Optional[int] = 64, data: Path = DATA, frame_ranges: Optional[dict] = None,
              repeats: int = 1) -> dict:
    """Track and score every scene at one sigma; the overall metrics plus ``fps`` (each scene
    tracked ``repeats`` times, its fastest run counted; the tracker is deterministic)."""
    res = out / f"sigma{sigma:g}"
    frames, seconds = 0, 0.0
    for scene in scenes:
        fr = (frame_ranges or {}).get(scene)
        views, frame_range, by_frame = scene_frames(scene, sigma, seed, dim, data, fr)
        runs = [track_oracle_scene(views, frame_range, by_frame, tracker_params(track)) for _ in range(repeats)]
        rows, n, _ = runs[0]
        frames, seconds = frames + n, seconds + min(s for _, _, s in runs)
        for v in views:
            write_mot(res / f"{scene}_{v}.txt", rows[v], sort=False)  # tracker order, as released
    specs = select_scenes(scenes_from_csv(data / "gt", res, data / "scenes.csv"), list(scenes))
    for spec in specs:  # a shortened range is scored on that range
        if frame_ranges and spec.name in frame_ranges:
            spec.start, spec.end = frame_ranges[spec.name]
    loaded, _ = load_scenes(specs)
    report = evaluate(loaded)
    metrics = report.overall_metrics()
    row = {k: metrics[k] for k in COLUMNS[:-1]}
    row.update(fps=frames / max(seconds, 1e-9), frames=frames, tracker_s=seconds,
               per_scene={n: {k: report.scene_metrics(n)[k] for k in COLUMNS[:-1]} for n in report.scenes})
    return row


def format_row(sigma: float, row: dict) -> str:
    return (f"| {sigma:g} | {100 * row['MOTA']:.2f} | {100 * row['IDF1']:.2f} | {row['IDs']} | "
            f"{row['MVIDP']:.4f} | {row['MVIDR']:.4f} | {row['MVIDF1']:.4f} | {row['MVMA']:.4f} | "
            f"{row['fps']:.0f} |")


def parse_args(argv: Optional[Sequence[str]] = None) -> tuple:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="Tracker settings: --track.key=value (config.TrackConfig).")
    p.add_argument("--association", default=None, help="association mode (default: track.association)")
    p.add_argument("--sigmas", default="0,0.1,0.2,0.3,0.6,1.0", help="comma-separated feature noise levels")
    p.add_argument("--scenes", default=None, help="comma-separated scenes (default: all of scenes.csv)")
    p.add_argument("--out", type=Path, default=Path("runs/oracle"), help="results go to OUT/sigma<s>/")
    p.add_argument("--seed", type=int, default=0, help="oracle feature seed")
    p.add_argument("--dim", type=int, default=64, help="oracle feature dimension")
    p.add_argument("--data", type=Path, default=DATA, help="folder with gt/ and scenes.csv")
    p.add_argument("--json", type=Path, default=None, help="also write the rows (and per-scene metrics) here")
    p.add_argument("--repeats", type=int, default=1, help="track each scene this often; fps from the fastest run")
    return p.parse_known_args(argv)


def main(args: argparse.Namespace, track: TrackConfig) -> List[dict]:
    if args.association:
        track.association = args.association
    scenes = (args.scenes.split(",") if args.scenes
              else [s for s, *_ in read_scenes_csv(args.data / "scenes.csv")])
    sigmas = [float(s) for s in args.sigmas.split(",")]
    print(f"association {track.association}, {len(scenes)} scenes ({','.join(scenes)}), seed {args.seed}, "
          f"dim {args.dim}, results in {args.out}")
    print("| sigma | " + " | ".join(COLUMNS) + " |")
    print("|---" * (len(COLUMNS) + 1) + "|")
    rows = []
    for sigma in sigmas:
        row = run_sigma(sigma, scenes, track, args.out, args.seed, args.dim, args.data, repeats=args.repeats)
        rows.append({"sigma": sigma, **row})
        print(format_row(sigma, row), flush=True)
    if args.json:
        with atomic_open(args.json, "w") as f:
            json.dump({"association": track.association, "track": dataclasses.asdict(track),
                       "scenes": scenes, "seed": args.seed, "dim": args.dim, "rows": rows}, f, indent=1)
    return rows


if __name__ == "__main__":
    a, overrides = parse_args()
    if a.association:  # checked against config.CHOICES like any override
        overrides = list(overrides) + [f"--track.association={a.association}"]
    main(a, load_config(None, overrides).track)
