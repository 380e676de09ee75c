"""Datasets in the MvMHAT layout: ``datasets.synthetic`` (a subpackage) generates the built-in
synthetic one; converters of other datasets will sit beside it."""
