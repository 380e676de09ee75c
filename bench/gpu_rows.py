"""The reproduction's rows in the GPU check (bench/gpu_check.sh): data made ahead; tiny on a CPU.

    python -m bench.gpu_rows [--prepare] [--tiny] REPRODUCE_ARGS ...

``REPRODUCE_ARGS`` are :mod:`tools.reproduce`'s (``--profile``, ``--data``, ``--out``, ``--group``,
``--row``, ...). Without ``--prepare`` this runs ``tools.reproduce`` with them, as ``python -m
tools.reproduce`` does. ``--prepare`` makes the synthetic dataset and the training crop caches
that those rows read, and nothing else: CPU work, which the GPU check runs in the background
while it times the GPU, so that the rows' time goes to training and tracking.

``--tiny`` (the check's CPU dry run): the reproduction's dataset and every profile's training
shrunk to seconds (2 scenes x 40 frames at 160x96, one training step of a ResNet-10), as
tests/test_tools.py shrinks them; the rows, tables and command line are otherwise those of the real run.
"""
from __future__ import annotations

import logging
import os
import sys

import torch

from datasets.synthetic.generate import ensure_dataset
from engine.distributed import DistInfo
from engine.training_run import build_datasets
from tools import reproduce
from tools.training_rows import training_rows

TINY_DATASET = dict(scenes=2, views=4, frames=40, seed=3, camera_motion=0.3, train_fraction=0.5, people=(3, 4),
                    size=(160, 96))
TINY_TRAIN = dict(max_steps=1, batch_size=1, val_interval=1, ckpt_interval=1, log_interval=1)


def shrink() -> None:
    """``--tiny``: the module settings tools.reproduce reads, made small."""
    reproduce.DATASET = dict(TINY_DATASET)
    for spec in reproduce.PROFILES.values():
        spec["train"] = {**spec["train"], **TINY_TRAIN}
        spec["model"] = {**spec.get("model", {}), "backbone": "resnet10"}
        spec["note"] = f"DRY RUN (bench.gpu_rows --tiny: ResNet-10, {TINY_TRAIN['max_steps']} step); {spec['note']}"


def row_configs(profile: str, args) -> list:
    """The configs of the rows that ``args`` (tools.reproduce's) ask for, as its ``main`` makes
    them: the profile's base config for the method and tracker tables, each training row's own."""
    cfg, _ = reproduce.base_config(profile, args.data, args.out / profile)
    groups = args.group or list(reproduce.GROUPS)
    configs = [] if groups == ["training"] else [cfg]
    if "training" in groups:
        setup, _ = reproduce.dataset_setup(profile, args.data, cfg.model.backbone, cfg.model.weights)
        configs += [c for _, c, _ in training_rows(profile, cfg, setup, reproduce.PROFILES[profile]["train"], args.row)]
    return configs


def prepare(args) -> None:
    """The dataset and the crop caches of the rows that ``args`` (tools.reproduce's) ask for."""
    profile = reproduce.pick_profile(args.profile, torch.cuda.is_available())
    ensure_dataset(args.data, workers=min(8, os.cpu_count() or 1), **reproduce.DATASET)
    done = set()
    for cfg in row_configs(profile, args):
        if repr(cfg.data) not in done:  # rows that read the same crops share their caches
            done.add(repr(cfg.data))
            build_datasets(cfg, DistInfo())
    print(f"prepared {args.data} and the crop caches of {len(done)} data setting(s), {profile} profile")


def main(argv) -> int:
    flags = {"--prepare", "--tiny"}
    args = reproduce.parse_args([a for a in argv if a not in flags])
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if "--tiny" in argv:
        shrink()
    if "--prepare" in argv:
        prepare(args)
        return 0
    return reproduce.main(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
