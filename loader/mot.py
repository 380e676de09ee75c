"""MOTChallenge text files: ``frame,id,x,y,w,h,conf,x,y,z`` one box per line.

Reading accepts comma- or whitespace-separated rows with at least 6 numeric columns (blank lines
are skipped). Rows are returned as one float64 array of shape ``(N, C)`` with
``C = max(10, widest row)``; optional columns a row does not have are filled with ``-1`` (the MOT
convention for "not given"). Column meaning: see ``MOT_COLUMNS``; the box is ``tlwh`` in pixels.

Every malformed row raises :class:`MotFormatError`, which names the file, the 1-based line number
and the problem. Writing goes through :func:`atomic.atomic_open`.
"""
from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Iterable, Sequence, Union

import numpy as np

from atomic import atomic_open
from errors import KnownError

MOT_COLUMNS = ("frame", "id", "x", "y", "w", "h", "conf", "wx", "wy", "wz")
FRAME, ID, X, Y, W, H, CONF = range(7)
MIN_COLUMNS = 6

_SPLIT = re.compile(r"[,\s]+")


class MotFormatError(KnownError, ValueError):
    """A malformed MOT row: ``str(err)`` is ``"<file>:<line>: <problem>"``."""

    def __init__(self, source: str, line: int, problem: str):
        super().__init__(f"{source}:{line}: {problem}")
        self.source, self.line, self.problem = source, line, problem


def _row_error(source: str, lineno: int, fields: Sequence[str]) -> MotFormatError:
    """Explain why one tokenised row is not a valid MOT row (called only for bad rows)."""
    if len(fields) < MIN_COLUMNS:
        return MotFormatError(source, lineno, f"expected at least {MIN_COLUMNS} columns, got {len(fields)}")
    values = []
    for col, text in enumerate(fields):
        try:
            values.append(float(text))
        except ValueError:
            name = MOT_COLUMNS[col] if col < len(MOT_COLUMNS) else f"column {col + 1}"
            return MotFormatError(source, lineno, f"non-numeric {name} field {text!r}")
    return _check_values(source, lineno, np.asarray(values)) or MotFormatError(source, lineno, "invalid row")


def _check_values(source: str, lineno: int, v: np.ndarray) -> MotFormatError | None:
    if not np.all(np.isfinite(v)):
        return MotFormatError(source, lineno, "non-finite value (nan or inf)")
    for col in (FRAME, ID):
        if v[col] != np.round(v[col]):
            return MotFormatError(source, lineno, f"non-integer {MOT_COLUMNS[col]} {float(v[col])!r}")
    if v[FRAME] < 0:
        return MotFormatError(source, lineno, f"negative frame {int(v[FRAME])}")
    for col in (W, H):
        if v[col] <= 0:
            return MotFormatError(source, lineno, f"{MOT_COLUMNS[col]} must be positive, got {float(v[col])!r}")
    return None


def parse_mot_lines(lines: Iterable[str], source: str = "<string>") -> np.ndarray:
    """Parse MOT rows from text lines; ``source`` names the input in error messages."""
    tokens: list[list[str]] = []
    linenos: list[int] = []
    for lineno, line in enumerate(lines, start=1):
        line = line.strip()
        if not line:
            continue
        tokens.append(_SPLIT.split(line.strip(",")))
        linenos.append(lineno)
    if not tokens:
        return np.zeros((0, len(MOT_COLUMNS)), dtype=np.float64)

    lengths = np.fromiter((len(t) for t in tokens), dtype=np.int64, count=len(tokens))
    short = np.flatnonzero(lengths < MIN_COLUMNS)
    if short.size:
        i = int(short[0])
        raise _row_error(source, linenos[i], tokens[i])
    width = max(len(MOT_COLUMNS), int(lengths.max()))
    rows = np.full((len(tokens), width), -1.0, dtype=np.float64)
    flat = [f for t in tokens for f in t]
    try:
        values = np.array(flat, dtype=np.float64)
    except ValueError:
        for i, t in enumerate(tokens):  # slow path only to name the bad line
            try:
                np.array(t, dtype=np.float64)
            except ValueError:
                raise _row_error(source, linenos[i], t) from None
        raise
    # scatter the ragged rows into the padded table
    row_idx = np.repeat(np.arange(len(tokens)), lengths)
    col_idx = np.arange(values.size) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    rows[row_idx, col_idx] = values

    bad = ~np.isfinite(rows).all(axis=1)
    bad |= rows[:, FRAME] != np.round(rows[:, FRAME])
    bad |= rows[:, ID] != np.round(rows[:, ID])
    bad |= rows[:, FRAME] < 0
    bad |= (rows[:, W] <= 0) | (rows[:, H] <= 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise _check_values(source, linenos[i], rows[i, : lengths[i]])
    return rows


def read_mot(path: Union[str, Path]) -> np.ndarray:
    """Read a MOT text file into a float64 ``(N, C>=10)`` array (see the module docstring).

    A missing file raises ``FileNotFoundError`` naming the path; a malformed row or a byte that is
    not UTF-8 raises :class:`MotFormatError`. An empty file gives an ``(0, 10)`` array.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"MOT file not found: {path}")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = len((data[:e.start] + b"x").splitlines())  # the line the bad byte is on, 1-based
        column = e.start - max(data.rfind(b"\n", 0, e.start), data.rfind(b"\r", 0, e.start))
        raise MotFormatError(str(path), line, f"byte 0x{data[e.start]:02x} at column {column} is not UTF-8 text; "
                                              f"a MOT file holds numbers only") from None
    return parse_mot_lines(io.StringIO(text, newline=None), source=str(path))


def format_mot(rows: np.ndarray, precision: int = 2) -> str:
    """Format rows as MOT text: integer frame and id, ``precision`` decimals for the box."""
    rows = np.asarray(rows, dtype=np.float64)
    if rows.ndim != 2 or (rows.size and rows.shape[1] < MIN_COLUMNS):
        raise ValueError(f"MOT rows must have shape (N, >={MIN_COLUMNS}), got {rows.shape}")
    box = f"%.{precision}f"
    out = []
    for r in rows:
        fields = [str(int(r[FRAME])), str(int(r[ID]))]
        fields += [box % v for v in r[X:H + 1]]
        fields += ["%.6g" % v for v in r[H + 1:]]
        out.append(",".join(fields))
    return "\n".join(out) + ("\n" if out else "")


def write_mot(path: Union[str, Path], rows: np.ndarray, precision: int = 2, sort: bool = True) -> None:
    """Write rows (shape ``(N, >=6)``) as a MOT text file, atomically.

    With ``sort`` the rows are written ordered by frame, then id.
    """
    rows = np.asarray(rows, dtype=np.float64)
    if rows.size == 0:
        rows = rows.reshape(0, len(MOT_COLUMNS))
    if sort and rows.ndim == 2 and len(rows):
        rows = rows[np.lexsort((rows[:, ID], rows[:, FRAME]))]
    text = format_mot(rows, precision)
    with atomic_open(path, "w", encoding="utf-8") as f:
        f.write(text)


def corners_to_tlwh(boxes: np.ndarray, width: int, height: int) -> tuple:
    """Corner boxes ``(N, 4)`` ``x1, y1, x2, y2`` clipped to ``[0, width] x [0, height]`` as
    ``x, y, w, h``; returns ``(tlwh, keep)`` with ``keep`` False where nothing is left inside."""
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    x1, x2 = np.clip(b[:, 0], 0, width), np.clip(b[:, 2], 0, width)
    y1, y2 = np.clip(b[:, 1], 0, height), np.clip(b[:, 3], 0, height)
    tlwh = np.stack([x1, y1, x2 - x1, y2 - y1], axis=1)
    return tlwh, (tlwh[:, 2] > 0) & (tlwh[:, 3] > 0)
