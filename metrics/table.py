"""The paper-style results table: one row per scene and an overall row.

Ratios print as percentages with one decimal, counts as integers, undefined values as ``-``.
The compact form shows the headline metrics of each family (:data:`COMPACT`); the wide form every
metric of the report.
"""
from __future__ import annotations

import math
from typing import Mapping, Sequence

from metrics.evaluate import COUNT_METRICS, METRICS, EvalReport

# The columns of the compact table: the headline metrics of each family, in family order.
COMPACT = ("MOTA", "IDF1", "MVIDF1", "MVMA", "CVIDF1", "CVMA", "HOTA", "DetA", "AssA", "CVHOTA", "STMA5", "STMA10",
           "STMA30")


def format_value(name: str, value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if name in COUNT_METRICS:
        return str(int(value))
    return f"{round(100.0 * value, 1) + 0.0:.1f}"  # + 0.0: a tiny negative prints as 0.0, not -0.0


def format_rows(rows: Mapping[str, Mapping], columns: Sequence[str] = METRICS, label: str = "Scene") -> str:
    """Right-aligned text table of ``{row name: {metric: value}}``."""
    header = [label, *columns]
    body = [[str(name), *(format_value(c, values.get(c)) for c in columns)] for name, values in rows.items()]
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(r, widths)))
             for r in [header, *body]]
    lines.insert(1, "-" * len(lines[0]))
    lines.insert(len(lines) - 1, "-" * len(lines[0]))
    return "\n".join(lines)


def report_columns(report: EvalReport, wide: bool = False) -> tuple:
    """The table's columns: every metric the report holds (``wide``), or those of them in :data:`COMPACT`."""
    columns = report.columns()
    return columns if wide else tuple(c for c in columns if c in COMPACT)


def format_report(report: EvalReport, wide: bool = False, markdown: bool = False) -> str:
    """Per-scene rows and an ``Overall`` row: a text table, or a Markdown one; compact or ``wide``."""
    rows = {name: report.scene_metrics(name) for name in report.scenes}
    rows["Overall"] = report.overall_metrics()
    columns = report_columns(report, wide)
    return markdown_rows(rows, columns, label="Scene") if markdown else format_rows(rows, columns)


def markdown_rows(rows: Mapping[str, Mapping], columns: Sequence[str], label: str = "Setting",
                  extra: Mapping[str, Mapping[str, str]] = None) -> str:
    """A Markdown table of ``{row name: {metric: value}}``; ``extra[row][column]`` adds ready-made
    text columns (e.g. wall time) after the metrics."""
    extra = extra or {}
    extra_cols = list(dict.fromkeys(c for cells in extra.values() for c in cells))
    lines = ["| " + " | ".join([label, *columns, *extra_cols]) + " |",
             "|" + "---|" + "---:|" * (len(columns) + len(extra_cols))]
    for name, values in rows.items():
        cells = [format_value(c, values.get(c)) for c in columns]
        cells += [extra.get(name, {}).get(c, "") for c in extra_cols]
        lines.append("| " + " | ".join([str(name), *cells]) + " |")
    return "\n".join(lines)
