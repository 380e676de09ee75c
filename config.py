"""Typed configuration: dataclass sections with defaults, YAML files, CLI overrides.

The defaults are the paper's hyper-parameters with this project's training choices;
``configs/release.yaml`` sets the released code's choices where they differ.

    cfg = load_config("configs/paper.yaml", ["--train.lr=1e-4", "--data.root=/data/MvMHAT"])

A YAML file may set any subset of keys (``section: {key: value}``); overrides are
``--section.key=value``. An unknown section or key, or a value of the wrong type, raises
:class:`ConfigError` naming the key. Every run writes its resolved config with
:func:`save_config`. Library code never imports this module: the entry scripts, the tools and
the runner of a training run (``engine.training_run``) pass sections and values on (other
modules may name a section's type in annotations only). Of the project's packages it imports only
the dependency-free name list it checks against (``metrics.families``).
"""
from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence, Union

import yaml

from atomic import atomic_open
from errors import ConfigError  # noqa: F401 - config.ConfigError, raised below and by the runners
from metrics.families import FAMILIES


@dataclass
class DataConfig:
    root: str = "data/synthetic"  # dataset root in the MvMHAT layout (see loader/layout.py)
    manifest: Optional[str] = None  # manifest file; None = <root>/dataset.yaml
    train_split: str = "train"  # manifest split used for training samples
    val_split: Optional[str] = None  # manifest split for validation (None: hold out val_fraction)
    val_fraction: float = 0.1  # with no val_split: last fraction of each scene's train range held out
    views: int = 4  # V: views per training sample (paper: 4; fewer if a scene has fewer)
    frames: int = 2  # T: frames per view per training sample (paper: 2)
    frame_gap: int = 1  # frames between the T frames of a sample (paper: consecutive frames)
    sample_stride: int = 2  # frames between the starts of two samples (release: disjoint pairs)
    crop_height: int = 224  # crop height in pixels after resizing (paper: 224)
    crop_width: int = 224  # crop width in pixels after resizing (paper: 224; 128 for 256x128)
    boxes: str = "gt"  # annotation file that gives training boxes: gt (gt.txt) or det (det.txt)
    crop_cache: bool = True  # build/use a memory-mapped uint8 crop cache (no JPEG decode per epoch)
    cache_dir: Optional[str] = None  # where crop caches live; None = <root>/.crop_cache
    num_workers: int = 4  # DataLoader worker processes
    box_jitter: float = 0.0  # training crops: std of random box shift and log-scale, fraction of the box (paper: 0)
    colour_jitter: float = 0.0  # training crops: std of a random per-image log-gain per colour channel (paper: 0)
    mirror: bool = False  # training crops: mirror half of them at random (paper: no)
    pixels: str = "imagenet"  # network input: imagenet (RGB, ImageNet mean/std), inception (RGB, (x/255-0.5)/0.5: the journal's ViT normalisation; its code's crops are BGR) or bgr255 (release: BGR, 0-255, unnormalised)
    ranges: str = "frames"  # manifest ranges count frame numbers, or positions in the sorted image list (release)


@dataclass
class ModelConfig:
    backbone: str = "resnet50"  # resnet50 (paper), resnet34, resnet18, resnet10, or vit_s16 (MvMHAT++'s ViT-S/16 option, timm; pair with data.pixels: inception)
    head: str = "logits"  # logits (paper: 1000-d ImageNet classifier output), pool or linear
    embed_dim: int = 512  # output size of the linear head (ignored by logits and pool)
    weights: str = "imagenet"  # imagenet (local torch cache), none (random init) or a file path
    stan: str = "none"  # MvMHAT++ assignment network trained with the backbone: none, transformer, rnn or fc
    stan_weights: Optional[str] = None  # STAN file to start from (python -m tools.pretrain_stan); None = random init


@dataclass
class LossConfig:
    delta: float = 0.5  # softmax temperature parameter delta (paper: 0.5)
    epsilon: float = 0.1  # softmax temperature parameter epsilon in training (paper: 0.1)
    margin: float = 0.5  # hinge margin m of the cycle losses (paper: 0.5)
    self_weight: float = 1.0  # weight of the self-similarity term (0 switches it off)
    pairwise_weight: float = 1.0  # weight of symmetric consistency (pairwise) (0 = off)
    triplewise_weight: float = 1.0  # weight of transitive similarity (triplewise) (0 = off)
    transitive: str = "conference"  # conference (released code) or journal (MvMHAT++: softmaxed blocks, loop from the image with more people)
    hinge: str = "conference"  # pairwise/triplewise hinge: conference, or journal (MvMHAT++: strict only for rows with a counterpart; needs transitive: journal)
    relaxed_margin: float = 0.4  # journal hinge: margin m2 of the band term of rows without a counterpart (MvMHAT++: 0.4)
    focal_weight: float = 5.0  # with model.stan: weight of the focal loss of A against pseudo labels (MvMHAT++: 5)
    focal_gamma: float = 2.0  # with model.stan: focal loss exponent gamma (MvMHAT++: 2)
    symmetry_weight: float = 0.002  # with model.stan: weight of ||A - A^T||_F (MvMHAT++: 0.002)
    nuclear_weight: float = 1.0e-4  # with model.stan: weight of the nuclear norm of A (MvMHAT++: 1e-4)
    sum_weight: float = 0.004  # with model.stan: weight of the row/column sum loss of A (MvMHAT++: 0.004)


@dataclass
class TrainConfig:
    out_dir: str = "runs/train"  # run folder: checkpoints, metrics.jsonl, config.yaml, plots
    device: str = "auto"  # auto (cuda if available), cuda, cuda:N or cpu
    seed: int = 0  # seed of every random generator
    lr: float = 1e-5  # Adam learning rate (paper: 1e-5)
    weight_decay: float = 0.0  # Adam weight decay (paper: none)
    batch_size: int = 1  # samples per step (release: 1 sample of V x T images)
    max_steps: int = 0  # optimisation steps; 0 = run max_epochs epochs
    max_epochs: int = 10  # epochs when max_steps is 0
    warmup_steps: int = 0  # linear learning-rate warm-up steps
    schedule: str = "constant"  # learning-rate schedule after warm-up: constant or cosine
    amp: str = "bf16"  # mixed precision on CUDA: bf16, fp16 (with GradScaler) or none (CPU: none)
    channels_last: bool = True  # channels_last memory format (CUDA and CPU: faster convolutions on both)
    compile: bool = False  # torch.compile the backbone (training, forward: batched; the first steps compile, minutes)
    log_interval: int = 20  # steps between log lines
    val_interval: int = 500  # steps between validations (and best-checkpoint decisions)
    ckpt_interval: int = 1000  # steps between checkpoints (last.pt)
    resume: Optional[str] = None  # checkpoint to continue from exactly
    forward: str = "batched"  # batched (BatchNorm over all crops of a step) or per_image (release: as one pass per image)
    select: str = "val_loss"  # best.pt by: val_loss (self-supervised), train_loss (release: per epoch) or val_assoc_acc (uses identities)


@dataclass
class TrackConfig:
    association: str = "release"  # cross-view association: release (MvMHAT rules), tracklet, stan (MvMHAT++: learned assignment), or none (per view only)
    delta: float = 0.5  # cross-view softmax parameter delta
    epsilon: float = 0.5  # cross-view softmax parameter epsilon at inference (paper: 0.5)
    match_threshold: float = 0.5  # softmax entries below this are not cross-view matches
    max_cosine_distance: float = 0.2  # Deep SORT appearance gate (cosine distance)
    nn_budget: Optional[int] = None  # features kept per track (None: all, as released)
    max_iou_distance: float = 0.7  # Deep SORT IoU gate (1 - IoU)
    max_age: int = 80  # frames a lost track is kept
    n_init: int = 3  # consecutive hits before a track is confirmed
    reid_after: int = 0  # lost this many frames: re-found on appearance alone (0 = off, as Deep SORT)
    reid_margin: float = 0.0  # such a re-find must beat every rival's cosine distance by this (0 = off)
    renew_interval: int = 30  # frames between cross-view re-matching rounds (0 = never)
    min_confidence: float = 0.0  # detections below this score are dropped
    output_box: str = "kalman"  # box written per frame: kalman (paper) or detection
    output_max_misses: int = 1  # report a confirmed track missed for up to this many frames (release: 1)
    boxes: str = "det"  # boxes to track: det (det.txt) or gt (gt.txt, oracle detections)
    tracklet_memory: float = 200.0  # tracklet mode: effective detections in a track's evidence
    tracklet_recent: float = 20.0  # tracklet mode: effective detections in its recent evidence
    tracklet_link_threshold: float = 0.35  # tracklet mode: evidence cosine needed for a cross-view link
    tracklet_keep_bonus: float = 0.15  # tracklet mode: hysteresis for a track's present identity
    tracklet_margin: float = 0.15  # tracklet mode: a new link must beat every rival's cosine by this
    tracklet_turn_margin: float = 0.3  # tracklet mode: recent evidence this much nearer elsewhere resets a track
    tracklet_revise_interval: int = 5  # tracklet mode: frames between revisions of every link
    tracklet_nn_budget: Optional[int] = 100  # tracklet mode: Deep SORT features kept per track (None: all)
    stan_weights: Optional[str] = None  # stan mode: STAN file (tools.pretrain_stan) or journal training checkpoint; required there
    stan_epsilon: float = 0.1  # stan mode: softmax epsilon of the blocks given to STAN (MvMHAT++: 0.1)
    stan_threshold: float = 0.5  # stan mode: entries of A below this are not cross-view matches (MvMHAT++: 0.5)
    stan_temporal: str = "none"  # stan mode: fuse STAN's temporal blocks with the cascade's first level: none (MvMHAT++ default), intersection, union_cascade, union_assignment or assignment


@dataclass
class EvalConfig:
    metrics: str = "official,cv,hota,stma"  # metric families eval.py computes, comma-separated (docs/METRICS.md)
    backend: str = "official"  # per-view devkit metrics: official (the devkit's rules) or motmetrics (a cross-check)
    stma_iou: float = 0.5  # STMA: a match needs IoU above this (MvMHAT++: 0.5); the official metrics' 0.5 is fixed


@dataclass
class Config:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    track: TrackConfig = field(default_factory=TrackConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)


# String fields with a fixed set of values, checked when the config is read (before any work).
CHOICES = {
    "data.boxes": ("gt", "det"),
    "data.pixels": ("imagenet", "inception", "bgr255"),
    "data.ranges": ("frames", "positions"),
    "train.forward": ("batched", "per_image"),
    "train.select": ("val_loss", "train_loss", "val_assoc_acc"),
    "model.head": ("logits", "pool", "linear"),
    "model.stan": ("none", "transformer", "rnn", "fc"),
    "loss.hinge": ("conference", "journal"),
    "loss.transitive": ("conference", "journal"),
    "train.schedule": ("constant", "cosine"),
    "train.amp": ("bf16", "fp16", "none"),
    "track.output_box": ("kalman", "detection"),
    "track.association": ("release", "tracklet", "stan", "none"),
    "track.stan_temporal": ("none", "intersection", "union_cascade", "union_assignment", "assignment"),
    "track.boxes": ("gt", "det"),
    "eval.backend": ("official", "motmetrics"),
}

# String fields holding a comma-separated list of names from a fixed set (at least one).
LIST_CHOICES = {
    "eval.metrics": FAMILIES,
}



@dataclass(frozen=True)
class Range:
    """The numbers a field allows: ``low <= x <= high`` (``<`` where open; None: unbounded)."""

    low: Optional[float] = None
    high: Optional[float] = None
    open_low: bool = False
    open_high: bool = False

    def __contains__(self, x: float) -> bool:
        above = self.low is None or (x > self.low if self.open_low else x >= self.low)
        below = self.high is None or (x < self.high if self.open_high else x <= self.high)
        return above and below

    def __str__(self) -> str:
        low, high = (str(int(v)) if float(v).is_integer() else f"{v:g}" for v in (self.low, self.high or 0))
        if self.high is None:
            return f"{'>' if self.open_low else '>='} {low}"
        return f"{'(' if self.open_low else '['}{low}, {high}{')' if self.open_high else ']'}"


AT_LEAST_0, AT_LEAST_1, POSITIVE = Range(0), Range(1), Range(0, open_low=True)
SOFTMAX_DELTA = Range(0, 1, open_low=True, open_high=True)  # ln(delta / (1 - delta)) must exist

# Numeric fields with a range, checked when the config is read (None stays allowed where the type
# is Optional). Fields not named here take any value of their type.
RANGES = {
    "data.val_fraction": Range(0, 1, open_high=True),
    **{f"data.{k}": AT_LEAST_1 for k in ("views", "frames", "frame_gap", "sample_stride", "crop_height",
                                         "crop_width")},
    **{f"data.{k}": AT_LEAST_0 for k in ("num_workers", "box_jitter", "colour_jitter")},
    "model.embed_dim": AT_LEAST_1,
    "loss.delta": SOFTMAX_DELTA,
    "loss.epsilon": POSITIVE,
    **{f"loss.{k}": AT_LEAST_0 for k in ("margin", "self_weight", "pairwise_weight", "triplewise_weight",
                                         "relaxed_margin", "focal_weight", "focal_gamma", "symmetry_weight",
                                         "nuclear_weight", "sum_weight")},
    "train.seed": Range(0, 2**32 - 1),  # NumPy's seed range
    "train.lr": POSITIVE,
    **{f"train.{k}": AT_LEAST_1 for k in ("batch_size", "max_epochs", "log_interval")},
    **{f"train.{k}": AT_LEAST_0 for k in ("weight_decay", "max_steps", "warmup_steps", "val_interval",
                                          "ckpt_interval")},
    "track.delta": SOFTMAX_DELTA,
    "track.epsilon": POSITIVE,
    "track.match_threshold": Range(0, 1),
    "track.max_cosine_distance": Range(0, 2),
    "track.max_iou_distance": Range(0, 1),
    "track.tracklet_link_threshold": Range(-1, 1),
    "track.stan_epsilon": POSITIVE,
    "track.stan_threshold": Range(0, 1),
    **{f"track.{k}": AT_LEAST_1 for k in ("nn_budget", "n_init", "tracklet_memory", "tracklet_recent",
                                          "tracklet_revise_interval", "tracklet_nn_budget")},
    **{f"track.{k}": AT_LEAST_0 for k in ("max_age", "reid_after", "reid_margin", "renew_interval",
                                          "output_max_misses", "tracklet_keep_bonus", "tracklet_margin",
                                          "tracklet_turn_margin")},
    "eval.stma_iou": Range(0, 1, open_high=True),
}

# ---------------------------------------------------------------------------------------------
_TRUE, _FALSE = {"true", "yes", "on", "1"}, {"false", "no", "off", "0"}


def _coerce(value: Any, tp: Any, key: str) -> Any:
    """Return ``value`` as type ``tp`` or raise ConfigError; strings come from the command line."""
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None or (isinstance(value, str) and value.lower() in {"none", "null", "~"}):
            if type(None) in args:
                return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, key)
            except ConfigError as e:
                errors.append(str(e))
        raise ConfigError(errors[0] if errors else f"{key}: invalid value {value!r}")
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
            return value.lower() in _TRUE
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                pass
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):  # also covers YAML 1.1 reading "1e-5" as a string
            try:
                return float(value)
            except ValueError:
                pass
    elif tp is str:
        if isinstance(value, str):
            return value
    else:
        raise TypeError(f"{key}: unsupported config field type {tp!r}")
    name = getattr(tp, "__name__", str(tp))
    raise ConfigError(f"{key}: expected {name}, got {value!r}")


def _section_types(section: Any) -> dict:
    return typing.get_type_hints(type(section))


def _set(cfg: Config, section: str, key: str, value: Any) -> None:
    sections = {f.name for f in dataclasses.fields(cfg)}
    if section not in sections:
        raise ConfigError(f"unknown config section {section!r}; sections: {sorted(sections)}")
    sec = getattr(cfg, section)
    types_ = _section_types(sec)
    if key not in types_:
        raise ConfigError(f"unknown config key '{section}.{key}'; keys in {section}: {sorted(types_)}")
    value = _coerce(value, types_[key], f"{section}.{key}")
    choices = CHOICES.get(f"{section}.{key}")
    if choices is not None and value not in choices:
        raise ConfigError(f"{section}.{key}: expected one of {list(choices)}, got {value!r}")
    names = LIST_CHOICES.get(f"{section}.{key}")
    if names is not None:
        items = [n.strip() for n in value.split(",") if n.strip()]
        if not items or any(n not in names for n in items):
            raise ConfigError(f"{section}.{key}: expected a comma-separated list of {list(names)}, got {value!r}")
    allowed = RANGES.get(f"{section}.{key}")
    if allowed is not None and value is not None and value not in allowed:
        raise ConfigError(f"{section}.{key}: {value!r} is out of range; allowed: {allowed}")
    setattr(sec, key, value)


def apply_dict(cfg: Config, data: dict, source: str = "<dict>") -> Config:
    """Set every ``{section: {key: value}}`` entry of ``data`` on ``cfg`` (validated)."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping of sections, got {type(data).__name__}")
    for section, values in data.items():
        if not isinstance(values, dict):
            raise ConfigError(f"{source}: section {section!r} must be a mapping, got {values!r}")
        for key, value in values.items():
            try:
                _set(cfg, str(section), str(key), value)
            except ConfigError as e:
                raise ConfigError(f"{source}: {e}") from None
    return cfg


def parse_overrides(args: Sequence[str]) -> list:
    """``["--train.lr=1e-4", ...]`` -> ``[("train", "lr", "1e-4"), ...]``; malformed ones raise."""
    out = []
    for arg in args:
        body = arg[2:] if arg.startswith("--") else None
        if body is None or "=" not in body or "." not in body.split("=", 1)[0]:
            raise ConfigError(f"override {arg!r} is not of the form --section.key=value")
        dotted, value = body.split("=", 1)
        section, key = dotted.split(".", 1)
        out.append((section, key, value))
    return out


def load_config(path: Union[str, Path, None] = None, overrides: Sequence[str] = ()) -> Config:
    """Defaults, then the YAML file at ``path`` (if any), then ``--section.key=value`` overrides."""
    cfg = Config()
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"config file not found: {path}")
        with open(path, "r", encoding="utf-8") as f:
            try:
                data = yaml.safe_load(f) or {}
            except yaml.YAMLError as e:
                raise ConfigError(f"{path}: not valid YAML: {e}") from None
        apply_dict(cfg, data, source=str(path))
    for section, key, value in parse_overrides(overrides):
        _set(cfg, section, key, value)
    return cfg


def config_to_dict(cfg: Config) -> dict:
    return dataclasses.asdict(cfg)


def save_config(cfg: Config, path: Union[str, Path]) -> None:
    """Write the resolved config as YAML (atomically); :func:`load_config` reads it back."""
    with atomic_open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump(config_to_dict(cfg), f, sort_keys=False)
