"""Speech recipes: the typed configuration of a speech experiment.

A recipe is plain YAML (see ``recipes/``) loaded into dataclasses; each section
is defined in the layer that reads it (``data`` in :mod:`speechtl.data.config`,
``model`` in :mod:`speechtl.models.config`, ``train`` in
:mod:`speechtl.training.config`, ...). Each field carries a one-line comment;
``speechtl train RECIPE --set train.max_steps=100`` overrides any of them with a
type check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from speechtl.config import from_dict, to_dict
from speechtl.data.config import DataConfig, FeatureConfig, SpecAugmentConfig
from speechtl.decoding.config import DecodeConfig
from speechtl.models.config import ModelConfig
from speechtl.text.units import UnitConfig
from speechtl.training.config import TrainConfig
from speechtl.transfer.config import PretrainConfig, TransferConfig


@dataclass
class Recipe:
    """A whole experiment: data, features, model, output units, training, decoding, transfer (and pre-training)."""

    name: str = "experiment"
    task: Literal["speech"] = "speech"  # image recipes say `task: image` (speechtl.tasks.image.recipe)
    data: DataConfig = field(default_factory=DataConfig)
    features: FeatureConfig = field(default_factory=FeatureConfig)
    specaugment: SpecAugmentConfig = field(default_factory=SpecAugmentConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    units: UnitConfig = field(default_factory=UnitConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    decode: DecodeConfig = field(default_factory=DecodeConfig)
    transfer: TransferConfig = field(default_factory=TransferConfig)
    pretrain: PretrainConfig = field(default_factory=PretrainConfig)  # speechtl pretrain: BEST-RQ on unlabelled audio

    @classmethod
    def from_dict(cls, data: dict) -> "Recipe":
        return from_dict(cls, data)

    def to_dict(self) -> dict:
        return to_dict(self)
