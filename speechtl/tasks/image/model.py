"""An image classifier over any image backbone, and its files (safetensors + JSON, never pickle)."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from speechtl.config import check_value, from_dict, to_dict
from speechtl.errors import CheckpointError, RecipeError, shorten
from speechtl.files import load_model_files, load_weights, save_model_files
from speechtl.tasks.image.backbones import IMAGE_BACKBONES
from speechtl.tasks.image.recipe import ImageModelConfig

KIND = "image-model"


class ImageModel(nn.Module):
    """Backbone + linear classifier over ``class_names``.

    Satisfies the backbone contract itself (``model(x, None) -> (features, None)``,
    ``out_dim``), like the speech :class:`~speechtl.models.acoustic.AcousticModel`.

    Args:
        backbone: ``(B, 3, S, S) -> ((B, out_dim), None)``.
        class_names: the classes the classifier names, in output order.

    Example:
        >>> model = build_image_model(ImageModelConfig(width=4, dim=8), 16, ["0", "1"])
        >>> hidden, _ = model(torch.zeros(2, 3, 16, 16))
        >>> model.classify(hidden).shape
        torch.Size([2, 2])
    """

    def __init__(self, backbone: nn.Module, class_names: list[str]) -> None:
        super().__init__()
        self.class_names = list(class_names)
        self.backbone = backbone
        self.classifier = nn.Linear(self.backbone.out_dim, len(self.class_names))

    @property
    def out_dim(self) -> int:
        return self.backbone.out_dim

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> tuple[torch.Tensor, None]:
        return self.backbone(x, None)

    def classify(self, hidden: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """``(batch, classes)`` logits from backbone features ``(batch, out_dim)``."""
        return self.classifier(hidden)


def build_image_model(cfg: ImageModelConfig, size: int, class_names: list[str]) -> ImageModel:
    """The backbone ``cfg.backbone`` for ``size`` x ``size`` images, with a classifier over ``class_names``."""
    return ImageModel(IMAGE_BACKBONES.get(cfg.backbone)(cfg, size), class_names)


def image_model_metadata(model: ImageModel, cfg: ImageModelConfig, size: int, **extra) -> dict:
    """What, beside the weights, rebuilds the model (plus ``extra``: the recipe, label spaces)."""
    return {"kind": KIND, "model": to_dict(cfg), "size": size, "classes": model.class_names, **extra}


def save_image_model(model: ImageModel, stem: str | Path, cfg: ImageModelConfig, size: int,
                     extra_state: dict[str, torch.Tensor] | None = None, **extra) -> None:
    """Write ``stem.safetensors`` + ``stem.json``; ``extra_state`` (``transfer.*`` method weights) rides along."""
    save_model_files({**model.state_dict(), **(extra_state or {})}, image_model_metadata(model, cfg, size, **extra),
                     Path(stem))


def load_image_model(path: str | Path, device: str | torch.device = "cpu"
                     ) -> tuple[ImageModel, dict[str, torch.Tensor], dict]:
    """Load a model saved by :func:`save_image_model`: ``(model, transfer.* weights, metadata)``.

    Raises:
        CheckpointError: missing files, not an image model, or weights that do not fit.
    """
    state, meta = load_model_files(path)
    if meta.get("kind") != KIND:
        raise CheckpointError(f"{path}: holds a {str(meta.get('kind'))[:40]!r}, not an image model")
    try:
        classes = check_value(meta["classes"], list[str | int], "classes")
        if len(classes) < 2:
            raise RecipeError(f"classes: {shorten(classes)}; expected at least two")
        model = build_image_model(from_dict(ImageModelConfig, meta["model"], "model"),
                                  check_value(meta["size"], int, "size", "[4, 1024]"), [str(c) for c in classes])
    except (KeyError, TypeError, ValueError, RecipeError) as err:
        raise CheckpointError(f"{path}: malformed image model metadata: {shorten(err, 300)}") from None
    extra = load_weights(model, state, str(path))
    return model.to(device).eval(), extra, meta
