"""Training machinery: the loop, checkpoints, distributed set-up, schedules, validation, logs."""
