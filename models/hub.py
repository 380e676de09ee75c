"""Weight files from the local torch hub cache or a given path; nothing is ever downloaded."""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Type, Union

import torch


def hub_path(url: str) -> Path:
    """Where torch keeps the file of ``url`` in the local hub cache (``<hub dir>/checkpoints/``)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(url).name


def weights_file(given: Union[str, Path, None], url: str, what: str, alternatives: str,
                 error: Type[Exception]) -> Path:
    """The file to read ``what`` from: ``given``, or the hub-cache file of ``url`` when ``given`` is
    None. A missing file raises ``error``; for the cache file, the message says which file to put
    where and the ``alternatives`` (e.g. "pass a file with --model.weights=PATH")."""
    if given is not None:
        path = Path(given)
        if not path.is_file():
            raise error(f"{what} file not found: {path}")
        return path
    path = hub_path(url)
    if not path.is_file():
        raise error(f"{what} are not in the local torch cache (nothing is downloaded): put {path.name} "
                    f"(from {url}) at {path}, {alternatives}")
    return path
