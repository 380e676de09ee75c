"""Summable count records and the one ratio helper every metric uses.

Metrics keep their raw counts as integers per sequence (plus the few float sums a ratio needs,
such as the sum of ``1 - IoU`` over matches); pooling adds the records field by field and every
ratio is computed once, from the pooled counts (as TrackEval's ``combine_sequences``).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Iterable, TypeVar

C = TypeVar("C", bound="Counts")


@dataclass
class Counts:
    """Base of the count records: ``a + b`` adds every field; ``Type.total(items)`` sums a list."""

    def __add__(self: C, other: C) -> C:
        if type(other) is not type(self):
            return NotImplemented
        return type(self)(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})

    @classmethod
    def total(cls: type[C], items: Iterable[C]) -> C:
        out = cls()
        for item in items:
            out = out + item
        return out

    def as_dict(self) -> dict:
        return asdict(self)


def ratio(num: float, den: float) -> float:
    """``num / den``, NaN when ``den`` is 0 (an undefined metric, written as ``null`` in JSON)."""
    return num / den if den else math.nan
