"""Shared steps of the demo and the reproduction: track a split with a checkpoint and score it."""
from __future__ import annotations

import math
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Optional, Sequence

from config import Config
from metrics.evaluate import EvalReport, evaluate
from metrics.inputs import load_scenes, scenes_from_layout
from pipeline.split import track_split


def track_and_score(cfg: Config, checkpoint, out: Path, features_from: Optional[Path] = None,
                    **track_changes) -> EvalReport:
    """Track the test split into ``out`` (see :func:`track`) and evaluate it with the official metrics."""
    track(cfg, checkpoint, out, features_from, **track_changes)
    data, _ = load_scenes(scenes_from_layout(cfg.data.root, out, cfg.data.manifest, cfg.data.ranges))
    return evaluate(data)


def track(cfg: Config, checkpoint, out: Path, features_from: Optional[Path] = None,
          scenes: Optional[Sequence[str]] = None, render: bool = False, **track_changes) -> dict:
    """Track the test split into ``out`` (:func:`pipeline.split.track_split`); returns its
    ``run.json`` record.

    ``features_from``: an earlier run's folder whose cached features (same checkpoint and boxes)
    are reused, so only the tracker runs. ``scenes``: only these; ``render``: videos too.
    ``track_changes``: ``track.*`` fields to change.
    """
    if track_changes:
        cfg = replace(cfg, track=replace(cfg.track, **track_changes))
    if features_from is not None and Path(features_from).resolve() != Path(out).resolve():
        shutil.copytree(Path(features_from) / "features", Path(out) / "features", dirs_exist_ok=True)
    return track_split(cfg, str(checkpoint), out, scenes=scenes, render=render,
                       reuse_features=features_from is not None)


def f1_or_zero(value) -> float:
    """Metric value for a comparison: None/NaN (an F1 with precision = recall = 0) is 0."""
    return 0.0 if value is None or math.isnan(value) else float(value)
