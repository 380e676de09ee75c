"""Track every person of a split's frames in all views, one ID space per scene.

    python inference.py --config configs/paper.yaml --checkpoint runs/train/best.pt --out runs/test \
        [--split test] [--boxes det|gt] [--scene NAME ...] [--render] [--reuse-features] \
        [--section.key=value ...]                      # e.g. --data.root=ROOT --track.renew_interval=10
    python inference.py --videos cam1.mp4 cam2.mp4 ... --checkpoint CK --out OUT [--detections DIR] [--render]

Writes ``OUT/<scene>_<view>.txt`` (MOTChallenge rows, the names the official evaluation reads),
``OUT/features/<scene>.npz`` (embeddings, for ``--reuse-features`` parameter sweeps) and
``OUT/run.json`` (config, checkpoint hash, timings); ``--render`` adds videos under ``OUT/render``.
``--checkpoint none`` tracks with untrained features (random weights of ``model.*``, ``train.seed``);
``--checkpoint init`` with the weights training would start from (``model.weights``, e.g. ImageNet).
The network architecture and crop size come from the checkpoint's stored config.
``--export-features`` adds ``OUT/features/divotrack.npy`` (every box and its feature, as DIVOTrack's
multi-view tracker reads them).

``--videos``: a set of synchronised videos tracked as one scene (``OUT/videos_<k>.txt`` for the
k-th video), detections from ``--detections DIR`` (``DIR/<video stem>.txt``) or from the built-in
person detector (torchvision, weights from the local torch cache or ``--detector-weights``; its
``det.txt`` is kept under ``OUT/data`` and reused by a rerun); see :mod:`pipeline.videos`.
A thin wrapper over :func:`pipeline.split.track_split` and :func:`pipeline.videos.track_videos`.
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from config import Config, load_config
from errors import run_main
from pipeline.detect import DEFAULT_DETECTOR, DETECTORS
from pipeline.split import track_split
from pipeline.videos import track_videos


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
    p.add_argument("--export-features", action="store_true",
                   help="also write OUT/features/divotrack.npy (boxes and features for DIVOTrack's tracker)")
    v = p.add_argument_group("videos", "track synchronised videos as one scene (instead of --split of a dataset)")
    v.add_argument("--videos", nargs="+", type=Path, metavar="VIDEO", help="one video per view, in view order")
    v.add_argument("--detections", type=Path, default=None, metavar="DIR",
                   help="per-view MOT detections DIR/<video stem>.txt (default: run the built-in detector)")
    v.add_argument("--first-frame", type=int, default=0, help="frame number of the first frame (default 0)")
    v.add_argument("--detector", choices=sorted(DETECTORS), default=DEFAULT_DETECTOR, help="built-in detector")
    v.add_argument("--detector-weights", default=None, metavar="FILE",
                   help="detector state dict (default: torchvision's file in the local torch cache)")
    v.add_argument("--detector-score", type=float, default=0.5, help="minimum person score kept (default 0.5)")
    v.add_argument("--detector-batch", type=int, default=4, help="frames per detector forward pass")
    args, overrides = p.parse_known_args(argv)
    if args.videos and (args.scenes or args.boxes or args.split != "test"):
        p.error("--scene, --boxes and --split do not apply to --videos (one scene, tracked on its detections)")
    if not args.videos and args.detections is not None:
        p.error("--detections needs --videos (a dataset's detections are its gt_det/det.txt)")
    return args, overrides


def main(cfg: Config, args: argparse.Namespace) -> dict:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if args.videos:
        return track_videos(cfg, args.videos, args.checkpoint, args.out, detections=args.detections,
                            render=args.render, first_frame=args.first_frame, detector=args.detector,
                            detector_weights=args.detector_weights, min_score=args.detector_score,
                            detector_batch=args.detector_batch, reuse_features=args.reuse_features,
                            frames_per_batch=args.frames_per_batch, export_features=args.export_features)
    return track_split(cfg, args.checkpoint, args.out, split=args.split, boxes=args.boxes, scenes=args.scenes,
                       render=args.render, reuse_features=args.reuse_features,
                       frames_per_batch=args.frames_per_batch, export_features=args.export_features)


if __name__ == "__main__":
    args, overrides = parse_args()
    sys.exit(run_main(lambda: main(load_config(args.config, overrides), args)))
