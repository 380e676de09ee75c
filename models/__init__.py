"""Crop-embedding network (backbone + head) and the MvMHAT self-supervised losses."""
