"""What a resumed run takes from its checkpoint, and its run folder brought back to the checkpoint.

``--train.resume=CKPT`` continues a run exactly: the weights, the optimizer (learning rate, weight
decay, Adam moments), the schedule's position and every random generator come from the
checkpoint. A config that sets one of those otherwise would be silently ignored, so
:func:`check_resume` refuses it; other changed settings (``train.max_steps`` to train longer,
say) take effect from the checkpoint's step on and are listed in a warning.
:func:`truncate_metrics` drops the log entries a killed run wrote after its last checkpoint,
which the resumed run writes again.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Union

from atomic import atomic_open
from engine.checkpoint import CheckpointError

log = logging.getLogger("train")

# config keys whose value a resumed run takes from the checkpoint -> what holds it there
FROM_CHECKPOINT = {
    "model.backbone": "the weights", "model.head": "the weights", "model.embed_dim": "the weights",
    "train.lr": "the optimizer state", "train.weight_decay": "the optimizer state",
    "train.seed": "the random generator states",
}
# config keys that may change on resume without changing what is computed
UNTRACKED = {"train.out_dir", "train.resume", "train.device", "train.log_interval", "train.val_interval",
             "train.ckpt_interval", "data.root", "data.manifest", "data.cache_dir", "data.crop_cache",
             "data.num_workers", "model.weights"}


def _flat(config: dict) -> dict:
    return {f"{section}.{key}": value for section, values in config.items() for key, value in values.items()}


def check_resume(saved: dict, current: dict, checkpoint: Union[str, Path]) -> list:
    """Compare the config stored in ``checkpoint`` (``saved``) with the run's (``current``), both
    ``{section: {key: value}}``: a key of :data:`FROM_CHECKPOINT` set otherwise raises a
    :class:`~engine.checkpoint.CheckpointError` naming it and both values; other differences are
    logged as a warning and returned as ``"key: old -> new"`` (keys the checkpoint does not record
    are skipped)."""
    saved, current = _flat(saved), _flat(current)
    differ = [k for k in current if k in saved and saved[k] != current[k] and k not in UNTRACKED]
    conflicts = [k for k in differ if k in FROM_CHECKPOINT]
    if conflicts:
        listing = "; ".join(f"{k} is {saved[k]!r} in {FROM_CHECKPOINT[k]}, {current[k]!r} in the config"
                            for k in conflicts)
        raise CheckpointError(f"--train.resume={checkpoint}: a resumed run takes {', '.join(FROM_CHECKPOINT)} "
                              f"from the checkpoint, but {listing}; drop the override to continue exactly, or "
                              f"start a new run (--train.resume=none) with --model.weights={checkpoint}")
    changes = [f"{k}: {saved[k]!r} -> {current[k]!r}" for k in differ]
    log.info("resuming from %s: %s come from the checkpoint", checkpoint, ", ".join(FROM_CHECKPOINT))
    if changes:
        log.warning("resuming with settings other than the checkpoint's run, in effect from its step on: %s",
                    "; ".join(changes))
    return changes


def truncate_metrics(path: Union[str, Path], step: int) -> int:
    """Keep the entries of a ``metrics.jsonl`` up to ``step`` (those a killed run wrote after its
    last checkpoint are written again by the resumed run); returns how many were dropped."""
    path = Path(path)
    if not path.is_file():
        return 0
    lines = path.read_text(encoding="utf-8").splitlines()
    keep = [line for line in lines if line.strip() and json.loads(line)["step"] <= step]
    if len(keep) < len(lines):
        with atomic_open(path, "w", encoding="utf-8") as f:
            f.write("".join(line + "\n" for line in keep))
        log.info("%s: dropped %d entries after step %d (written before the run was stopped)", path,
                 len(lines) - len(keep), step)
    return len(lines) - len(keep)
