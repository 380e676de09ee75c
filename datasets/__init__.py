"""Datasets in the MvMHAT layout: ``datasets.synthetic`` (a subpackage) generates the built-in
synthetic one, ``datasets.toy`` writes tiny random ones for tests and benchmarks; converters of
other datasets will sit beside them."""
