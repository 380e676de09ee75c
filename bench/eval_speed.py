"""Time the evaluation of the 49 released MvMHAT view sequences, per set of metric families.

    python -m bench.eval_speed [--data ../shared/data/mvmhat_eval] [--repeat 3] [--backend official] \
        [--metrics official,cv --metrics official,cv,hota,stma ...]

Reads the files and computes the asked-for families as ``eval.py`` does; by default four lines:
``official,cv`` (the per-view devkit metrics, the official cross-view metrics and DIVOTrack's
CVIDF1/CVMA: what the official MATLAB code and DIVOTrack compute), ``hota`` and ``stma`` alone, and
everything (eval.py's default). Each line: the best wall time over the repeats, its split into
reading and scoring, and the target. Targets: official,cv under 15 s (the official MATLAB code
takes about 280 s under Octave on one core of this kind of machine), everything under 60 s.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from metrics.evaluate import BACKENDS, evaluate
from metrics.inputs import load_scenes, scenes_from_csv

OFFICIAL_SECONDS = 280.0
TARGETS = {"official,cv": 15.0, "official,cv,hota,stma": 60.0}  # seconds
DEFAULT_SETS = ["official,cv", "hota", "stma", "official,cv,hota,stma"]
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "mvmhat_eval"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with gt/, res/ and scenes.csv")
    p.add_argument("--repeat", type=int, default=3, help="timed runs; the best is reported")
    p.add_argument("--backend", choices=sorted(BACKENDS), default="official")
    p.add_argument("--metrics", action="append", help="a comma-separated set of metric families to time "
                                                       f"(repeatable; default: {' '.join(DEFAULT_SETS)})")
    return p.parse_args()


def run_once(data: Path, backend: str, metrics: str) -> tuple[float, float, int]:
    t0 = time.perf_counter()
    scenes, notes = load_scenes(scenes_from_csv(data / "gt", data / "res", data / "scenes.csv"))
    t1 = time.perf_counter()
    report = evaluate(scenes, backend=backend, notes=notes, metrics=metrics)
    report.overall_metrics()
    report.to_json()
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, len(report.views)


def main(args: argparse.Namespace) -> int:
    if not (args.data / "scenes.csv").is_file():
        print(f"error: no scenes.csv in {args.data}", file=sys.stderr)
        return 2
    for metrics in args.metrics or DEFAULT_SETS:
        runs = [run_once(args.data, args.backend, metrics) for _ in range(max(1, args.repeat))]
        read, score, n_views = min(runs, key=lambda r: r[0] + r[1])
        total = read + score
        line = (f"{metrics}: {n_views} view sequences, backend {args.backend}: {total:.2f} s "
                f"(read {read:.2f} s + score {score:.2f} s; best of {len(runs)})")
        if metrics == "official,cv":
            line += f"; official MATLAB code ~{OFFICIAL_SECONDS:.0f} s -> {OFFICIAL_SECONDS / total:.0f}x faster"
        if metrics in TARGETS:
            line += f"; target < {TARGETS[metrics]:.0f} s: {'met' if total < TARGETS[metrics] else 'NOT met'}"
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(parse_args()))
