"""The reproduction's training table: what the released training's choices are worth.

Rows, all trained on the same data with the same seed and number of samples, and tracked with the
paper's tracker:

    release                       the released conference training (configs/release.yaml)
    paper                         the release plus the self-similarity term (configs/paper.yaml)
    release, ImageNet pixels      one switch of the release set to this project's default, for
    release, batched forward      each switch (pixels, BatchNorm batch, checkpoint rule); the
    release, validation loss      difference to the release row is what that switch is worth
    this project's training       what this project trains with (CPU: configs/demo.yaml)

On a GPU (``gpu`` profile) the release and paper rows are ``configs/release.yaml`` and
``configs/paper.yaml`` themselves, with the profile's dataset and length. On a CPU they are the
profile's small model (``configs/demo.yaml``'s ResNet-18 from random init, 64x32 crops, lr 1e-3)
with the release's switches (``RELEASE_SWITCHES``): the release's ResNet-50 at 224x224 does not
train on a CPU in reasonable time. Position ranges change nothing on the synthetic data (its
frames are numbered from 0), so they get no row of their own.
"""
from __future__ import annotations

import copy
from dataclasses import replace
from typing import Optional

from config import Config, apply_dict, load_config

# the release's training switches, applied to a profile's base config (CPU profile)
RELEASE_SWITCHES = {
    "loss": {"self_weight": 0.0, "pairwise_weight": 1.0, "triplewise_weight": 1.0, "transitive": "conference"},
    "data": {"pixels": "bgr255", "ranges": "positions", "val_fraction": 0.0, "box_jitter": 0.0,
             "colour_jitter": 0.0, "mirror": False},
    "train": {"forward": "per_image", "select": "train_loss", "schedule": "constant", "warmup_steps": 0},
}
# (row name, changes to the release row); None: this project's training (PROJECT_CONFIGS)
ROWS = (
    ("release", {}),
    ("paper: release + self-similarity", {"loss": {"self_weight": 1.0}}),
    ("release with ImageNet pixels (RGB, mean/std)", {"data": {"pixels": "imagenet"}}),
    ("release with a batched forward (BatchNorm over the step)", {"train": {"forward": "batched"}}),
    ("release choosing best.pt by validation loss (10% held out)",
     {"train": {"select": "val_loss"}, "data": {"val_fraction": 0.1}}),
    ("this project's training", None),
)
# profile -> the config file of "this project's training" (None: config.py's defaults)
PROJECT_CONFIGS = {"cpu": "configs/demo.yaml", "gpu": None}


def with_length(cfg: Config, train: dict) -> Config:
    """``cfg`` with a profile's training changes (``train``: device, max_steps, batch_size, ...),
    keeping ``cfg``'s own batch size and training on as many samples: max_steps x batch_size."""
    samples = train["max_steps"] * train["batch_size"]
    changes = {k: v for k, v in train.items() if k not in ("max_steps", "batch_size")}
    changes["max_steps"] = max(1, samples // cfg.train.batch_size)
    return apply_dict(cfg, {"train": changes}, source="profile length")


def options(changes: dict) -> str:
    """``{section: {key: value}}`` as command-line overrides."""
    return " ".join(f"--{s}.{k}={v}" for s, values in changes.items() for k, v in values.items())


def release_config(profile: str, base: Config, setup: dict, train: dict) -> tuple:
    """``(config, change)`` of the release row: ``base`` with the release's switches (CPU), or
    configs/release.yaml with the profile's dataset (``setup``: {section: {key: value}}) and
    length (GPU)."""
    if profile == "gpu":
        cfg = apply_dict(load_config("configs/release.yaml"), setup, source="profile dataset")
        return with_length(cfg, train), "`configs/release.yaml`"
    cfg = apply_dict(copy.deepcopy(base), RELEASE_SWITCHES, source="release switches")
    return cfg, options(RELEASE_SWITCHES)


def project_config(profile: str, base: Config, setup: dict, train: dict) -> tuple:
    """``(config, change)`` of this project's training: its data, loss and training choices with the
    profile's network (``base.model``: every row trains the same network) and tracked with the
    profile's tracker (``base.track``, the paper's)."""
    path: Optional[str] = PROJECT_CONFIGS[profile]
    cfg = load_config(path) if path else Config()
    cfg = with_length(apply_dict(cfg, setup, source="profile dataset"), train)
    cfg = replace(cfg, model=copy.deepcopy(base.model), track=copy.deepcopy(base.track))
    return cfg, f"`{path}`'s data, loss and training sections" if path else "config.py defaults"


def training_rows(profile: str, base: Config, setup: dict, train: dict, only=None) -> list:
    """``[(row name, config, change)]`` of the training table, in ``ROWS`` order (``only``: these
    row names; None: all)."""
    release, release_change = release_config(profile, base, setup, train)
    rows = []
    for name, changes in ROWS:
        if only and name not in only:
            continue
        if changes is None:
            cfg, change = project_config(profile, base, setup, train)
        else:
            cfg = apply_dict(copy.deepcopy(release), changes, source=name)
            change = f"release {options(changes)}" if changes else release_change
        rows.append((name, cfg, change))
    return rows
