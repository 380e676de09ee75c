"""``make reproduce``: the paper's kind of tables on a larger synthetic dataset, every row a real run.

    python -m tools.reproduce [--out runs/reproduce] [--profile auto|cpu|gpu] [--force]
                              [--group method|tracker|training ...] [--row NAME ...]

1. Method: untrained features, then the self-supervised losses alone and combined, each trained
   from the same starting weights with the same schedule and tracked with the paper's tracker
   (and once more with the tracklet association, from the same cached features).
2. Tracker: the model trained with all three losses, tracked per view only, with cross-view
   association but no re-matching, with re-matching every 10 and every 30 frames, and with this
   codebase's tracklet association.
3. Training: the released training, the paper's three-loss reading, each switch of the release
   alone (pixels, forward pass, checkpoint rule) and this project's training
   (:mod:`tools.training_rows`), tracked as the method rows.
4. Journal: MvMHAT++'s losses alone, with STAN trained together with the backbone and its
   ``stan`` association, and the same features under the release and tracklet associations
   (:mod:`tools.journal_rows`; CPU: the small model with an fc STAN, GPU: configs/journal.yaml).

Profiles: ``cpu`` trains a small model (``configs/demo.yaml``'s 64x32 crops and head with a
ResNet-18 from random init and a constant learning rate, the setting the tables were recorded
with) and says that the paper-setting rows need a GPU; ``gpu`` uses the paper setting
(``configs/paper.yaml``: ResNet-50, 224x224, ImageNet weights when they are in the local torch
cache, else random init, which the table says) with a batch of several samples. ``auto`` picks
``gpu`` when CUDA is available.

Each row lives in ``OUT/<profile>/<group>/<row>/`` (``config.yaml``, ``train/``, ``test/``,
``row.json``); a row whose ``row.json`` was made with the same configuration and dataset is
reused unless ``--force``. The tables go to ``OUT/<profile>/tables.md`` and ``tables.json``
with the dataset, seed, config and wall time of every row.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

from atomic import atomic_open
from config import Config, apply_dict, config_to_dict, load_config, save_config
from datasets.synthetic.generate import ensure_dataset
from engine.training_run import run_training
from metrics.table import markdown_rows
from models.embedding import imagenet_weights_path
from tools.runs import track_and_score
from tools.journal_rows import ROWS as JOURNAL_ROWS, journal_rows
from tools.training_rows import ROWS as TRAINING_ROWS, training_rows

COLUMNS = ("MOTA", "IDF1", "MVIDP", "MVIDR", "MVIDF1", "MVMA", "CVIDF1", "CVMA")
# the larger synthetic dataset of the tables (the demo's is 4 scenes x 400 frames, seed 0)
DATASET = dict(scenes=6, views=4, frames=400, seed=1, camera_motion=0.3, train_fraction=0.5)

OFF = 0.0
# (row name, loss weights); None: no training (the starting weights)
METHOD_ROWS = (
    ("untrained features", None),
    ("self-similarity only", dict(self_weight=1.0, pairwise_weight=OFF, triplewise_weight=OFF)),
    ("symmetric only", dict(self_weight=OFF, pairwise_weight=1.0, triplewise_weight=OFF)),
    ("transitive only", dict(self_weight=OFF, pairwise_weight=OFF, triplewise_weight=1.0)),
    ("symmetric + transitive (released code)", dict(self_weight=OFF, pairwise_weight=1.0, triplewise_weight=1.0)),
    ("all three (paper)", dict(self_weight=1.0, pairwise_weight=1.0, triplewise_weight=1.0)),
)
FULL_MODEL = "all three (paper)"
# (row name, track.* changes), all with the FULL_MODEL features
TRACKER_ROWS = (
    ("per-view tracking only", dict(association="none")),
    ("cross-view association, no re-matching", dict(association="release", renew_interval=0)),
    ("re-matching every 10 frames", dict(association="release", renew_interval=10)),
    ("re-matching every 30 frames (paper)", dict(association="release", renew_interval=30)),
    ("tracklet association (this codebase)", dict(association="tracklet")),
)
GROUPS = ("method", "tracker", "training", "journal")
PROFILES = {
    # the demo's crops and head with the model and schedule the tables were recorded with
    "cpu": dict(config="configs/demo.yaml", note="a small model (ResNet-18, 64x32 crops, random init, 400 "
                "steps of 4 samples at a constant lr 1e-3); the paper setting (ResNet-50, 224x224) needs a GPU",
                model=dict(backbone="resnet18"),
                train=dict(device="cpu", max_steps=400, batch_size=4, lr=1e-3, warmup_steps=0, schedule="constant")),
    # sized so that the training table's two headline rows (release, paper) train, track and score
    # within the GPU check's budget on one GPU (bench/gpu_check.sh, docs/PERF.md)
    "gpu": dict(config="configs/paper.yaml", note="the paper setting (ResNet-50, 224x224 crops), "
                "150 steps of 8 samples", train=dict(device="cuda", max_steps=150, batch_size=8, val_interval=50,
                                                      ckpt_interval=400, log_interval=25)),
}


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("runs/reproduce"))
    p.add_argument("--data", type=Path, default=Path("data/reproduce"), help="synthetic dataset folder (made once)")
    p.add_argument("--profile", choices=["auto", "cpu", "gpu"], default="auto")
    p.add_argument("--force", action="store_true", help="re-run rows that already have results")
    p.add_argument("--group", choices=list(GROUPS), action="append",
                   help="only this table (repeatable; default: all)")
    p.add_argument("--row", action="append", metavar="NAME",
                   choices=[n for n, _ in METHOD_ROWS + TRAINING_ROWS + JOURNAL_ROWS],
                   help="only this row of the method or training table (repeatable; default: all); a short "
                        "session runs the headline rows with it (bench/gpu_check.sh)")
    return p.parse_args(argv)


def pick_profile(name: str, cuda: bool) -> str:
    """``auto`` is ``gpu`` where CUDA is available; ``gpu`` without CUDA is an error."""
    if name == "auto":
        return "gpu" if cuda else "cpu"
    if name == "gpu" and not cuda:
        raise SystemExit("--profile gpu needs CUDA; on this machine use --profile cpu")
    return name


def dataset_setup(profile: str, data_root: Path, backbone: str, weights: str) -> tuple:
    """``({section: {key: value}}, note)``: the synthetic dataset and the starting weights a
    profile's rows train from (random init on a GPU without ImageNet weights, which the note says)."""
    note = ""
    if profile == "gpu" and weights == "imagenet" and not imagenet_weights_path(backbone).is_file():
        weights = "none"
        note = f"; random init: no ImageNet weights at {imagenet_weights_path(backbone)}"
    workers = 2 if profile == "cpu" else 8
    return {"data": {"root": str(data_root), "manifest": None, "num_workers": workers},
            "model": {"weights": weights}}, note


def base_config(profile: str, data_root: Path, out: Path) -> tuple:
    """``(config, note)`` of a profile: its YAML file, the synthetic dataset, the profile's
    training changes, the paper's training crops (no augmentation, whatever the demo uses) and
    the paper's tracker (Deep SORT's defaults, released association rules)."""
    spec = PROFILES[profile]
    cfg = load_config(spec["config"])
    setup, weights_note = dataset_setup(profile, data_root, cfg.model.backbone, cfg.model.weights)
    paper = Config()
    crops = {k: getattr(paper.data, k) for k in ("box_jitter", "colour_jitter", "mirror")}
    cfg = apply_dict(cfg, {**setup, "data": {**setup["data"], **crops},
                           "model": {**spec.get("model", {}), **setup["model"]},
                           "train": {**spec["train"], "out_dir": str(out)}}, source=f"profile {profile}")
    return replace(cfg, track=paper.track), spec["note"] + weights_note


def fingerprint(cfg: Config, checkpoint: str) -> str:
    """Identifies a row's inputs: its config, the dataset and the checkpoint's content."""
    if Path(checkpoint).is_file():
        checkpoint = hashlib.sha256(Path(checkpoint).read_bytes()).hexdigest()
    text = json.dumps([config_to_dict(replace(cfg, train=replace(cfg.train, out_dir=""))), DATASET, checkpoint],
                      sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def options(section: str, changes: dict) -> str:
    """``changes`` as command-line overrides (``-`` when there are none)."""
    return " ".join(f"--{section}.{k}={v}" for k, v in changes.items()) or "-"


def slug(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name.lower()).strip("_").replace("__", "_")


def run_row(cfg: Config, row_dir: Path, loss_weights, force: bool, features_from: Path = None,
            checkpoint: str = None, track_changes=None, train: bool = False) -> dict:
    """Train (when ``loss_weights`` is given, or ``train``), track and score one row; reuse a
    finished row. A trained row tracks its ``best.pt`` (chosen by its ``train.select``)."""
    if loss_weights is not None:
        cfg = replace(cfg, loss=replace(cfg.loss, **loss_weights))
    if loss_weights is not None or train:
        cfg = replace(cfg, train=replace(cfg.train, out_dir=str(row_dir / "train")))
        checkpoint = str(row_dir / "train" / "best.pt")
    if track_changes:
        cfg = replace(cfg, track=replace(cfg.track, **track_changes))
    checkpoint = checkpoint or "init"
    trains = loss_weights is not None or train
    key = fingerprint(cfg, "trained" if trains else checkpoint)
    record_path = row_dir / "row.json"
    if record_path.is_file() and not force:
        record = json.loads(record_path.read_text())
        if record.get("fingerprint") == key:
            print(f"reusing {record_path} (same config and dataset; --force re-runs it)")
            return record
    t0 = time.perf_counter()
    save_config(cfg, row_dir / "config.yaml")
    if trains:
        run_training(cfg)
    t1 = time.perf_counter()
    report = track_and_score(cfg, checkpoint, row_dir / "test", features_from)
    t2 = time.perf_counter()
    record = {"fingerprint": key, "config": str(row_dir / "config.yaml"), "checkpoint": checkpoint,
              "train_s": t1 - t0, "track_s": t2 - t1, "wall_s": t2 - t0,
              "metrics": report.to_json()["overall"]}
    with atomic_open(record_path, "w") as f:
        json.dump(record, f, indent=1)
    return record


def machine(profile: str) -> str:
    if profile == "gpu":
        return torch.cuda.get_device_name(0)
    return f"CPU, {torch.get_num_threads()} threads"


def write_tables(out: Path, profile: str, note: str, cfg: Config, tables: dict, started: float) -> str:
    d = DATASET
    lines = [f"# Reproduction tables ({profile} profile)", "",
             f"Dataset: synthetic, {d['scenes']} scenes x {d['views']} views x {d['frames']} frames, seed {d['seed']}, "
             f"hand-held camera motion level {d['camera_motion']}, last {1 - d['train_fraction']:.0%} of each scene "
             f"held out for testing (`{cfg.data.root}`).",
             f"Model: {note}. Base config: `{PROFILES[profile]['config']}` with the profile's changes "
             f"(data, training length, the paper's released association); each row's change to it is listed "
             f"and its full config is its `config.yaml`. Metrics: official MvMHAT evaluation (percent) on the "
             f"test frames.",
             f"Machine: {machine(profile)}.", ""]
    titles = {"method": "Method (tracker: the paper's, released association, re-matching every 30 frames)",
              "method_tracklet": "Method, tracked with this codebase's tracklet association",
              "tracker": f"Tracker (features: {FULL_MODEL})",
              "training": "Training: the release, the paper's reading, each release switch alone, this project's "
                          "(tracker: the paper's)",
              "training_tracklet": "Training, tracked with this codebase's tracklet association",
              "journal": "Journal method (MvMHAT++): its losses, STAN trained with the backbone, its association"}
    for group, rows in tables.items():
        extra = {name: {"change": r["change"], "train (s)": f"{r['train_s']:.0f}", "wall (s)": f"{r['wall_s']:.0f}",
                        "config": f"`{r['config']}`"} for name, r in rows.items()}
        lines += [f"## {titles[group]}", "",
                  markdown_rows({n: r["metrics"] for n, r in rows.items()}, COLUMNS, "Setting", extra), ""]
    lines.append(f"Total wall time of this invocation: {time.perf_counter() - started:.0f} s "
                 f"(reused rows count their original time in their own row).")
    md = "\n".join(lines) + "\n"
    with atomic_open(out / "tables.md", "w") as f:
        f.write(md)
    with atomic_open(out / "tables.json", "w") as f:
        json.dump({"profile": profile, "note": note, "machine": machine(profile), "dataset": DATASET,
                   "data_root": str(cfg.data.root), "tables": tables}, f, indent=1)
    return md


def main(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    profile = pick_profile(args.profile, torch.cuda.is_available())
    if profile == "cpu":
        print("CPU profile: the paper-setting rows (ResNet-50, 224x224 crops) need a GPU and are skipped; "
              "the tables use the demo's small model. Run on a CUDA machine for them.")
    ensure_dataset(args.data, workers=min(8, os.cpu_count() or 1), **DATASET)
    out = args.out / profile
    cfg, note = base_config(profile, args.data, out)
    groups = args.group or list(GROUPS)
    tables: dict = {}
    md = ""

    def add(group: str, name: str, record: dict, change: str) -> None:
        """Record a row and rewrite the tables, so that a stopped run keeps what it finished."""
        nonlocal md
        tables.setdefault(group, {})[name] = dict(record, change=change)
        md = write_tables(out, profile, note, cfg, {g: rows for g, rows in tables.items()
                                                    if g != "method" or "method" in groups}, started)

    # the tracker table needs the full model's row; --force re-runs only the groups asked for
    method_rows = [] if groups == ["training"] else \
        [r for r in METHOD_ROWS if not args.row or r[0] in args.row] if "method" in groups else \
        [r for r in METHOD_ROWS if r[0] == FULL_MODEL]
    for name, weights in method_rows:
        change = ("no training (`--checkpoint init`)" if weights is None else
                  options("loss", {k: v for k, v in weights.items() if v != 1.0}))
        add("method", name, run_row(cfg, out / "method" / slug(name), weights, args.force and "method" in groups),
            change)
    if "method" in groups:  # the same features once more, with this codebase's association
        tracklet = dict(association="tracklet")
        for name, row in list(tables["method"].items()):
            add("method_tracklet", name, run_row(cfg, out / "method_tracklet" / slug(name), None, args.force,
                                                 out / "method" / slug(name) / "test", row["checkpoint"], tracklet),
                f"{row['change']} {options('track', tracklet)}".replace("- ", ""))
    if "tracker" in groups:
        full = out / "method" / slug(FULL_MODEL)
        for name, changes in TRACKER_ROWS:
            row = run_row(cfg, out / "tracker" / slug(name), None, args.force, full / "test",
                          tables["method"][FULL_MODEL]["checkpoint"], changes)
            add("tracker", name, row, options("track", changes))
    if "training" in groups:
        setup, _ = dataset_setup(profile, args.data, cfg.model.backbone, cfg.model.weights)
        for name, row_cfg, change in training_rows(profile, cfg, setup, PROFILES[profile]["train"], args.row):
            row_dir = out / "training" / slug(name)
            add("training", name, run_row(row_cfg, row_dir, None, args.force, train=True), change)
            tracklet = dict(association="tracklet")
            add("training_tracklet", name,
                run_row(row_cfg, out / "training_tracklet" / slug(name), None, args.force, row_dir / "test",
                        tables["training"][name]["checkpoint"], tracklet),
                f"{change} {options('track', tracklet)}")
    if "journal" in groups:
        setup, _ = dataset_setup(profile, args.data, cfg.model.backbone, cfg.model.weights)
        row_dir = lambda name: out / "journal" / slug(name)  # noqa: E731
        for name, row_cfg, change, kind in journal_rows(profile, cfg, setup, PROFILES[profile]["train"], row_dir,
                                                        args.row):
            if kind == "train":
                record = run_row(row_cfg, row_dir(name), None, args.force, train=True)
            else:  # the joint row's features, another association
                joint = tables.get("journal", {}).get(JOURNAL_ROWS[1][0])
                if joint is None:
                    raise SystemExit(f"the journal row {name!r} tracks the features of {JOURNAL_ROWS[1][0]!r}: "
                                     f"run that row too")
                record = run_row(row_cfg, row_dir(name), None, args.force, row_dir(JOURNAL_ROWS[1][0]) / "test",
                                 joint["checkpoint"])
            add("journal", name, record, change)
    print(md)
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")  # until training sets its own
    sys.exit(main(parse_args()))
