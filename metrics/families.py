"""The names of the metric families, with no dependency: :mod:`metrics.evaluate` computes them
and ``config.py`` checks ``eval.metrics`` against them without importing the metrics code."""

FAMILIES = ("official", "cv", "hota", "stma")  # in the order reports list them
