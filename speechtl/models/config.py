"""The ``model`` section of a speech recipe: the shared encoder's shape."""

from __future__ import annotations

from dataclasses import dataclass

from speechtl.config import ranged
from speechtl.errors import RecipeError


@dataclass
class ModelConfig:
    """Shared encoder; per-language CTC heads are sized from the inventories."""

    encoder: str = "conformer"  # encoder name (see speechtl.models.encoders)
    dim: int = ranged(144, "[1, inf)")  # model width
    layers: int = ranged(4, "[1, inf)")  # encoder blocks
    heads: int = ranged(4, "[1, inf)")  # attention heads (conformer)
    ff_dim: int = ranged(576, "[1, inf)")  # feed-forward width (conformer)
    kernel_size: int = ranged(15, "[1, inf)")  # depthwise conv kernel (conformer) / tdnn kernel
    subsampling: int = ranged(4, "[1, 4]")  # time reduction of the conv front end: 1, 2 or 4
    dropout: float = ranged(0.1, "[0, 1)")
    attributes: float = ranged(0.0, "[0, inf)")  # weight of the articulatory-attribute CTC term; > 0 adds attribute detectors (zero-shot phonemes)

    def validate(self) -> None:
        if self.subsampling not in (1, 2, 4):
            raise RecipeError(f"model.subsampling: {self.subsampling}; expected 1, 2 or 4")
        if self.kernel_size % 2 == 0:
            raise RecipeError(f"model.kernel_size: {self.kernel_size}; expected an odd width (the convolutions "
                              "are centred)")
