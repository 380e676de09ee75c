"""Tracking a whole split: embed every box, track every scene, write the result files.

:func:`track_split` is what ``inference.py`` runs and what the tools (``tools.runs``) call:

    OUT/<scene>_<view>.txt     MOTChallenge rows, the names the official evaluation reads
    OUT/features/<scene>.npz   embeddings with frame, view, box, confidence of each (``reuse_features``
                               re-runs only the tracker; see :mod:`pipeline.extract`)
    OUT/features/divotrack.npy with ``export_features``: every box and feature as DIVOTrack's
                               multi-view tracker reads them (``{scene: {view: rows}}``)
    OUT/run.json               config (with the network actually used), checkpoint hash, timings
    OUT/render/                with ``render``: per-view and mosaic videos, PNG mosaic frames
"""
from __future__ import annotations

import dataclasses
import json
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Optional, Sequence, Tuple, Union

import torch

from atomic import atomic_open
from engine.checkpoint import load_model
from engine.distributed import resolve_device
from errors import UnknownNameError
from loader.boxes import build_box_table
from loader.layout import DatasetError, DatasetLayout
from loader.mot import write_mot
from pipeline.extract import (detection_columns, divotrack_rows, extract_scene, feature_key, load_features,
                              save_divotrack, save_features)
from pipeline.render import render_scene
from pipeline.tracking import track_scene, tracker_params

if TYPE_CHECKING:
    from config import Config

log = logging.getLogger(__name__)


def used_config(cfg: Config, model_desc: dict, crop_size: Tuple[int, int]) -> dict:
    """``cfg`` as a dict with the network actually used: a checkpoint's architecture and crop size
    replace the config's (as documented), with a notice naming each setting that differs."""
    used = dataclasses.asdict(cfg)
    network = {f"model.{k}": model_desc[k] for k in ("backbone", "head", "embed_dim") if k in model_desc}
    network.update({"data.crop_height": crop_size[0], "data.crop_width": crop_size[1]})
    if network.get("model.head") != "linear":
        network.pop("model.embed_dim", None)  # only the linear head has an embedding size
    notes = []
    for key, value in network.items():
        section, name = key.split(".")
        if used[section][name] != value:
            notes.append(f"{key}={value!r} (config: {used[section][name]!r})")
            used[section][name] = value
    if notes:
        log.warning("the checkpoint's network is used, not the config's: %s", ", ".join(notes))
    return used


def track_split(cfg: Config, checkpoint: str, out: Union[str, Path], split: str = "test",
                boxes: Optional[str] = None, scenes: Optional[Sequence[str]] = None, render: bool = False,
                reuse_features: bool = False, frames_per_batch: int = 8, export_features: bool = False,
                render_fps: float = 10.0) -> dict:
    """Track ``split`` of ``cfg.data`` with the network of ``checkpoint`` into ``out``.

    ``checkpoint``: a training checkpoint, ``"none"`` (random weights) or ``"init"`` (the
    weights training starts from; see :func:`~engine.checkpoint.load_model`). ``boxes``:
    ``"det"`` or ``"gt"`` (default ``cfg.track.boxes``); ``scenes``: a subset (default: all);
    ``export_features``: also write ``OUT/features/divotrack.npy``; ``render_fps``: of the videos.
    Returns the ``run.json`` record.
    """
    t_start = time.perf_counter()
    out = Path(out)
    device = resolve_device(cfg.train.device)
    boxes = boxes or cfg.track.boxes
    layout = DatasetLayout(cfg.data.root, cfg.data.manifest, cfg.data.ranges)
    scenes = scenes or layout.scenes
    unknown = [s for s in scenes if s not in layout.scenes]
    if unknown:
        raise UnknownNameError(f"scenes {unknown} are not in {layout.manifest.source}; scenes: {layout.scenes}")
    model, model_desc, crop_size, pixels, sha = load_model(
        checkpoint, cfg.model, (cfg.data.crop_height, cfg.data.crop_width), cfg.train.seed, cfg.data.pixels)
    model.to(device, memory_format=torch.channels_last)  # faster convolutions on GPUs and CPUs
    config = used_config(cfg, model_desc, crop_size)  # what run.json records
    amp = cfg.train.amp if device.type == "cuda" else "none"
    table = build_box_table(layout, split, boxes, scenes=scenes)
    if len(table) == 0:
        raise DatasetError(f"split {split!r} has no {boxes} boxes in scenes {scenes}")
    out.mkdir(parents=True, exist_ok=True)
    timings, written, exported = {"embed_s": 0.0}, [], {}
    for scene in scenes:
        key = feature_key(sha, table, scene, crop_size, {**model_desc, "pixels": pixels})
        path = out / "features" / f"{scene}.npz"
        t0 = time.perf_counter()
        if reuse_features:
            features = load_features(path, key)
        else:
            # a video is decoded forward: one worker reads each view once, several would each decode it all
            videos = any(layout.frame_source(scene, v).kind == "video" for v in table.views[scene])
            features = extract_scene(model, table, layout, scene, crop_size, device, amp, frames_per_batch,
                                     num_workers=min(cfg.data.num_workers, 1 if videos else 2), pixels=pixels)
            save_features(path, features, key, detection_columns(table, scene))
        timings["embed_s"] += time.perf_counter() - t0
        if export_features:
            exported[scene] = divotrack_rows(table, scene, features)
        rows, stats = track_scene(table, scene, features, cfg.track.min_confidence, **tracker_params(cfg.track))
        timings[f"scene_{scene}"] = stats
        for view in table.views[scene]:
            result = out / layout.result_name(scene, view)
            write_mot(result, rows[view])
            written.append(result.name)
        if render:
            render_scene(layout, scene, table.frames[scene].tolist(), rows, out / "render", fps=render_fps)
    if export_features:
        save_divotrack(out / "features" / "divotrack.npy", exported)
    run = {"config": config, "checkpoint": checkpoint, "checkpoint_sha256": sha,
           "split": split, "boxes": boxes, "scenes": scenes, "results": written,
           "device": str(device), "timings": timings, "seconds": time.perf_counter() - t_start}
    if export_features:
        run["divotrack_features"] = "features/divotrack.npy"
    with atomic_open(out / "run.json", "w") as f:
        json.dump(run, f, indent=1)
    log.info("wrote %d result files to %s in %.1f s", len(written), out, run["seconds"])
    return run
