"""One training run from a resolved config: samples, model, loss, the :class:`Trainer`, curves.

:func:`run_training` is what ``train.py`` runs and what the tools (``tools.demo``,
``tools.reproduce``) call. It writes ``OUT_DIR/config.yaml``, ``train.log``, ``metrics.jsonl``,
``last.pt``, ``best.pt`` (best validation value) and ``loss.png`` with ``OUT_DIR =
cfg.train.out_dir``; under torchrun every process calls it (DDP).
"""
from __future__ import annotations

import json
import logging
import random
from pathlib import Path

import numpy as np
import torch

from config import Config, ConfigError, config_to_dict, save_config
from engine.distributed import DistInfo, barrier, init_distributed, shutdown
from engine.logs import environment, plot_curves, setup_logging
from engine.trainer import Trainer
from loader.layout import DatasetLayout, holdout_split
from loader.samples import build_samples
from models.embedding import build_model
from models.assignment_losses import JournalLoss
from models.losses import MvMHATLoss
from models.stan import STAN, load_stan

log = logging.getLogger("train")


def build_datasets(cfg: Config, info: DistInfo) -> tuple:
    """Training and validation samples; on DDP the main process builds the crop caches first."""
    d = cfg.data
    layout = DatasetLayout(d.root, d.manifest, d.ranges)
    train_split, val_split = d.train_split, d.val_split
    layout.check_split(train_split)  # errors name the user's split, not the hold-out's "fit" or "val"
    if val_split is None and d.val_fraction > 0:
        layout = DatasetLayout(d.root, holdout_split(layout.manifest, d.train_split, d.val_fraction), d.ranges)
        train_split, val_split = "fit", "val"
    cache_root = None
    if d.crop_cache:
        cache_root = Path(d.cache_dir) if d.cache_dir else Path(d.root) / ".crop_cache"
    common = dict(kind=d.boxes, views=d.views, frames=d.frames, frame_gap=d.frame_gap,
                  crop_size=(d.crop_height, d.crop_width), cache_root=cache_root, progress=info.is_main)
    if not info.is_main:
        barrier(info)  # wait until the main process has built the caches
    train_set = build_samples(layout, train_split, sample_stride=d.sample_stride, **common)
    val_set = None
    if val_split is not None:
        val_set = build_samples(layout, val_split, sample_stride=d.frames * d.frame_gap, **common)
    if info.is_main:
        barrier(info)
    return train_set, val_set


def build_loss(cfg: Config) -> torch.nn.Module:
    """The training loss the config names: :class:`MvMHATLoss`, or with ``model.stan`` the
    journal profile's :class:`JournalLoss` (its STAN from ``model.stan_weights`` or random)."""
    c = cfg.loss
    if c.hinge == "journal" and c.transitive != "journal":
        raise ConfigError("loss.hinge=journal needs loss.transitive=journal (the journal hinge is defined on "
                          "the journal loop of softmaxed blocks)")
    appearance = MvMHATLoss(delta=c.delta, epsilon=c.epsilon, margin=c.margin, self_weight=c.self_weight,
                            pairwise_weight=c.pairwise_weight, triplewise_weight=c.triplewise_weight,
                            transitive=c.transitive, hinge=c.hinge, relaxed_margin=c.relaxed_margin)
    m = cfg.model
    if m.stan == "none":
        if m.stan_weights is not None:
            raise ConfigError(f"model.stan_weights={m.stan_weights} is set but model.stan=none")
        return appearance
    if m.stan_weights is not None:
        stan, _ = load_stan(m.stan_weights)
        if stan.variant != m.stan:
            raise ConfigError(f"model.stan_weights={m.stan_weights} holds a {stan.variant} STAN, "
                              f"but model.stan={m.stan}")
        stan.train()
    else:
        stan = STAN(m.stan)
    return JournalLoss(appearance, stan, focal_weight=c.focal_weight, symmetry_weight=c.symmetry_weight,
                       nuclear_weight=c.nuclear_weight, sum_weight=c.sum_weight, gamma=c.focal_gamma)


def run_training(cfg: Config) -> Trainer:
    """Train with ``cfg`` into ``cfg.train.out_dir`` (see the module docstring); returns the trainer."""
    info, device = init_distributed(cfg.train.device)
    out_dir = Path(cfg.train.out_dir)
    setup_logging(out_dir, info.is_main)
    if info.is_main:
        save_config(cfg, out_dir / "config.yaml")
        log.info("config: %s", json.dumps(config_to_dict(cfg)))
        log.info("environment: %s", json.dumps(environment(device, info.world_size)))
    random.seed(cfg.train.seed)
    np.random.seed(cfg.train.seed)
    torch.manual_seed(cfg.train.seed)

    train_set, val_set = build_datasets(cfg, info)
    m = cfg.model
    model = build_model(m.backbone, m.head, m.embed_dim, m.weights)
    loss_fn = build_loss(cfg)
    log.info("model %s/%s (%d-d, %.1f M parameters), %d training samples, %d validation samples",
             m.backbone, m.head, model.dim, sum(p.numel() for p in model.parameters()) / 1e6,
             len(train_set), len(val_set) if val_set is not None else 0)
    trainer = Trainer(model, loss_fn, train_set, val_set, cfg.train, cfg.data, config_to_dict(cfg), info, device)
    summary = trainer.fit()
    if info.is_main:
        plot_curves(out_dir / "metrics.jsonl", out_dir / "loss.png", trainer.terms)
        log.info("done: %d steps in %.0f s; best %s", summary["step"], summary["seconds"], summary["best"])
    shutdown(info)
    return trainer
