"""Track every person of a split's frames in all views, one ID space per scene.

    python inference.py --config configs/paper.yaml --checkpoint runs/train/best.pt --out runs/test \
        [--split test] [--boxes det|gt] [--scene NAME ...] [--render] [--reuse-features] \
        [--section.key=value ...]                      # e.g. --data.root=ROOT --track.renew_interval=10

Writes ``OUT/<scene>_<view>.txt`` (MOTChallenge rows, the names the official evaluation reads),
``OUT/features/<scene>.npz`` (embeddings, for ``--reuse-features`` parameter sweeps) and
``OUT/run.json`` (config, checkpoint hash, timings); ``--render`` adds videos under ``OUT/render``.
``--checkpoint none`` tracks with untrained features (random weights of ``model.*``, ``train.seed``);
``--checkpoint init`` with the weights training would start from (``model.weights``, e.g. ImageNet).
The network architecture and crop size come from the checkpoint's stored config.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import logging
import time
from pathlib import Path

import torch

from atomic import atomic_open
from config import Config, config_to_dict, load_config
from engine.checkpoint import load_checkpoint
from engine.distributed import resolve_device
from engine.extract import extract_scene, feature_key, load_features, save_features
from engine.render import render_scene
from engine.tracking import track_scene, tracker_params
from loader.boxes import build_box_table
from loader.layout import DatasetLayout
from loader.mot import write_mot
from models.embedding import build_model

log = logging.getLogger("inference")


def parse_args(argv=None) -> tuple:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                epilog="Any config field can be overridden as --section.key=value.")
    p.add_argument("--config", default=None, help="YAML config (data.*, track.*, train.device)")
    p.add_argument("--checkpoint", required=True,
                   help="checkpoint (.pt) from train.py, 'none' (random weights) or 'init' (model.weights)")
    p.add_argument("--out", required=True, type=Path, help="output folder")
    p.add_argument("--split", default="test", help="manifest split to track (default: test)")
    p.add_argument("--boxes", choices=["det", "gt"], default=None, help="boxes to track (default: track.boxes)")
    p.add_argument("--scene", action="append", dest="scenes", metavar="NAME", help="only this scene (repeatable)")
    p.add_argument("--render", action="store_true", help="write per-view and mosaic videos and PNGs")
    p.add_argument("--reuse-features", action="store_true", help="read OUT/features instead of embedding")
    p.add_argument("--frames-per-batch", type=int, default=8, help="frames embedded per forward pass")
    return p.parse_known_args(argv)


def load_model(cfg: Config, checkpoint: str) -> tuple:
    """``(model, model config, crop size, checkpoint sha256)``; ``none`` = random weights, ``init`` =
    the untrained starting point of ``model.weights``."""
    if checkpoint in ("none", "init"):
        torch.manual_seed(cfg.train.seed)
        m = cfg.model
        weights = "none" if checkpoint == "none" else m.weights
        model = build_model(m.backbone, m.head, m.embed_dim, weights)
        desc = {**config_to_dict(cfg)["model"], "weights": str(weights)}
        if Path(weights).is_file():  # cached features must follow the file's content, not its name
            desc["weights_sha256"] = hashlib.sha256(Path(weights).read_bytes()).hexdigest()
        return model, desc, (cfg.data.crop_height, cfg.data.crop_width), f"untrained-{weights}-seed{cfg.train.seed}"
    state = load_checkpoint(checkpoint)
    try:
        m, d = state["config"]["model"], state["config"]["data"]
        model = build_model(m["backbone"], m["head"], m["embed_dim"], "none")
        model.load_state_dict(state["model"])
    except (KeyError, RuntimeError) as e:
        raise RuntimeError(f"{checkpoint}: checkpoint does not describe a model of this codebase: {e}") from None
    sha = hashlib.sha256(Path(checkpoint).read_bytes()).hexdigest()
    return model, m, (d["crop_height"], d["crop_width"]), sha


def main(cfg: Config, args: argparse.Namespace) -> dict:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    t_start = time.perf_counter()
    device = resolve_device(cfg.train.device)
    boxes = args.boxes or cfg.track.boxes
    layout = DatasetLayout(cfg.data.root, cfg.data.manifest)
    scenes = args.scenes or layout.scenes
    unknown = [s for s in scenes if s not in layout.scenes]
    if unknown:
        raise KeyError(f"scenes {unknown} are not in {layout.manifest.source}; scenes: {layout.scenes}")
    model, model_desc, crop_size, sha = load_model(cfg, args.checkpoint)
    model.to(device)
    amp = cfg.train.amp if device.type == "cuda" else "none"
    table = build_box_table(layout, args.split, boxes, scenes=scenes)
    if len(table) == 0:
        raise ValueError(f"split {args.split!r} has no {boxes} boxes in scenes {scenes}")
    args.out.mkdir(parents=True, exist_ok=True)
    timings, written = {"embed_s": 0.0}, []
    for scene in scenes:
        key = feature_key(sha, table, scene, crop_size, model_desc)
        path = args.out / "features" / f"{scene}.npz"
        t0 = time.perf_counter()
        if args.reuse_features:
            features = load_features(path, key)
        else:
            features = extract_scene(model, table, layout, scene, crop_size, device, amp, args.frames_per_batch,
                                     num_workers=min(cfg.data.num_workers, 2))
            save_features(path, features, key)
        timings["embed_s"] += time.perf_counter() - t0
        rows, stats = track_scene(table, scene, features, cfg.track.min_confidence, **tracker_params(cfg.track))
        timings[f"scene_{scene}"] = stats
        for view in table.views[scene]:
            out = args.out / layout.result_name(scene, view)
            write_mot(out, rows[view])
            written.append(out.name)
        if args.render:
            render_scene(layout, scene, table.frames[scene].tolist(), rows, args.out / "render")
    run = {"config": config_to_dict(cfg), "checkpoint": args.checkpoint, "checkpoint_sha256": sha,
           "split": args.split, "boxes": boxes, "scenes": scenes, "results": written,
           "device": str(device), "timings": timings, "seconds": time.perf_counter() - t_start}
    with atomic_open(args.out / "run.json", "w") as f:
        json.dump(run, f, indent=1)
    log.info("wrote %d result files to %s in %.1f s", len(written), args.out, run["seconds"])
    return run


if __name__ == "__main__":
    args, overrides = parse_args()
    main(load_config(args.config, overrides), args)
