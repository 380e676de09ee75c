"""Track every person of a split's frames in all views, one ID space per scene.

    python inference.py --config configs/paper.yaml --checkpoint runs/train/best.pt --out runs/test \
        [--split test] [--boxes det|gt] [--scene NAME ...] [--render] [--reuse-features] \
        [--section.key=value ...]                      # e.g. --data.root=ROOT --track.renew_interval=10

Writes ``OUT/<scene>_<view>.txt`` (MOTChallenge rows, the names the official evaluation reads),
``OUT/features/<scene>.npz`` (embeddings, for ``--reuse-features`` parameter sweeps) and
``OUT/run.json`` (config, checkpoint hash, timings); ``--render`` adds videos under ``OUT/render``.
``--checkpoint none`` tracks with untrained features (random weights of ``model.*``, ``train.seed``);
``--checkpoint init`` with the weights training would start from (``model.weights``, e.g. ImageNet).
The network architecture and crop size come from the checkpoint's stored config. A thin wrapper
over :func:`pipeline.split.track_split`.
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from config import Config, load_config
from errors import run_main
from pipeline.split import track_split


def parse_args(argv=None) -> tuple:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                epilog="Any config field can be overridden as --section.key=value.")
    p.add_argument("--config", default=None, help="YAML config (data.*, track.*, train.device)")
    p.add_argument("--checkpoint", required=True,
                   help="checkpoint (.pt) from train.py, a released MvMHAT file ({'model': torchvision ResNet "
                        "state dict}) or a torchvision ResNet state dict, 'none' (random weights) or 'init' "
                        "(model.weights)")
    p.add_argument("--out", required=True, type=Path, help="output folder")
    p.add_argument("--split", default="test", help="manifest split to track (default: test)")
    p.add_argument("--boxes", choices=["det", "gt"], default=None, help="boxes to track (default: track.boxes)")
    p.add_argument("--scene", action="append", dest="scenes", metavar="NAME", help="only this scene (repeatable)")
    p.add_argument("--render", action="store_true", help="write per-view and mosaic videos and PNGs")
    p.add_argument("--reuse-features", action="store_true", help="read OUT/features instead of embedding")
    p.add_argument("--frames-per-batch", type=int, default=8, help="frames embedded per forward pass")
    return p.parse_known_args(argv)


def main(cfg: Config, args: argparse.Namespace) -> dict:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    return track_split(cfg, args.checkpoint, args.out, split=args.split, boxes=args.boxes, scenes=args.scenes,
                       render=args.render, reuse_features=args.reuse_features,
                       frames_per_batch=args.frames_per_batch)


if __name__ == "__main__":
    args, overrides = parse_args()
    sys.exit(run_main(lambda: main(load_config(args.config, overrides), args)))
