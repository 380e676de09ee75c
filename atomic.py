"""Atomic file writes: a crash never leaves a half-written result.

Every writer in this codebase writes to a temporary file in the destination's folder and renames
it over the destination only after the write succeeded (``os.replace`` is atomic on POSIX and
Windows when both paths are on one file system). A write that fails for lack of space or of write
access raises :class:`errors.OutputError` naming the destination (the system's "No space left on
device" names no file); :func:`check_writable` checks an output path before the work.

A top-level module of its own: config, the loader, the engine, the inference pipeline, the
synthetic generator, the tools and the entry scripts all write files, and none of them is the home
of the others' writes.
"""
from __future__ import annotations

import contextlib
import errno
import glob
import os
import tempfile
from pathlib import Path
from typing import IO, Iterator, Union

from errors import OutputError

PathLike = Union[str, "os.PathLike[str]"]
# errors that only a write gives: reported as an OutputError naming the destination
WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS})
_UMASK = os.umask(0)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_path(path: PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` when the block succeeds.

    For writers that want a file name rather than a file object (``torch.save``, ``np.save``,
    ``np.memmap``). On an exception the temporary file is removed and ``path`` is untouched.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise write_error(path, e) from e
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the file the usual permissions
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    except BaseException as e:
        tmp_path.unlink(missing_ok=True)
        if isinstance(e, OSError) and e.errno in WRITE_ERRNOS and not isinstance(e, OutputError):
            raise write_error(path, e) from e  # "No space left on device" alone names no file
        raise


def write_error(path: PathLike, error: OSError) -> OutputError:
    """An :class:`~errors.OutputError` naming ``path`` and saying why ``error`` stopped its write."""
    reason = error.strerror or str(error)
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        reason += " (the disk is full)"
    out = OutputError(f"cannot write {path}: {reason}")
    out.errno = error.errno
    return out


def remove_orphans(path: PathLike) -> list:
    """Remove the temporary files of ``path`` that an interrupted :func:`atomic_path` left (a
    killed process cannot clean up); returns their paths. Only for a path one process writes."""
    path = Path(path)
    orphans = sorted(path.parent.glob(f".{glob.escape(path.name)}.*.tmp")) if path.parent.is_dir() else []
    for orphan in orphans:
        orphan.unlink(missing_ok=True)
    return orphans


def check_writable(path: PathLike) -> None:
    """Raise :class:`~errors.OutputError` unless a file can be written at ``path``: its nearest
    existing folder must be a folder in which a file can be created. Creates nothing that stays."""
    path = Path(path)
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise OutputError(f"cannot write {path}: {folder} is not a folder")
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".probe", dir=folder)
    except OSError as e:
        raise OutputError(f"cannot write {path}: cannot create a file in {folder}: {e.strerror or e}") from e
    os.close(fd)
    os.unlink(probe)


@contextlib.contextmanager
def atomic_open(path: PathLike, mode: str = "w", **kwargs) -> Iterator[IO]:
    """``open(path, mode)`` that only becomes ``path`` once the block has finished without error."""
    if not any(m in mode for m in "wx"):
        raise ValueError(f"atomic_open is for writing; got mode {mode!r}")
    with atomic_path(path) as tmp:
        with open(tmp, mode.replace("x", "w"), **kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
