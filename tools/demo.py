"""``make demo``: synthetic data -> self-supervised training -> tracking -> evaluation, on a CPU.

    python -m tools.demo [--config configs/demo.yaml] [--scenes 4 --views 4 --frames 400 --seed 0]
                         [--section.key=value ...]

Generates the synthetic dataset (again only when its settings change), trains with
``configs/demo.yaml``, tracks the held-out test frames with the trained model and with the same
architecture's random weights, evaluates both with the official metrics and writes into
``train.out_dir``: the checkpoints,
``metrics.jsonl``, ``loss.png``, ``tables.md``/``tables.json``, ``per_scene.png`` (IDF1 and
MVIDF1 per scene) and ``mosaic.png`` (a tracked frame of every view). The trained model
(``last.pt``: the end of the schedule; the demo never picks a checkpoint with identities) must
beat the untrained one by at least 10 points of MVIDF1 and 5 points of IDF1; the exit status
says whether it did.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

from atomic import atomic_open, atomic_path
from config import load_config
from datasets.synthetic.generate import ensure_dataset
from engine.training_run import run_training
from loader.layout import MANIFEST_NAME, load_manifest
from metrics.table import format_rows
from tools.runs import f1_or_zero, track, track_and_score

COLUMNS = ("MOTA", "IDF1", "IDs", "MVIDP", "MVIDR", "MVIDF1", "MVMA", "CVIDF1", "CVMA")
BAR = {"MVIDF1": 0.10, "IDF1": 0.05}  # trained minus untrained, as fractions


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default="configs/demo.yaml")
    p.add_argument("--scenes", type=int, default=4)
    p.add_argument("--views", type=int, default=4)
    p.add_argument("--frames", type=int, default=400)
    p.add_argument("--train-fraction", type=float, default=0.5,
                   help="share of each scene's frames for training; the rest is the held-out test range")
    p.add_argument("--seed", type=int, default=0, help="synthetic dataset seed")
    p.add_argument("--camera-motion", type=float, default=0.3,
                   help="hand-held cameras as in MvMHAT (0: static; then motion alone tracks almost perfectly)")
    p.add_argument("--skip-train", action="store_true", help="reuse OUT/last.pt")
    return p.parse_known_args(argv)


def bar_chart(reports: dict, out_png: Path, label=str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    scenes = list(next(iter(reports.values())).scenes)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    width = 0.8 / len(reports)
    for ax, metric in zip(axes, ("IDF1", "MVIDF1")):
        for i, (name, report) in enumerate(reports.items()):
            values = [100 * f1_or_zero(report.scene_metrics(s)[metric]) for s in scenes]  # undefined: 0
            ax.bar(np.arange(len(scenes)) + i * width, values, width, label=label(name))
        ax.set(title=metric, xticks=np.arange(len(scenes)) + width * (len(reports) - 1) / 2,
               xticklabels=[f"scene {s}" for s in scenes], ylim=(0, 100))
    axes[0].set_ylabel("%")
    handles, names = axes[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="lower center", ncol=len(reports), frameon=False)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    with atomic_path(out_png) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)


def main(args: argparse.Namespace, overrides) -> int:
    t0 = time.perf_counter()
    cfg = load_config(args.config, overrides)
    root, out = Path(cfg.data.root), Path(cfg.train.out_dir)
    ensure_dataset(root, scenes=args.scenes, views=args.views, frames=args.frames, seed=args.seed,
                   camera_motion=args.camera_motion, train_fraction=args.train_fraction, workers=2)
    t_data = time.perf_counter()
    print(f"demo: data ready in {t_data - t0:.0f} s; training {cfg.train.max_steps} steps "
          "(the log prints s/step and the ETA)", flush=True)
    if not args.skip_train:
        run_training(cfg)
    t_train = time.perf_counter()
    print(f"demo: trained in {t_train - t_data:.0f} s; tracking and scoring the test frames", flush=True)
    checkpoint = out / "last.pt"  # the end of the schedule: no identity-based checkpoint choice
    reports = {"trained": track_and_score(cfg, checkpoint, out / "test_trained"),
               "untrained": track_and_score(cfg, "none", out / "test_untrained")}
    # for reference (not part of the bar): the trained features under the other association modes
    for mode in (m for m in ("release", "tracklet") if m != cfg.track.association):
        reports[f"trained, {mode} association"] = track_and_score(
            cfg, checkpoint, out / f"test_trained_{mode}", out / "test_trained", association=mode)
    # a rendered scene of the trained run, from the cached features
    track(cfg, checkpoint, out / "render", out / "test_trained", scenes=[first_scene(root)], render=True)
    mosaics = sorted((out / "render" / "render").glob("*_mosaic_*.png"))
    if mosaics:
        shutil.copyfile(mosaics[len(mosaics) // 2], out / "mosaic.png")
    def label(name: str) -> str:
        return f"{name}, {cfg.track.association} association" if name in ("trained", "untrained") else name

    bar_chart(reports, out / "per_scene.png", label)
    rows = {label(name): r.overall_metrics() for name, r in reports.items()}
    trained, untrained = (reports[k].overall_metrics() for k in ("trained", "untrained"))
    gains = {m: f1_or_zero(trained[m]) - f1_or_zero(untrained[m]) for m in BAR}
    passed = all(gains[m] >= BAR[m] for m in BAR)
    table = format_rows(rows, COLUMNS, label="Features")
    per_scene = "\n\n".join(
        f"{label(name)}:\n" + format_rows({**{s: r.scene_metrics(s) for s in r.scenes}, "Overall": r.overall_metrics()},
                                   COLUMNS) for name, r in reports.items())
    t_end = time.perf_counter()
    timing = {"data_s": t_data - t0, "train_s": t_train - t_data, "track_score_draw_s": t_end - t_train,
              "total_s": t_end - t0}
    if not args.skip_train and cfg.train.max_steps:
        timing["train_s_per_step"] = timing["train_s"] / cfg.train.max_steps
    md = (f"# Demo: trained vs untrained features ({cfg.model.backbone}, {cfg.data.crop_height}x"
          f"{cfg.data.crop_width} crops, synthetic seed {args.seed})\n\n```\n{table}\n```\n\nPer scene:\n\n```\n"
          f"{per_scene}\n```\n\nGain of the trained model (an F1 undefined because precision and recall "
          f"are 0 counts as 0): "
          + ", ".join(f"{m} {100 * g:+.1f} points (bar {100 * BAR[m]:+.0f})" for m, g in gains.items())
          + f" -> {'PASS' if passed else 'FAIL'}\n\nTimes (s): "
          + ", ".join(f"{k} {v:.{2 if k.endswith('per_step') else 0}f}" for k, v in timing.items()) + "\n")
    with atomic_open(out / "tables.md", "w") as f:
        f.write(md)
    with atomic_open(out / "tables.json", "w") as f:
        json.dump({"overall": {k: r.to_json()["overall"] for k, r in reports.items()},
                   "per_scene": {k: r.to_json()["per_scene"] for k, r in reports.items()},
                   "gains": gains, "bar": BAR, "passed": passed, "timing": timing,
                   "dataset": {"root": str(root), "scenes": args.scenes, "views": args.views,
                               "frames": args.frames, "train_fraction": args.train_fraction, "seed": args.seed,
                               "camera_motion": args.camera_motion}},
                  f, indent=1)
    print(md)
    return 0 if passed else 1


def first_scene(root: Path) -> str:
    """The scene whose tracked mosaic is shown: the first of the manifest."""
    return next(iter(load_manifest(root / MANIFEST_NAME).scenes))


if __name__ == "__main__":
    a, rest = parse_args()
    sys.exit(main(a, rest))
