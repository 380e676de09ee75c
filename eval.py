"""Evaluate multi-view tracking results: the official MvMHAT metrics, DIVOTrack's, HOTA and STMA.

    # GT folder of <scene>_<view>.txt files (the official test GT); scene ranges from --scenes,
    # by default the MvMHAT protocol in configs/datasets/mvmhat_eval_scenes.csv
    python eval.py --gt ../shared/data/mvmhat_eval/gt --res ../shared/data/mvmhat_eval/res --json results.json
    # dataset root in the MvMHAT layout: test ranges from its dataset.yaml
    python eval.py --gt data/MvMHAT --res output/results
    # some families only, every column, settings from a config's eval: section
    python eval.py --gt ... --res ... --metrics official,hota --wide --config configs/paper.yaml

Metric families (``--metrics``, default from the config's ``eval.metrics``: all): ``official``
(devkit metrics per view, MVIDP/MVIDR/MVIDF1/MVMA), ``cv`` (DIVOTrack's CVIDF1/CVMA), ``hota``
(HOTA, DetA, AssA, ... per view and CVHOTA, ... across views, through TrackEval) and ``stma``
(MvMHAT++'s STMA5/10/30). Prints one row per scene and an overall row (percentages with one
decimal; compact, or ``--wide`` with every metric; ``--markdown`` for a Markdown table) and
optionally writes JSON (``overall``, ``per_scene``, ``per_view`` keyed by the metric names, ratios
as fractions, ``details`` with every count). Definitions and checks: docs/METRICS.md.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

from atomic import atomic_open, check_writable
from config import EvalConfig, load_config
from errors import run_main
from loader.layout import MANIFEST_NAME
from metrics.evaluate import BACKENDS, evaluate
from metrics.inputs import (WARNING, load_scenes, read_scenes_csv, scenes_from_csv, scenes_from_layout,
                            select_scenes)
from metrics.table import format_report

PROTOCOL_SCENES = Path(__file__).resolve().parent / "configs" / "datasets" / "mvmhat_eval_scenes.csv"


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """The arguments; ``--section.key=value`` config overrides are collected in ``overrides``."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="The config's eval section can be overridden as --eval.key=value.")
    p.add_argument("--gt", required=True, type=Path,
                   help="folder of <scene>_<view>.txt GT files (ranges from --scenes) or a dataset root with dataset.yaml")
    p.add_argument("--res", required=True, type=Path, help="folder of <scene>_<view>.txt result files")
    p.add_argument("--scenes", type=Path,
                   help="CSV: scene,start_frame,end_frame,num_views (inclusive range); with a GT folder, default: "
                        "the MvMHAT protocol (configs/datasets/mvmhat_eval_scenes.csv)")
    p.add_argument("--manifest", type=Path, help="dataset manifest (default: <gt>/dataset.yaml)")
    p.add_argument("--ranges", choices=["frames", "positions"], default="frames",
                   help="with a dataset root: the manifest's ranges count frame numbers or positions in the "
                        "sorted image list (as tracked with --data.ranges)")
    p.add_argument("--scene", action="append", dest="only", metavar="NAME",
                   help="evaluate only this scene (repeatable; default: all)")
    p.add_argument("--json", type=Path, help="write every metric and count to this JSON file")
    p.add_argument("--metrics", help="metric families, comma-separated: official,cv,hota,stma "
                                     "(default: the config's eval.metrics, all of them)")
    p.add_argument("--backend", choices=sorted(BACKENDS),
                   help="devkit metrics: official devkit semantics or py-motmetrics, a cross-check "
                        "(default: the config's eval.backend, official)")
    p.add_argument("--config", type=Path, help="YAML config whose eval section sets the defaults")
    p.add_argument("--wide", action="store_true", help="print every metric, not the compact headline columns")
    p.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    p.add_argument("--missing-as-empty", action="store_true",
                   help="score a missing result file as empty instead of stopping with an error")
    args, args.overrides = p.parse_known_args(argv)
    unknown = [a for a in args.overrides if not a.startswith("--eval.")]
    if unknown:
        p.error(f"unrecognized arguments: {' '.join(unknown)} (config overrides here: --eval.key=value)")
    return args


def eval_settings(args: argparse.Namespace) -> EvalConfig:
    """The config's eval section (defaults, ``--config`` file, ``--eval.*`` overrides), with
    ``--metrics`` and ``--backend`` taking precedence when given."""
    settings = load_config(args.config, args.overrides).eval
    if args.metrics is not None:
        settings.metrics = args.metrics
    if args.backend is not None:
        settings.backend = args.backend
    return settings


def scene_specs(args: argparse.Namespace) -> list:
    if args.scenes is None and (args.manifest is not None or (args.gt / MANIFEST_NAME).is_file()):
        return select_scenes(scenes_from_layout(args.gt, args.res, args.manifest, args.ranges), args.only)
    if not args.gt.is_dir():
        raise FileNotFoundError(f"GT folder not found: {args.gt}")
    if args.scenes is None:  # the benchmark's own protocol, if this is its GT folder
        missing = [f"{s}_{i}.txt" for s, _, _, n in read_scenes_csv(PROTOCOL_SCENES) for i in range(1, n + 1)
                   if not (args.gt / f"{s}_{i}.txt").is_file()]
        if missing:
            raise FileNotFoundError(
                f"{args.gt} has no {MANIFEST_NAME} and is not the MvMHAT test GT of the default protocol "
                f"({PROTOCOL_SCENES.name}: {len(missing)} of its files missing, e.g. {missing[0]}): give --scenes "
                f"(scene,start_frame,end_frame,num_views) for a folder of <scene>_<view>.txt GT files, or --manifest")
    specs = scenes_from_csv(args.gt, args.res, args.scenes or PROTOCOL_SCENES)
    return select_scenes(specs, args.only)


def main(args: argparse.Namespace) -> int:
    """Evaluate, print and write as the arguments say: 0, or 2 after printing a known error
    (missing files, a malformed row, a bad scenes file or manifest, an unwritable output)."""
    return run_main(lambda: evaluate_and_report(args))


def evaluate_and_report(args: argparse.Namespace) -> None:
    t0 = time.perf_counter()
    settings = eval_settings(args)
    if args.json is not None:
        check_writable(args.json)  # before the work, not after the table
    data, notes = load_scenes(scene_specs(args), missing_as_empty=args.missing_as_empty)
    report = evaluate(data, backend=settings.backend, notes=notes, metrics=settings.metrics,
                      stma_iou=settings.stma_iou, progress=True)
    warnings = [n[len(WARNING):] for n in report.notes if n.startswith(WARNING)]
    for note in report.notes:
        if not note.startswith(WARNING):
            print(f"note: {note}", file=sys.stderr)
    print(format_report(report, wide=args.wide, markdown=args.markdown))
    for warning in warnings:  # after the table, where the numbers they explain are
        print(f"warning: {warning}", file=sys.stderr)
    print(f"{len(report.views)} view sequences, {len(report.scenes)} scenes, metrics {','.join(report.families)}, "
          f"backend {report.backend}, {time.perf_counter() - t0:.1f} s")
    if args.json is not None:
        with atomic_open(args.json, "w", encoding="utf-8") as f:
            json.dump(report.to_json(), f, indent=1, allow_nan=False)
        print(f"wrote {args.json}")


if __name__ == "__main__":
    sys.exit(main(parse_args()))
