"""The ``model`` section of a speech recipe: the shared encoder's shape."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ModelConfig:
    """Shared encoder; per-language CTC heads are sized from the inventories."""

    encoder: str = "conformer"  # encoder name (see speechtl.models.encoders)
    dim: int = 144  # model width
    layers: int = 4  # encoder blocks
    heads: int = 4  # attention heads (conformer)
    ff_dim: int = 576  # feed-forward width (conformer)
    kernel_size: int = 15  # depthwise conv kernel (conformer) / tdnn kernel
    subsampling: int = 4  # time reduction of the conv front end: 1, 2 or 4
    dropout: float = 0.1
    attributes: float = 0.0  # weight of the articulatory-attribute CTC term; > 0 adds attribute detectors (zero-shot phonemes)
