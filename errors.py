"""Errors the user can fix, and how the entry scripts report them.

A *known* error is bad input or an output that cannot be written: its message names the file (and
line), the config key or the name at fault, and a traceback would add nothing. Every known error
class derives from :class:`KnownError`; each lives next to the code that raises it:

    ConfigError                         a config file or override outside the schema, or settings that
                                        do not go together (key named; config.py and the runners)
    loader.layout.DatasetError          the dataset on disk, its manifest, a corrupt image
    datasets.convert.common.ConvertError  a downloaded dataset its converter cannot read (file, line)
    loader.mot.MotFormatError           a malformed MOT row or file (file:line: problem)
    metrics.inputs.ScenesFileError      a malformed scenes CSV
    metrics.inputs.MissingFilesError    missing ground-truth or result files (each listed)
    engine.checkpoint.CheckpointError   a checkpoint that cannot be read, written or resumed from
    models.embedding.WeightsError       weights that cannot be loaded
    pipeline.extract.FeatureCacheError  cached features computed from other inputs
    pipeline.detect.DetectorWeightsError  detector weights missing (where to put them) or not fitting
    pipeline.videos.VideoInputError     a --videos input that cannot be used (named)
    UnknownNameError                    a name (scene, split, backbone, ...) that is not a valid one
    OutputError                         an output that cannot be written (read-only folder, disk full)

A missing input file (``FileNotFoundError`` whose message names the path) is known too. The entry
scripts run through :func:`run_main`: a known error prints one line ``error: <message>`` to stderr
and exits with status 2 (as argparse does for bad arguments); anything else is a bug and keeps its
traceback. This module imports nothing of the project.
"""
from __future__ import annotations

import sys
from typing import Callable


class KnownError(Exception):
    """Base of the errors the user can fix (see the module docstring)."""


class ConfigError(KnownError, ValueError):
    """A config file or override that does not fit the schema of ``config.py``, or settings that
    do not go together (checked where the objects are built); importable as ``config.ConfigError``."""


class UnknownNameError(KnownError, KeyError):
    """A name that is not among the valid ones; the message lists them. A ``KeyError`` as well,
    printed without the quotes ``KeyError`` adds."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class OutputError(KnownError, OSError):
    """An output file or folder that cannot be written; the message names it and says why."""


KNOWN_ERRORS = (KnownError, FileNotFoundError)


def run_main(main: Callable[[], object]) -> int:
    """Call ``main()``; a known error prints ``error: <message>`` to stderr and gives 2, else 0."""
    try:
        main()
    except KNOWN_ERRORS as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0
