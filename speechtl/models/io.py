"""Save and load acoustic models (safetensors weights + JSON recipe and inventories)."""

from __future__ import annotations

from pathlib import Path

import torch

from speechtl.errors import CheckpointError, RecipeError
from speechtl.models.acoustic import AcousticModel
from speechtl.recipe import Recipe
from speechtl.text.inventory import Inventory
from speechtl.text.subword import from_base64, to_base64
from speechtl.training.checkpoint import load_model_files, save_model_files

KIND = "acoustic-model"


def model_metadata(model: AcousticModel, **extra) -> dict:
    """What, beside the weights, rebuilds the model: recipe and inventories."""
    meta = {
        "kind": KIND,
        "recipe": model.recipe.to_dict(),
        "inventories": {lang: inv.tokens for lang, inv in model.inventories.items()},
        **extra,
    }
    if model.unit_models:
        meta["unit_models"] = {lang: to_base64(m) for lang, m in model.unit_models.items()}
    return meta


def save_model(model: AcousticModel, stem: str | Path, **extra) -> None:
    """Write ``stem.safetensors`` + ``stem.json``."""
    save_model_files(model.state_dict(), model_metadata(model, **extra), Path(stem))


def model_from_metadata(meta: dict, source: str = "model") -> AcousticModel:
    if meta.get("kind") != KIND:
        raise CheckpointError(f"{source}: holds a {meta.get('kind')!r}, not an acoustic model")
    try:
        recipe = Recipe.from_dict(meta["recipe"])
        inventories = {lang: Inventory.from_tokens(toks) for lang, toks in meta["inventories"].items()}
        unit_models = {lang: from_base64(m) for lang, m in meta.get("unit_models", {}).items()}
    except (KeyError, ValueError, RecipeError) as err:
        raise CheckpointError(f"{source}: malformed model metadata: {err}") from None
    model = AcousticModel(recipe, inventories)
    model.unit_models = unit_models
    return model


def load_model(path: str | Path, device: str | torch.device = "cpu") -> AcousticModel:
    """Load a model saved by :func:`save_model` (or a checkpoint / experiment directory).

    Raises:
        CheckpointError: the files are missing, not ours, or do not fit together.
    """
    state, meta = load_model_files(path)
    model = model_from_metadata(meta, str(path))
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        raise CheckpointError(f"{path}: weights do not fit the recorded model: {err}") from None
    return model.to(device).eval()
