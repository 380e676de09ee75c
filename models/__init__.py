"""Crop-embedding network (``embedding``: backbone + head) and the MvMHAT self-supervised losses
(``losses``, built from the batched operations in ``loss_ops``; ``loss_reference`` is the same
losses as plain loops, the parity reference of the tests and the loss benchmark)."""
