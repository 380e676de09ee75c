"""The reproduction's journal table: MvMHAT++ (journal losses, STAN) beside the conference method.

Rows, all trained on the same data with the same seed and number of samples:

    journal appearance losses (no STAN)      the journal hinge and loop, release association
    journal: appearance + STAN               backbone and STAN trained together, tracked with the
                                             ``stan`` association using the STAN of the row's
                                             ``best.pt``
    journal features, release association    the previous row's features and tracker rules
    journal features, tracklet association   without STAN: what the association alone is worth

On a GPU (``gpu`` profile) the training rows are ``configs/journal.yaml`` itself (ResNet-50,
224x224, transformer STAN) with the profile's dataset and length. On a CPU they are the profile's
small model with the journal's loss switches (``JOURNAL_SWITCHES``) and the ``fc`` STAN: the
transformer attends over all M^2 entries of a sample (M ~ 60 people, so ~3,600 tokens) and does
not train on a CPU in reasonable time. The STAN starts from random weights in both profiles (the
journal pre-trains it on synthetic matrices, ``python -m tools.pretrain_stan``; a row with a
pre-trained STAN would set ``model.stan_weights``).
"""
from __future__ import annotations

import copy
from pathlib import Path

from config import Config, apply_dict, load_config
from tools.training_rows import options, with_length

# the journal's loss switches, applied to a profile's base config (CPU profile)
JOURNAL_SWITCHES = {
    "loss": {"self_weight": 0.0, "pairwise_weight": 1.0, "triplewise_weight": 1.0, "transitive": "journal",
             "hinge": "journal", "relaxed_margin": 0.4, "focal_weight": 5.0, "focal_gamma": 2.0,
             "symmetry_weight": 0.002, "nuclear_weight": 1.0e-4, "sum_weight": 0.004},
}
STAN_VARIANT = {"cpu": "fc", "gpu": "transformer"}
APPEARANCE = "journal appearance losses (no STAN)"
JOINT = "journal: appearance + STAN, stan association"
# (row name, how it is made): "train" rows train; "reuse" rows track the JOINT row's features
ROWS = (
    (APPEARANCE, "train"),
    (JOINT, "train"),
    ("journal features, release association", "reuse"),
    ("journal features, tracklet association", "reuse"),
)
REUSE_TRACK = {"journal features, release association": {"association": "release"},
               "journal features, tracklet association": {"association": "tracklet"}}


def journal_config(profile: str, base: Config, setup: dict, train: dict) -> tuple:
    """``(config, change)`` of the joint row before its tracker is set: configs/journal.yaml with
    the profile's dataset and length (GPU), or ``base`` with the journal's switches and the fc
    STAN (CPU). The tracker stays ``base``'s (the paper's) until :func:`journal_rows` sets it."""
    if profile == "gpu":
        cfg = apply_dict(load_config("configs/journal.yaml"), setup, source="profile dataset")
        cfg = with_length(cfg, train)
        cfg.track = copy.deepcopy(base.track)
        return cfg, "`configs/journal.yaml`"
    switches = {**JOURNAL_SWITCHES, "model": {"stan": STAN_VARIANT[profile]}}
    cfg = apply_dict(copy.deepcopy(base), switches, source="journal switches")
    return cfg, options(switches)


def journal_rows(profile: str, base: Config, setup: dict, train: dict, row_dir, only=None) -> list:
    """``[(row name, config, change, kind)]`` in ``ROWS`` order (``only``: these row names).
    ``row_dir(name)`` is the folder of a row: the joint row tracks with the STAN of its own
    ``train/best.pt``; ``kind`` "reuse" rows track that row's features (the caller passes them)."""
    joint, change = journal_config(profile, base, setup, train)
    joint_ckpt = str(Path(row_dir(JOINT)) / "train" / "best.pt")
    rows = []
    for name, kind in ROWS:
        if only and name not in only:
            continue
        cfg = copy.deepcopy(joint)
        if name == APPEARANCE:
            cfg = apply_dict(cfg, {"model": {"stan": "none", "stan_weights": None}}, source=name)
            rows.append((name, cfg, f"{change} --model.stan=none", kind))
        elif name == JOINT:
            track = {"association": "stan", "stan_weights": joint_ckpt, "stan_epsilon": 0.1, "stan_threshold": 0.5,
                     "renew_interval": 10}
            cfg = apply_dict(cfg, {"track": track}, source=name)
            shown = dict(track, stan_weights="<this row>/train/best.pt")
            rows.append((name, cfg, f"{change} {options({'track': shown})}", kind))
        else:
            cfg = apply_dict(cfg, {"track": REUSE_TRACK[name]}, source=name)
            rows.append((name, cfg, f"{change} {options({'track': REUSE_TRACK[name]})}", kind))
    return rows
