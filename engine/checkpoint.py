"""Checkpoints: one dict with everything needed to resume exactly, written atomically; and the
network a checkpoint describes (:func:`load_model`, for tracking).

Keys: ``model``, ``optimizer``, ``scheduler``, ``scaler`` (state dicts; scaler None without fp16),
``step``, ``epoch``, ``rng`` (Python, NumPy, torch CPU and CUDA states), ``config`` (the resolved
config as a dict), ``best`` (best value so far of the ``train.select`` rule, its name and step);
optional ``epoch_loss`` (the running epoch's summed training loss and step count) and ``augment``.
"""
from __future__ import annotations

import dataclasses
import errno
import hashlib
import logging
import random
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, Tuple, Union

import numpy as np
import torch

from atomic import atomic_path, remove_orphans
from errors import KnownError
from models.embedding import WeightsError, backbone_state, build_model, describe, expected_files, library, read_weights

if TYPE_CHECKING:
    from config import ModelConfig

class CheckpointError(KnownError, RuntimeError):
    """A checkpoint that cannot be read, written or resumed from; the message names the file."""


log = logging.getLogger(__name__)
REQUIRED_KEYS = ("model", "optimizer", "scheduler", "scaler", "step", "epoch", "rng", "config", "best")


def rng_state() -> dict:
    return {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []}


def set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if state.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path: Union[str, Path], state: dict) -> None:
    """Write ``state`` to ``path`` atomically. A failed write (torch's message names no file) is a
    :class:`CheckpointError` naming ``path`` and saying when the disk is full; temporary files an
    earlier, killed write left beside ``path`` are removed first."""
    missing = [k for k in REQUIRED_KEYS if k not in state]
    if missing:
        raise ValueError(f"checkpoint state lacks {missing}")
    for orphan in remove_orphans(path):
        log.info("removed %s, left by an interrupted checkpoint write", orphan)
    try:
        with atomic_path(path) as tmp:
            torch.save(state, tmp)
    except (OSError, RuntimeError) as e:  # torch: "[enforce fail at inline_container.cc:...] unexpected pos"
        raise CheckpointError(f"cannot write checkpoint {path}: {_write_failure(Path(path), e, state)}") from e


def _write_failure(path: Path, error: Exception, state: dict) -> str:
    """Why writing ``state`` to ``path`` failed, in words: the disk is full, or ``error``."""
    need = _nbytes(state)
    try:
        free = shutil.disk_usage(path.parent).free
    except OSError:
        free = None
    if getattr(error, "errno", None) in (errno.ENOSPC, errno.EDQUOT) or (free is not None and free < need):
        room = "?" if free is None else f"{free / 1e6:,.1f}"
        return f"the disk is full ({room} MB free in {path.parent}; the checkpoint needs about {need / 1e6:,.1f} MB)"
    return str(error)


def _nbytes(state) -> int:
    """Bytes of the tensors and arrays in a nested checkpoint state (about its size on disk)."""
    if isinstance(state, torch.Tensor):
        return state.untyped_storage().nbytes()
    if isinstance(state, np.ndarray):
        return state.nbytes
    if isinstance(state, dict):
        return sum(_nbytes(v) for v in state.values())
    if isinstance(state, (list, tuple)):
        return sum(_nbytes(v) for v in state)
    return 0


def _read(path: Path):
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    if path.suffix == ".safetensors":  # a released timm backbone as the Hugging Face hub serves it
        try:
            return read_weights(path)
        except WeightsError as e:  # a checkpoint's error, as for any other file given as one
            raise CheckpointError(str(e)) from None
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:
        raise CheckpointError(f"cannot read checkpoint {path}: {e}") from None


def load_checkpoint(path: Union[str, Path]) -> dict:
    """Read a checkpoint; a missing, unreadable or foreign file is an error naming the path."""
    path = Path(path)
    state = _read(path)
    if not isinstance(state, dict) or "model" not in state:
        raise CheckpointError(f"{path} is not a checkpoint of this codebase (no 'model' entry)")
    return state


class Network(NamedTuple):
    """The network to embed with, as :func:`load_model` finds it."""

    model: torch.nn.Module
    desc: dict  # model settings (the checkpoint's model section); keys the cached features
    crop_size: Tuple[int, int]  # (height, width) the network was trained on
    pixels: str  # its input convention (loader.crops.PIXELS)
    sha: str  # checkpoint sha256 (or a name for untrained weights); keys the cached features


def load_model(checkpoint: str, model_cfg: ModelConfig, crop_size: Tuple[int, int], seed: int,
               pixels: str = "imagenet") -> Network:
    """The :class:`Network` of ``checkpoint`` to embed with.

    ``checkpoint``: a file written by training (architecture, crop size and pixel convention come
    from its stored config, ``imagenet`` for checkpoints older than ``data.pixels``;
    ``model_cfg``, ``crop_size`` and ``pixels`` are not used), a released MvMHAT file or a plain
    torchvision ResNet state dict (:func:`_foreign_model`), ``"none"`` (random weights of
    ``model_cfg`` drawn after seeding torch with ``seed``) or ``"init"`` (the untrained starting
    point of ``model_cfg.weights``), both fed with ``pixels``.
    """
    if checkpoint in ("none", "init"):
        torch.manual_seed(seed)
        m = model_cfg
        weights = "none" if checkpoint == "none" else m.weights
        model = build_model(m.backbone, m.head, m.embed_dim, weights)
        desc = {**dataclasses.asdict(m), "weights": str(weights)}
        if Path(weights).is_file():  # cached features must follow the file's content, not its name
            desc["weights_sha256"] = hashlib.sha256(Path(weights).read_bytes()).hexdigest()
        return Network(model, desc, tuple(crop_size), pixels, f"untrained-{weights}-seed{seed}")
    state = _read(Path(checkpoint))
    sha = hashlib.sha256(Path(checkpoint).read_bytes()).hexdigest()
    if not (isinstance(state, dict) and "model" in state and "config" in state):
        return _foreign_model(checkpoint, state, crop_size, pixels, sha)
    try:
        m, d = state["config"]["model"], state["config"]["data"]
        model = build_model(m["backbone"], m["head"], m["embed_dim"], "none")
        model.load_state_dict(state["model"])
    except (KeyError, RuntimeError) as e:
        raise CheckpointError(f"{checkpoint}: checkpoint does not describe a model of this codebase: {e}") from None
    return Network(model, m, (d["crop_height"], d["crop_width"]), d.get("pixels", "imagenet"), sha)


def _foreign_model(checkpoint: str, state, crop_size: Tuple[int, int], pixels: str, sha: str) -> Network:
    """The network of a file not written by training: the released MvMHAT training's
    ``{'model': state_dict}``, a plain torchvision ResNet or timm ViT-S/16 state dict, or the
    backbone of a released MvMHAT++ checkpoint (see :func:`models.embedding.backbone_state`). The
    architecture is read from the keys, the head is ``logits`` (the ImageNet classifier output, as
    the released code embeds); such a file stores no crop size or pixel convention, so
    ``crop_size`` and ``pixels`` (the config's) are used: the released MvMHAT network wants
    224x224 crops, ``bgr255`` (``configs/release.yaml``), a journal ViT-S/16 ``inception``.
    ``sha``: the file's sha256."""
    found = backbone_state(state, str(checkpoint))
    if found is None:
        raise CheckpointError(f"{checkpoint} is not a checkpoint this code reads: {expected_files()}; "
                              f"it holds {describe(state)}")
    name, backbone = found
    model = build_model(name, "logits", weights="none")
    try:
        model.backbone.load_state_dict(backbone)
    except RuntimeError as e:  # a classifier of another size, a missing key
        raise CheckpointError(f"{checkpoint}: a {library(name)} {name} state dict that does not fit {name} with its "
                              f"1000-class classifier (the logits embedding): "
                              f"{' '.join(str(e).split())}") from None  # torch's message spans lines
    desc = {"backbone": name, "head": "logits", "source": "released state dict"}
    log.info("%s: a released %s %s state dict; embedding = its 1000 logits, crops %dx%d, pixels %s (from the "
             "config)", checkpoint, library(name), name, crop_size[0], crop_size[1], pixels)
    return Network(model, desc, tuple(crop_size), pixels, sha)
