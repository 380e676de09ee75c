"""Datasets in the MvMHAT layout: ``datasets.synthetic`` (a subpackage) generates the built-in
synthetic one, ``datasets.toy`` writes tiny random ones for tests and benchmarks,
``datasets.convert`` turns downloaded datasets into the layout and ``datasets.check`` reports what a
dataset holds and what is wrong with it."""
