"""The speech task's model: built from the recipe's sections, started from a source model's heads."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import torch

from speechtl.data.config import FeatureConfig
from speechtl.errors import RecipeError
from speechtl.models.acoustic import AcousticModel, AcousticModelConfig, build_acoustic_model
from speechtl.models.ctc_checkpoint import has_ctc_head, read_ctc_checkpoint, restricted_head
from speechtl.models.pretrained import load_pretrained, read_pretrained
from speechtl.models.ssl import frozen_parameters
from speechtl.tasks.speech.recipe import Recipe
from speechtl.text.inventory import Inventory
from speechtl.transfer import layer_transfer

log = logging.getLogger(__name__)


# a gain before the same filterbanks, whose global CMVN statistics are refitted on the new training data:
# a source trained without level normalisation can be fine-tuned with it (the way to train it in)
LEVEL_FREE = ("level_dbfs",)


def check_source_features(source: FeatureConfig, recipe: FeatureConfig, path: str,
                          what: str = "transfer.source") -> None:
    """Refuse a model that read other features than the recipe makes (its weights would read nonsense): a
    ``transfer.source``, or (``what="model"``) a model scored on another recipe's data (``speechtl eval --recipe``).
    The level step (``features.level_dbfs``) may differ: a model can be fine-tuned or scored with it.

    Raises:
        RecipeError: naming each setting that differs, the model's value and the recipe's.
    """
    differ = [f"features.{f.name}: {getattr(source, f.name)!r} there, {getattr(recipe, f.name)!r} here"
              for f in dataclasses.fields(FeatureConfig)
              if getattr(source, f.name) != getattr(recipe, f.name) and f.name not in LEVEL_FREE]
    if differ:
        raise RecipeError(f"{what} {path} was trained on other features than this recipe makes "
                          f"({'; '.join(differ)}); set the recipe's features as the {what.split('.')[-1]}'s")


def model_config(recipe: Recipe) -> AcousticModelConfig:
    """The recipe sections an acoustic model is made from."""
    return AcousticModelConfig(recipe.features, recipe.specaugment, recipe.model, recipe.units)


def build_model(recipe: Recipe, inventories: dict[str, Inventory]) -> AcousticModel:
    """A fresh acoustic model for the recipe with one head per inventory.

    With ``model.pretrained`` the encoder has the checkpoint's architecture (stored in the
    model's config, so the trained model rebuilds without the checkpoint) and starts from its
    weights; ``model.ssl`` says which of them stay fixed. A whole CTC phoneme checkpoint also
    starts each language head (:func:`start_from_recogniser`).
    """
    config, state = model_config(recipe), None
    if recipe.model.pretrained:
        architecture, state = read_pretrained(recipe.model.pretrained, recipe.model)
        config = dataclasses.replace(config, model=architecture)
    model = build_acoustic_model(config, inventories)
    if state is not None:
        path = Path(recipe.model.pretrained)
        what = "its config.json" if path.is_dir() else f"model.ssl.preset {recipe.model.ssl.preset}" \
            if recipe.model.ssl.preset else "the recipe's model section"
        load_pretrained(model.encoder, state, model.encoder.final_norm is None, recipe.model.pretrained, what)
        if has_ctc_head(path):  # a whole recogniser: its phoneme head too
            start_from_recogniser(model, path, recipe.features)
        fixed = [f"encoder.{n}" for n in frozen_parameters(model.encoder, recipe.model.ssl)]
        if fixed:
            layer_transfer.freeze(model, fixed)
            log.info("model.ssl: %d pretrained parameter tensors fixed", len(fixed))
    return model


def start_from_recogniser(model: AcousticModel, path: Path, features: FeatureConfig) -> None:
    """Each language head from a CTC checkpoint's universal head, restricted to the language's inventory.

    Raises:
        RecipeError: the recipe's features are not those the checkpoint reads (named, both values).
    """
    recogniser, _ = read_ctc_checkpoint(path)
    differ = [f"features.{name}: {getattr(recogniser.features, name)!r} there, {getattr(features, name)!r} here"
              for name in ("kind", "sample_rate", "frame_shift_ms", "cmvn")
              if getattr(recogniser.features, name) != getattr(features, name)]
    if differ:
        raise RecipeError(f"model.pretrained {path} reads other features than this recipe makes "
                          f"({'; '.join(differ)}); set the recipe's features as the checkpoint's")
    for language, inventory in model.inventories.items():
        head, mapped = restricted_head(recogniser.heads, inventory)
        model.heads.put(language, inventory, head)
        log.info("model.pretrained: the %s head starts from the checkpoint's phoneme head (%d phonemes from "
                 "their nearest output)", language, len(mapped))


def source_inventories(source: AcousticModel | None, inventories: dict[str, Inventory]) -> dict[str, Inventory]:
    """Keep a source model's inventory for each language it covers, so its head can be copied."""
    if source is None:
        return inventories
    out = {}
    for lang, inv in inventories.items():
        old = source.inventories.get(lang)
        out[lang] = old if old is not None and set(inv.tokens) <= set(old.tokens) else inv
    return out


def start_heads(model: AcousticModel, source: AcousticModel, init_new: bool, kept: list[str]) -> None:
    """Heads of a model trained from ``source``: new languages' rows from the source's heads; kept heads frozen.

    Args:
        init_new: a head the source lacks (or whose inventory the new data outgrows) starts
            each symbol the source knows from the source's row for it (blank and ``|`` included),
            and, when the source has attribute detectors, each other phoneme from its
            attribute-composed row (:meth:`~speechtl.models.attributes.AttributeDetectors.compose_head`).
        kept: source languages the training data lacks; their heads (copied later with the
            other source weights) are frozen, so they stay bit-identical.
    """
    for lang in model.languages:
        old, inventory = source.inventories.get(lang), model.inventories[lang]
        if old is not None and old.tokens == inventory.tokens:
            continue  # the source's head fits as it is
        if old is not None:
            extra = sorted(set(inventory.tokens) - set(old.tokens))
            log.warning("%s: the training data has phonemes the source model's %s head lacks (%s); "
                        "the head is rebuilt over the new inventory", lang, lang, " ".join(extra))
        if init_new:
            head = model.heads.add(lang, inventory, init_from=source.heads)
            if source.attributes is not None:  # phonemes no source head has: rows composed from attributes
                composed = source.attributes.compose_head(inventory, trained=source.inventories.values())
                unseen = [i for i, s in enumerate(inventory.tokens)
                          if not any(s in inv for inv in source.inventories.values())]
                with torch.no_grad():
                    head.weight[unseen] = composed.weight[unseen]
                    head.bias[unseen] = composed.bias[unseen]
    if kept:
        prefixes = tuple(f"heads.heads.{lang}." for lang in kept)
        layer_transfer.freeze(model, [n for n, _ in model.named_parameters() if n.startswith(prefixes)])
        log.info("kept the source's heads of %s, frozen", ", ".join(kept))
