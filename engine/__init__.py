"""Training machinery: a whole run (``training_run``), the loop (``trainer``), checkpoints and the
network a checkpoint describes (``checkpoint``), distributed set-up (``distributed``), the
forward pass over crops (``embed``, shared with :mod:`pipeline`), crop augmentation
(``augment``), schedules, validation and logs. Per-scene inference lives in :mod:`pipeline`."""
