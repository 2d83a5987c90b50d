"""Image recipes (``task: image``): the same typed YAML, training loop and transfer section as speech."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from speechtl.config import from_dict, ranged, to_dict
from speechtl.errors import RecipeError, shorten
from speechtl.training.config import TrainConfig
from speechtl.transfer.config import TransferConfig


@dataclass
class ImageDataConfig:
    """Which images train and test."""

    source: str = "digits"  # labelled domain: digits | digits-m
    target: str = ""  # unlabelled target domain for DANN ("" = none), e.g. digits-m
    eval_domains: list[str] = field(default_factory=list)  # also report accuracy on these domains' test images
    classes: list[int] = ranged(default_factory=lambda: list(range(10)), interval="[0, 9]")  # digit classes trained on
    shots: int = ranged(0, "[0, inf)")  # labelled training images per class (0 = all)
    test_fraction: float = ranged(0.3, "(0, 1)")  # share of each class held out for test
    dev_fraction: float = ranged(0.15, "[0, 1)")  # share of each class's other images held out for dev (settings are chosen there)
    split_seed: int = 0  # which images are test images (fixed across training seeds)
    size: int = ranged(16, "[4, 1024]")  # images are resized to size x size
    batch_size: int = ranged(64, "[1, inf)")  # images per batch (split evenly between domains when target is set)

    def validate(self) -> None:
        if len(set(self.classes)) < 2 or len(set(self.classes)) != len(self.classes):
            raise RecipeError(f"data.classes: {shorten(self.classes)}; expected at least two distinct digits 0-9")


@dataclass
class ImageModelConfig:
    """The backbone and its classifier (sized from data.classes)."""

    backbone: str = "cnn"  # cnn | torchvision
    width: int = ranged(16, "[1, inf)")  # cnn: channels of the stem and first block
    dim: int = ranged(128, "[1, inf)")  # cnn: feature width (out_dim)
    dropout: float = ranged(0.1, "[0, 1)")
    torchvision_name: str = "resnet18"  # torchvision: model name (never pretrained: nothing downloads)


@dataclass
class ImageRecipe:
    """An image experiment: data, model, training and transfer methods."""

    name: str = "image-experiment"
    task: Literal["image"] = "image"
    data: ImageDataConfig = field(default_factory=ImageDataConfig)
    model: ImageModelConfig = field(default_factory=ImageModelConfig)
    train: TrainConfig = field(default_factory=lambda: TrainConfig(
        exp_dir="exp/image", max_steps=600, lr=2e-3, warmup_steps=50, checkpoint_every=600, log_every=50))
    transfer: TransferConfig = field(default_factory=TransferConfig)

    @classmethod
    def from_dict(cls, data: dict) -> "ImageRecipe":
        return from_dict(cls, data)

    def to_dict(self) -> dict:
        return to_dict(self)
