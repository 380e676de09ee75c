"""Converters of public multi-view tracking datasets to this project's layout and manifest
(``loader/layout.py``)::

    python -m datasets.convert FORMAT --src SRC --out DST [--test-fraction F]

Formats (one module per family; each module's docstring gives its source layout, frame
numbering, box rule and ranges): ``mvmhat`` and ``mvmhat++`` (:mod:`.mvmhat`), ``mmp``
(:mod:`.mmp`), ``divotrack`` (:mod:`.divotrack`), ``wildtrack`` (:mod:`.wildtrack`), ``epfl`` and
``campus`` (:mod:`.vatic`). What they share (:mod:`.common`): images and videos are linked with
absolute symbolic links, not copied; frame numbers are the source's; boxes become ``x, y, w, h``
pixels; cross-view ids are kept; ``DST`` must be new or empty. Check the result with
``python -m datasets.check DST``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from datasets.convert import divotrack, mmp, mvmhat, vatic, wildtrack
from errors import UnknownNameError

# format -> (converter(src, out, test_fraction), takes a test fraction)
FORMATS = {
    "mvmhat": (lambda src, out, f: mvmhat.convert(src, out, "mvmhat"), False),
    "mvmhat++": (lambda src, out, f: mvmhat.convert(src, out, "mvmhat++"), False),
    "mmp": (lambda src, out, f: mmp.convert(src, out), False),
    "divotrack": (lambda src, out, f: divotrack.convert(src, out), False),
    "wildtrack": (lambda src, out, f: wildtrack.convert(src, out, f or wildtrack.TEST_FRACTION), True),
    "epfl": (lambda src, out, f: vatic.convert_epfl(src, out, f or vatic.TEST_FRACTION), True),
    "campus": (lambda src, out, f: vatic.convert_campus(src, out, f or vatic.TEST_FRACTION), True),
}


def convert(fmt: str, src, out, test_fraction: Optional[float] = None) -> Path:
    """Convert ``src`` in format ``fmt`` into ``out``; ``test_fraction`` only where the source has no
    splits of its own (wildtrack, epfl, campus; None: the format's default)."""
    try:
        run, takes_fraction = FORMATS[fmt]
    except KeyError:
        raise UnknownNameError(f"unknown dataset format {fmt!r}; valid: {list(FORMATS)}") from None
    if test_fraction is not None and not takes_fraction:
        raise ValueError(f"format {fmt!r} has splits of its own; a test fraction applies to "
                         f"{[k for k, (_, t) in FORMATS.items() if t]}")
    return run(Path(src), Path(out), test_fraction)
