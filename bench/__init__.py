"""Benchmarks, each run as a module from the repository root: ``python -m bench.<name>``
(``bench/gpu_check.sh`` runs the CUDA ones). Each prints ratios measured in one run."""
