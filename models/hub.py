"""Weight files from a given path or a local cache; nothing is ever downloaded.

Two caches are read: torch's hub cache (torchvision's ImageNet and detector weights) and the
Hugging Face hub cache (timm's weights, e.g. the journal's ViT-S/16).
:func:`released_state` unwraps the state dict a released training file holds.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Type, Union

import torch


def hub_path(url: str) -> Path:
    """Where torch keeps the file of ``url`` in the local hub cache (``<hub dir>/checkpoints/``)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(url).name


def released_state(obj, part: str) -> Optional[dict]:
    """The state dict a released weights file holds, or None when ``obj`` is no dict with string
    keys: ``obj`` itself, or ``obj['model']`` (how the MvMHAT and MvMHAT++ trainings save); a
    ``module.`` prefix on every key (``nn.DataParallel``) is removed, and where some keys start
    with ``part`` (the journal's training checkpoint: ``feature_extractor.`` for the backbone,
    ``dhn_model.`` for STAN) only those are kept, without it."""
    if isinstance(obj, dict) and isinstance(obj.get("model"), dict):
        obj = obj["model"]
    if not isinstance(obj, dict) or not obj or not all(isinstance(k, str) for k in obj):
        return None
    for prefix in ("module.", part):
        kept = {k[len(prefix):]: v for k, v in obj.items() if k.startswith(prefix)}
        if kept and (len(kept) == len(obj) or prefix == part):
            obj = kept
    return obj


def hf_cache_root() -> Path:
    """The Hugging Face hub cache: ``$HF_HUB_CACHE``, else ``$HF_HOME/hub``, else
    ``~/.cache/huggingface/hub`` (the hub client's own rule)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    home = os.environ.get("HF_HOME") or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "huggingface"
    return Path(home) / "hub"


def hf_cache_path(repo_id: str, filename: str) -> Path:
    """Where the Hugging Face cache keeps ``filename`` of model repository ``repo_id``:
    ``<root>/models--<owner>--<name>/snapshots/<revision>/<filename>``, the revision that
    ``refs/main`` names (else the first snapshot holding the file, else ``main``)."""
    repo = hf_cache_root() / ("models--" + repo_id.replace("/", "--"))
    ref = repo / "refs" / "main"
    if ref.is_file():
        return repo / "snapshots" / ref.read_text().strip() / filename
    found = sorted((repo / "snapshots").glob(f"*/{filename}"))
    return found[0] if found else repo / "snapshots" / "main" / filename


def weights_file(given: Union[str, Path, None], cached: Optional[Path], what: str, source: str,
                 alternatives: str, error: Type[Exception]) -> Path:
    """The file to read ``what`` from: ``given``, or the cache file ``cached`` when ``given`` is
    None. A missing file raises ``error``; for the cache file, the message says which file to put
    where, where it comes from (``source``), and the ``alternatives`` (e.g. "pass a file with
    --model.weights=PATH")."""
    if given is not None:
        path = Path(given)
        if not path.is_file():
            raise error(f"{what} file not found: {path}")
        return path
    if not cached.is_file():
        raise error(f"{what} are not in the local cache (nothing is downloaded): put {cached.name} "
                    f"(from {source}) at {cached}, {alternatives}")
    return cached
