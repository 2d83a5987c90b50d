"""The ``train`` section of a recipe: the one training loop's settings (speech and images alike)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TrainConfig:
    """The one training loop's settings."""

    exp_dir: str = "exp/multilingual-synth"  # checkpoints, logs and results go here
    max_steps: int = 3000  # optimizer steps
    max_frames: int = 20000  # frames (10 ms) per batch, padding included
    lr: float = 2e-3  # peak learning rate (AdamW)
    warmup_steps: int = 300  # linear warm-up, then cosine decay to min_lr_ratio * lr
    min_lr_ratio: float = 0.05
    weight_decay: float = 0.01
    grad_clip: float = 5.0  # max gradient norm
    checkpoint_every: int = 500  # steps between checkpoints
    keep_checkpoints: int = 2  # older checkpoints are deleted
    log_every: int = 25  # steps between log lines / TensorBoard scalars
    seed: int = 0
    num_threads: int = 0  # torch intra-op threads; 0 keeps torch's default
    device: str = "auto"  # auto | cpu | cuda
