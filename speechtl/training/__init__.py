"""Training: the one loop, checkpoints, distributed set-up, logging."""
