"""An image classifier over any image backbone, and its files (safetensors + JSON, never pickle)."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from speechtl.errors import CheckpointError, RecipeError
from speechtl.training.checkpoint import load_model_files, save_model_files
from speechtl.vision.backbones import IMAGE_BACKBONES
from speechtl.vision.recipe import ImageRecipe

KIND = "image-model"


class ImageModel(nn.Module):
    """Backbone + linear classifier over ``class_names``.

    Satisfies the backbone contract itself (``model(x, None) -> (features, None)``,
    ``out_dim``), like the speech :class:`~speechtl.models.acoustic.AcousticModel`.

    Example:
        >>> hidden, _ = model(images)            # (B, 3, S, S) -> (B, out_dim)
        >>> logits = model.classify(hidden)      # (B, len(class_names))
    """

    def __init__(self, recipe: ImageRecipe) -> None:
        super().__init__()
        self.recipe = recipe
        self.class_names = [str(c) for c in recipe.data.classes]
        self.backbone = IMAGE_BACKBONES.get(recipe.model.backbone)(recipe.model, recipe.data.size)
        self.classifier = nn.Linear(self.backbone.out_dim, len(self.class_names))

    @property
    def out_dim(self) -> int:
        return self.backbone.out_dim

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> tuple[torch.Tensor, None]:
        return self.backbone(x, None)

    def classify(self, hidden: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """``(batch, classes)`` logits from backbone features ``(batch, out_dim)``."""
        return self.classifier(hidden)


def image_model_metadata(model: ImageModel) -> dict:
    return {"kind": KIND, "recipe": model.recipe.to_dict()}


def save_image_model(model: ImageModel, stem: str | Path, extra_state: dict[str, torch.Tensor] | None = None
                     ) -> None:
    """Write ``stem.safetensors`` + ``stem.json``; ``extra_state`` (``transfer.*`` method weights) rides along."""
    state = dict(model.state_dict())
    state.update(extra_state or {})
    save_model_files(state, image_model_metadata(model), Path(stem))


def load_image_model(path: str | Path, device: str | torch.device = "cpu"
                     ) -> tuple[ImageModel, dict[str, torch.Tensor]]:
    """Load a model saved by :func:`save_image_model`; returns it and the ``transfer.*`` weights.

    Raises:
        CheckpointError: missing files, not an image model, or weights that do not fit.
    """
    state, meta = load_model_files(path)
    if meta.get("kind") != KIND:
        raise CheckpointError(f"{path}: holds a {meta.get('kind')!r}, not an image model")
    try:
        model = ImageModel(ImageRecipe.from_dict(meta["recipe"]))
    except (KeyError, RecipeError) as err:
        raise CheckpointError(f"{path}: malformed image model metadata: {err}") from None
    extra = {k: v for k, v in state.items() if k.startswith("transfer.")}
    try:
        model.load_state_dict({k: v for k, v in state.items() if not k.startswith("transfer.")})
    except RuntimeError as err:
        raise CheckpointError(f"{path}: weights do not fit the recorded model: {err}") from None
    return model.to(device).eval(), extra
