"""Self-supervised training of the MvMHAT crop embedding.

    python train.py --config configs/paper.yaml --data.root=/data/MvMHAT [--section.key=value ...]
    torchrun --nproc_per_node=4 train.py --config configs/paper.yaml ...      # DDP, one GPU each

Writes ``OUT_DIR/config.yaml``, ``train.log``, ``metrics.jsonl``, ``last.pt``, ``best.pt`` (best
validation value) and ``loss.png`` with ``OUT_DIR = --train.out_dir``. A thin wrapper over
:func:`engine.training_run.run_training`.
"""
from __future__ import annotations

import argparse
import sys

from config import Config, load_config
from engine.trainer import Trainer
from engine.training_run import run_training
from errors import run_main


def parse_args(argv=None) -> tuple:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                epilog="Any config field can be overridden as --section.key=value.")
    p.add_argument("--config", default=None, help="YAML config file (default: config.py defaults)")
    return p.parse_known_args(argv)


def main(cfg: Config) -> Trainer:
    return run_training(cfg)


if __name__ == "__main__":
    args, overrides = parse_args()
    sys.exit(run_main(lambda: main(load_config(args.config, overrides))))
