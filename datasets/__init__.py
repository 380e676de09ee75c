"""Datasets in the MvMHAT layout; ``datasets.synthetic`` generates the built-in synthetic one."""
