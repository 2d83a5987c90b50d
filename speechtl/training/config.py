"""The ``train`` section of a recipe: the one training loop's settings (speech and images alike)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TrainConfig:
    """The one training loop's settings."""

    exp_dir: str = "exp/multilingual-synth"  # checkpoints, logs and results go here
    max_steps: int = 3000  # optimizer steps
    max_duration: float = 200.0  # seconds of audio per batch on each process (Lhotse's dynamic batches)
    accum_grad: int = 1  # batches per optimizer step (N batches here = N processes under torchrun)
    num_workers: int = 0  # DataLoader worker processes that read and featurise batches
    lr: float = 2e-3  # peak learning rate (AdamW)
    warmup_steps: int = 300  # linear warm-up, then cosine decay to min_lr_ratio * lr
    min_lr_ratio: float = 0.05
    weight_decay: float = 0.01
    grad_clip: float = 5.0  # max gradient norm
    checkpoint_every: int = 500  # steps between checkpoints
    keep_checkpoints: int = 2  # older checkpoints are deleted (those kept as the best on dev stay)
    valid_every: int = 0  # steps between dev evaluations (0: none); each writes a checkpoint
    average_best: int = 0  # the saved model averages the k best checkpoints on dev (0: the last weights)
    patience: int = 0  # stop after this many dev evaluations without improvement (0: never)
    log_every: int = 25  # steps between log lines / TensorBoard scalars
    seed: int = 0
    num_threads: int = 0  # torch intra-op threads; 0 keeps torch's default
    device: str = "auto"  # auto | cpu | cuda
