"""Evaluate multi-view tracking results with the official MvMHAT metrics (and DIVOTrack's).

    # GT folder of <scene>_<view>.txt files and a scenes CSV (as ../shared/data/mvmhat_eval)
    python eval.py --gt ../shared/data/mvmhat_eval/gt --res ../shared/data/mvmhat_eval/res \
        --scenes ../shared/data/mvmhat_eval/scenes.csv --json results.json
    # dataset root in the MvMHAT layout: test ranges from its dataset.yaml
    python eval.py --gt data/MvMHAT --res output/results

Prints one row per scene and an overall row (percentages with one decimal) and optionally writes
JSON (``overall``, ``per_scene``, ``per_view`` keyed by the metric names, ratios as fractions).
The computation is specified in ../shared/METRICS.md.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

from atomic import atomic_open, check_writable
from errors import run_main
from loader.layout import MANIFEST_NAME
from metrics.evaluate import BACKENDS, evaluate
from metrics.inputs import WARNING, load_scenes, scenes_from_csv, scenes_from_layout, select_scenes
from metrics.table import format_report




def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--gt", required=True, type=Path,
                   help="folder of <scene>_<view>.txt GT files (needs --scenes) or a dataset root with dataset.yaml")
    p.add_argument("--res", required=True, type=Path, help="folder of <scene>_<view>.txt result files")
    p.add_argument("--scenes", type=Path, help="CSV: scene,start_frame,end_frame,num_views (inclusive range)")
    p.add_argument("--manifest", type=Path, help="dataset manifest (default: <gt>/dataset.yaml)")
    p.add_argument("--ranges", choices=["frames", "positions"], default="frames",
                   help="with a dataset root: the manifest's ranges count frame numbers or positions in the "
                        "sorted image list (as tracked with --data.ranges)")
    p.add_argument("--scene", action="append", dest="only", metavar="NAME",
                   help="evaluate only this scene (repeatable; default: all)")
    p.add_argument("--json", type=Path, help="write every metric and count to this JSON file")
    p.add_argument("--backend", choices=sorted(BACKENDS), default="official",
                   help="over-time metrics: official devkit semantics or py-motmetrics (a cross-check)")
    p.add_argument("--missing-as-empty", action="store_true",
                   help="score a missing result file as empty instead of stopping with an error")
    return p.parse_args(argv)


def scene_specs(args: argparse.Namespace) -> list:
    if args.scenes is not None:
        if not args.gt.is_dir():
            raise FileNotFoundError(f"GT folder not found: {args.gt}")
        specs = scenes_from_csv(args.gt, args.res, args.scenes)
    elif args.manifest is not None or (args.gt / MANIFEST_NAME).is_file():
        specs = scenes_from_layout(args.gt, args.res, args.manifest, args.ranges)
    else:
        raise FileNotFoundError(f"{args.gt} has no {MANIFEST_NAME}: give --scenes for a folder of "
                                f"<scene>_<view>.txt GT files, or --manifest")
    return select_scenes(specs, args.only)


def main(args: argparse.Namespace) -> int:
    """Evaluate, print and write as the arguments say: 0, or 2 after printing a known error
    (missing files, a malformed row, a bad scenes file or manifest, an unwritable output)."""
    return run_main(lambda: evaluate_and_report(args))


def evaluate_and_report(args: argparse.Namespace) -> None:
    t0 = time.perf_counter()
    if args.json is not None:
        check_writable(args.json)  # before the work, not after the table
    data, notes = load_scenes(scene_specs(args), missing_as_empty=args.missing_as_empty)
    report = evaluate(data, backend=args.backend, notes=notes)
    warnings = [n[len(WARNING):] for n in report.notes if n.startswith(WARNING)]
    for note in report.notes:
        if not note.startswith(WARNING):
            print(f"note: {note}", file=sys.stderr)
    print(format_report(report))
    for warning in warnings:  # after the table, where the numbers they explain are
        print(f"warning: {warning}", file=sys.stderr)
    print(f"{len(report.views)} view sequences, {len(report.scenes)} scenes, backend {report.backend}, "
          f"{time.perf_counter() - t0:.1f} s")
    if args.json is not None:
        with atomic_open(args.json, "w", encoding="utf-8") as f:
            json.dump(report.to_json(), f, indent=1, allow_nan=False)
        print(f"wrote {args.json}")


if __name__ == "__main__":
    sys.exit(main(parse_args()))
