"""Run logging: console + ``train.log``, the environment at start, curves of ``metrics.jsonl``."""
from __future__ import annotations

import json
import logging
import platform
import subprocess
import sys
from pathlib import Path
from typing import Sequence

import torch

from atomic import atomic_path


def setup_logging(out_dir: Path, is_main: bool) -> None:
    """INFO to the console and to ``out_dir/train.log`` on the main process; warnings elsewhere."""
    handlers = [logging.StreamHandler(sys.stderr)]
    if is_main:
        out_dir.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(out_dir / "train.log", encoding="utf-8"))
    logging.basicConfig(level=logging.INFO if is_main else logging.WARNING, handlers=handlers,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s", force=True)


def environment(device: torch.device, world_size: int) -> dict:
    """What a reader of the log needs to reproduce the run's software and hardware."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                cwd=Path(__file__).resolve().parents[1], timeout=5).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        commit = None
    env = {"python": platform.python_version(), "torch": torch.__version__, "platform": platform.platform(),
           "device": str(device), "world_size": world_size, "git_commit": commit,
           "cpu_threads": torch.get_num_threads()}
    if device.type == "cuda":
        env.update(gpu=torch.cuda.get_device_name(device), cuda=torch.version.cuda,
                   cudnn=torch.backends.cudnn.version())
    return env


def plot_curves(metrics_path: Path, out_png: Path, terms: Sequence[str]) -> None:
    """Training loss ``terms`` (the loss's ``terms``, as the trainer logs them) and validation
    values against the step, as one PNG."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    entries = {"train": [], "val": [], "epoch": []}
    for line in Path(metrics_path).read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        entries.setdefault(entry["kind"], []).append(entry)
    train, val, epochs = entries["train"], entries["val"], entries["epoch"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    terms = [k for k in terms if k in train[0]] if train else []
    for key in terms:
        if train:
            axes[0].plot([e["step"] for e in train], [e[key] for e in train], label=key)
    if epochs:
        axes[0].plot([e["step"] for e in epochs], [e["train_loss"] for e in epochs], "ko", label="epoch mean loss")
    axes[0].set(title="training loss", xlabel="step")
    for key in ("val_loss", "val_assoc_acc"):
        points = [(e["step"], e[key]) for e in val if e.get(key) is not None]
        if points:
            axes[1].plot(*zip(*points), marker="o", label=key)
    axes[1].set(title="validation", xlabel="step")
    for ax in axes:
        if ax.get_legend_handles_labels()[0]:
            ax.legend()
    fig.tight_layout()
    with atomic_path(out_png) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
