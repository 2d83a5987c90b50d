"""The ``train`` section of a recipe: the one training loop's settings (speech and images alike)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from speechtl.config import ranged
from speechtl.errors import RecipeError, shorten


@dataclass
class TrainConfig:
    """The one training loop's settings."""

    exp_dir: str = "exp/multilingual-synth"  # checkpoints, logs and results go here
    max_steps: int = ranged(3000, "[1, inf)")  # optimizer steps
    max_duration: float = ranged(200.0, "(0, inf)")  # seconds of audio per batch on each process (Lhotse's dynamic batches)
    accum_grad: int = ranged(1, "[1, inf)")  # batches per optimizer step (N batches here = N processes under torchrun)
    num_workers: int = ranged(0, "[0, inf)")  # DataLoader worker processes that read and featurise batches
    lr: float = ranged(2e-3, "(0, inf)")  # peak learning rate (AdamW)
    warmup_steps: int = ranged(300, "[0, inf)")  # linear warm-up, then cosine decay to min_lr_ratio * lr
    min_lr_ratio: float = ranged(0.05, "[0, 1]")
    weight_decay: float = ranged(0.01, "[0, inf)")
    grad_clip: float = ranged(5.0, "(0, inf)")  # max gradient norm
    checkpoint_every: int = ranged(500, "[1, inf)")  # steps between checkpoints
    keep_checkpoints: int = ranged(2, "[1, inf)")  # older checkpoints are deleted (those kept as the best on dev stay)
    valid_every: int = ranged(0, "[0, inf)")  # steps between dev evaluations (0: none); each writes a checkpoint
    average_best: int = ranged(0, "[0, inf)")  # the saved model averages the k best checkpoints on dev (0: the last weights)
    patience: int = ranged(0, "[0, inf)")  # stop after this many dev evaluations without improvement (0: never)
    log_every: int = ranged(25, "[1, inf)")  # steps between log lines / TensorBoard scalars
    seed: int = 0
    num_threads: int = ranged(0, "[0, inf)")  # torch intra-op threads; 0 keeps torch's default
    device: str = "auto"  # auto | cpu | cuda (or cuda:N)
    amp: bool = False  # mixed precision: bfloat16 autocast (float32 weights; meant for CUDA, works on CPU)

    def validate(self) -> None:
        if not re.fullmatch(r"auto|cpu|cuda(:\d+)?", self.device):
            raise RecipeError(f"train.device: {shorten(repr(self.device))}; expected auto, cpu, cuda or cuda:N")
