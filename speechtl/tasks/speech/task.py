"""The speech task: multilingual CTC through the task protocol (:mod:`speechtl.tasks.base`).

One shared encoder, one CTC head per language, trained on the recipe's corpus
(plus augmented copies and target-domain audio for adaptation); evaluated by
phoneme error rate, word error rate of lexicon decoding and, with zero-shot
methods, their accuracy on unseen classes.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch

from speechtl.config import from_dict, to_dict
from speechtl.data.corpora import corpus_splits, prepare_corpus
from speechtl.data.dataset import CutBatches, collate
from speechtl.data.cmvn import Normaliser
from speechtl.data.sampler import CutBatchLoader
from speechtl.data.training_cuts import TrainingCuts
from speechtl.decoding.config import DecodeConfig, stored_decode_config
from speechtl.errors import RecipeError
from speechtl.files import read_metadata
from speechtl.models.acoustic import AcousticModel
from speechtl.models.backbone import pooled_features
from speechtl.models.io import load_model, model_metadata, read_model
from speechtl.models.quantize import quantize_int8
from speechtl.tasks.base import TrainingData, TrainingRun
from speechtl.tasks.speech.add_language import AddLanguagePlan, add_language_plan, new_language_recipe
from speechtl.tasks.speech.data import (dev_per, load_split, load_target_domain, recipe_of, subword_cuts,
                                        target_recipe, training_manifest)
from speechtl.tasks.speech.evaluate import evaluate_speech
from speechtl.tasks.speech.model import build_model, check_source_features, source_inventories, start_heads
from speechtl.tasks.speech.objective import CTCTask
from speechtl.tasks.speech.pretrain import pretrain
from speechtl.tasks.speech.self_training import self_train
from speechtl.tasks.speech.zero_shot_language import zero_shot_language
from speechtl.tasks.speech.recipe import Recipe
from speechtl.text.inventory import Inventory

from speechtl.training.distributed import DistInfo, barrier
from speechtl.transfer.evaluation import restore_predictors

log = logging.getLogger(__name__)


class SpeechTask:
    """Multilingual CTC: speech recipes (the default task), ``acoustic-model`` files."""

    name = "speech"
    model_kind = "acoustic-model"
    recipe_type = Recipe

    def prepare(self, recipe: Recipe, progress: bool = True) -> None:
        """Make (synthetic) or read and label (real) the recipe's corpus and its target domain's."""
        prepare_corpus(recipe.data, progress=progress)
        if recipe.data.target.corpus:
            prepare_corpus(target_recipe(recipe).data, progress=progress)

    def build(self, recipe: Recipe, dist: DistInfo, progress: bool = True) -> TrainingRun:
        """The training manifest (rank 0 writes it), a model with one head per language, the CTC task module."""
        exp = Path(recipe.train.exp_dir)
        if recipe.units.kind == "subword" and recipe.data.feature_storage != "stored":
            raise RecipeError("units.kind: subword: needs data.feature_storage: stored")
        source = self.load_source(recipe.transfer.source) if recipe.transfer.source else None
        if source is not None:
            check_source_features(source.features, recipe.features, recipe.transfer.source)
        if dist.is_main:
            training_manifest(recipe, exp / "data")
        barrier(dist)
        cuts = TrainingCuts.read(exp / "data")
        unit_models: dict[str, bytes] = {}
        if recipe.units.kind == "subword":  # same data and loop, SentencePiece pieces as targets
            cuts, unit_models = subword_cuts(cuts, recipe.units, exp / "data")
        inventories = source_inventories(source, {lang: Inventory(symbols) for lang, symbols in sorted(cuts.symbols.items())})
        # a language only replayed (transfer.replay: the source's own audio, not the recipe's) is kept too
        kept = [lang for lang in source.languages if lang not in inventories or lang not in recipe.data.languages] \
            if source is not None and recipe.transfer.keep_source_heads else []
        inventories = {**{lang: source.inventories[lang] for lang in kept},
                       **{lang: inv for lang, inv in inventories.items() if lang not in kept}}
        model = build_model(recipe, inventories)
        model.unit_models = unit_models
        if source is not None:
            start_heads(model, source, recipe.transfer.init_heads_from_source, kept)
        Normaliser.fit_model(model.frontend.normalizer, cuts.stats)
        loader = CutBatchLoader(cuts.cuts(), CutBatches(inventories, recipe.features, recipe.data.synth.seed,
                                                        cuts.speaker_stats),
                                recipe.train.max_duration, seed=recipe.train.seed, rank=dist.rank,
                                world_size=dist.world_size, num_workers=recipe.train.num_workers,
                                num_buckets=max(1, min(10, cuts.count)))  # Lhotse wants no more buckets than cuts
        description = (f"{cuts.count} utterances ({cuts.hours:.2f} h), {len(inventories)} languages, "
                       f"model {model.num_parameters() / 1e6:.2f}M parameters")
        weights = recipe.transfer.multitask.task_weights
        meta = {"recipe": recipe.to_dict(), "decode": to_dict(recipe.decode), "labels": cuts.labels}
        validate = dev_per(recipe, progress) if recipe.train.valid_every else None
        return TrainingRun(model=model, module=CTCTask(model, weights), make_module=lambda m: CTCTask(m, weights),
                           labels=cuts.labels, data=TrainingData(loader, recipe.features.frames_per_second, description),
                           source=source, model_meta=lambda: model_metadata(model, **meta), validate=validate)

    def pretrain(self, recipe: Recipe, resume: bool = False, overwrite: bool = False, progress: bool = True) -> Path:
        """BEST-RQ pre-training of the encoder on ``pretrain.audio`` (:mod:`speechtl.tasks.speech.pretrain`)."""
        return pretrain(recipe, resume=resume, overwrite=overwrite, progress=progress)

    def self_train(self, recipe: Recipe, exp: str | Path, train, resume: bool = False, progress: bool = True) -> dict:
        """Rounds of pseudo-labelled target audio (:mod:`speechtl.tasks.speech.self_training`)."""
        return self_train(recipe, exp, train, resume=resume, progress=progress)

    def add_language_plan(self, base_path: str | Path, *args) -> AddLanguagePlan:
        """The run adding a language to a trained model (:mod:`speechtl.tasks.speech.add_language`)."""
        return add_language_plan(base_path, *args)

    def zero_shot_language(self, base_path: str | Path, language: str, output: str | Path, **options) -> dict:
        """A head for ``language`` with no audio of it (:mod:`speechtl.tasks.speech.zero_shot_language`)."""
        return zero_shot_language(base_path, language, output, **options)

    def new_language_recipe(self, model_path: str | Path, *args, **options) -> Recipe:
        """The recipe a head made without training is scored with (:mod:`speechtl.tasks.speech.add_language`)."""
        return new_language_recipe(model_path, *args, **options)

    def load_source(self, path: str | Path) -> AcousticModel:
        return load_model(path)

    def load(self, path: str | Path) -> tuple[AcousticModel, dict, dict]:
        return read_model(path)

    def recipe_of(self, meta: dict, source: str) -> Recipe:
        """The recipe a model was trained with (recorded in its metadata)."""
        return recipe_of(meta, source)

    def evaluate(self, model_path: str | Path, split: str | None = None, recipe: Recipe | None = None,
                 output: str | Path | None = None, progress: bool = True, words: bool = True,
                 domain: str = "source", device: str = "cpu", int8: bool = False, decode: dict | None = None
                 ) -> dict:
        """See :func:`speechtl.tasks.speech.evaluate.evaluate_speech`; ``int8``: the model's linear layers
        dynamically quantised first (:func:`speechtl.models.quantize.quantize_int8`, CPU only); ``decode``:
        settings of the ``decode`` section (``{"word_score": 0.0}``) on top of those saved with the model.

        Raises:
            RecipeError: ``decode`` names a setting the section lacks or a value of the wrong type, or ``recipe``
                makes other features than the model was trained on.
        """
        model, extra, meta = self.load(model_path)
        trained_with = self.recipe_of(meta, str(model_path))
        if recipe is not None:  # another recipe's data: read through the features the model was trained on
            check_source_features(trained_with.features, recipe.features, str(model_path), "model")
        predictors = restore_predictors(trained_with.transfer, model, CTCTask, meta.get("labels", {}), extra)
        config = stored_decode_config(meta, str(model_path))
        if decode:  # e.g. `speechtl eval --recipe R --set decode.word_score=0`: the rest stays the model's
            config = from_dict(DecodeConfig, {**to_dict(config), **decode}, "decode")
        if int8:
            model = quantize_int8(model, device)
        return evaluate_speech(model, trained_with, config, predictors, model_path, split, recipe, output, progress,
                               words, domain, device)

    def final_reports(self, model_path: str | Path, progress: bool = True) -> dict[str, dict]:
        """The test split, and the target domain's test split when the recipe has a target domain."""
        reports = {"test": self.evaluate(model_path, "test", progress=progress)}
        recipe = self.recipe_of(read_metadata(model_path), str(model_path))
        target = recipe.data.target
        if not target.corpus:
            return reports
        cuts = prepare_corpus(target_recipe(recipe).data, progress=False)
        if len(cuts.get(target.test_split) or []):
            reports["target"] = self.evaluate(model_path, progress=progress, domain="target")
        else:  # e.g. only the target speakers' unlabelled training audio (a held-out pair must not be read)
            log.info("the target domain (corpus %s) has no %s utterances to score: not scored", target.corpus,
                     target.test_split)
        return reports

    def metrics(self, report: dict) -> dict[str, float]:
        out = {f"per_{lang}": r["rate"] for lang, r in report.get("per", {}).items()}
        if out:
            out["per_mean"] = sum(out.values()) / len(out)
        wer = {f"wer_{lang}": r["rate"] for lang, r in report.get("wer", {}).items()}
        if wer:
            out.update(wer, wer_mean=sum(wer.values()) / len(wer))
        return out

    def metric_names(self, recipe: Recipe, final: bool = False) -> dict[str, set[str]]:
        """What :meth:`metrics` can return for a model trained on ``recipe``, per split it can be scored on, from
        the recipe alone (no data read): ``per_LANG``, ``per_mean`` (not for a subword model), ``wer_LANG`` and
        ``wer_mean`` for each of ``data.languages``, on each split the corpus holds; ``final``: also
        :meth:`final_reports`' ``target`` when the target domain's corpus holds its ``test_split``."""
        languages = recipe.data.languages
        names = {f"wer_{lang}" for lang in languages} | {"wer_mean"}
        if recipe.units.kind != "subword":
            names |= {f"per_{lang}" for lang in languages} | {"per_mean"}
        out = {split: names for split in corpus_splits(recipe.data)}
        target = recipe.data.target
        if final and target.corpus and target.test_split in corpus_splits(target_recipe(recipe).data):
            out["target"] = names
        return out

    def embed(self, model_path: str | Path, key: str, split: str, max_items: int, recipe: Recipe | None = None
              ) -> tuple[np.ndarray, list[str]]:
        """Pooled encoder features of a split of the corpus plus its target-domain audio.

        The corpus and target domain (with their channels) are the model's recipe's, or ``recipe``'s.
        """
        model, _, meta = self.load(model_path)
        recipe = recipe or self.recipe_of(meta, str(model_path))
        utts = load_split(recipe, split) + load_target_domain(recipe)
        if len(utts) > max_items:
            keep = np.sort(np.random.default_rng(0).choice(len(utts), max_items, replace=False))
            utts = [utts[int(i)] for i in keep]
        items = [(u, torch.zeros(0, dtype=torch.long)) for u in utts]
        batches = (collate(items[i:i + 32]) for i in range(0, len(items), 32))
        return pooled_features(lambda b: model(b.feats, b.lengths), batches, key)


def load_trained(path: str | Path) -> tuple[AcousticModel, Recipe, DecodeConfig]:
    """A trained speech model with the recipe it was trained with and its decoding settings."""
    model, _, meta = read_model(path)
    return model, SpeechTask().recipe_of(meta, str(path)), stored_decode_config(meta, str(path))
