"""Checkpoints: one dict with everything needed to resume exactly, written atomically.

Keys: ``model``, ``optimizer``, ``scheduler``, ``scaler`` (state dicts; scaler None without fp16),
``step``, ``epoch``, ``rng`` (Python, NumPy, torch CPU and CUDA states), ``config`` (the resolved
config as a dict), ``best`` (best validation value so far and its metric name).
"""
from __future__ import annotations

import random
from pathlib import Path
from typing import Union

import numpy as np
import torch

from atomic import atomic_path

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
    missing = [k for k in REQUIRED_KEYS if k not in state]
    if missing:
        raise ValueError(f"checkpoint state lacks {missing}")
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: Union[str, Path]) -> dict:
    """Read a checkpoint; a missing, unreadable or foreign file is an error naming the path."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:
        raise RuntimeError(f"cannot read checkpoint {path}: {e}") from None
    if not isinstance(state, dict) or "model" not in state:
        raise RuntimeError(f"{path} is not a checkpoint of this codebase (no 'model' entry)")
    return state
