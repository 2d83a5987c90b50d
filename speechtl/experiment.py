"""Recipe-level workflows: prepare data, train, evaluate. The CLI is a thin layer over these."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import torch
import yaml

from speechtl.data.corpora import prepare_corpus
from speechtl.data.dataset import PhonemeDataset, Utterance, collate, load_utterances
from speechtl.data.features import GlobalCMVN
from speechtl.data.sampler import BucketBatchSampler
from speechtl.decoding.evaluate import evaluate_per, format_table
from speechtl.errors import ManifestError
from speechtl.models.acoustic import AcousticModel
from speechtl.models.io import load_model, model_metadata, save_model
from speechtl.recipe import Recipe
from speechtl.text.inventory import Inventory
from speechtl.training.ctc_task import CTCTask
from speechtl.training.distributed import barrier, cleanup, init_distributed
from speechtl.training.loop import Trainer
from speechtl.training.objective import Objective

log = logging.getLogger(__name__)


def set_threads(n: int) -> None:
    if n > 0:
        torch.set_num_threads(n)


def load_split(recipe: Recipe, split: str, cuts=None, progress: bool = False) -> list[Utterance]:
    """Features of one split of the recipe's corpus, restricted to its languages."""
    if cuts is None:
        cuts = prepare_corpus(recipe.data, progress=progress)
    utts, report = load_utterances(cuts[split], recipe.features, languages=recipe.data.languages,
                                   progress=progress, desc=f"{split} features",
                                   max_duration=recipe.data.max_duration)
    report.log(split)
    if not utts:
        raise ManifestError(f"{recipe.data.root}: no usable {split} utterances for languages "
                            f"{', '.join(recipe.data.languages)} in corpus {recipe.data.corpus!r}"
                            + (f" ({len(report.skipped)} skipped, see the log)" if report.skipped else ""))
    return utts


def build_inventories(utterances: list[Utterance]) -> dict[str, Inventory]:
    """One inventory per language from the phonemes of its (training) utterances."""
    by_lang: dict[str, list[str]] = {}
    for u in utterances:
        by_lang.setdefault(u.language, []).append(u.phonemes)
    return {lang: Inventory.from_transcripts(lines) for lang, lines in sorted(by_lang.items())}


def train(recipe: Recipe, resume: bool = False, progress: bool = True) -> Path:
    """Train the recipe's multilingual model; returns the experiment directory.

    Works as one process or under ``torchrun`` (rank 0 prepares the corpus and writes files).
    """
    dist = init_distributed(recipe.train.device)
    set_threads(recipe.train.num_threads)
    torch.manual_seed(recipe.train.seed)
    exp = Path(recipe.train.exp_dir)
    if dist.is_main:
        exp.mkdir(parents=True, exist_ok=True)
        (exp / "recipe.yaml").write_text(yaml.safe_dump(recipe.to_dict(), allow_unicode=True, sort_keys=False))
        cuts = prepare_corpus(recipe.data, progress=progress)
    barrier(dist)
    if not dist.is_main:
        cuts = prepare_corpus(recipe.data, progress=False)
    utts = load_split(recipe, "train", cuts, progress=progress and dist.is_main)
    inventories = build_inventories(utts)
    model = AcousticModel(recipe, inventories)
    if isinstance(model.normalizer, GlobalCMVN):
        model.normalizer.fit([u.feats for u in utts])
    dataset = PhonemeDataset(utts, inventories, max_frames=recipe.train.max_frames)
    dataset.report.log("train")
    sampler = BucketBatchSampler(dataset.num_frames(), recipe.train.max_frames, seed=recipe.train.seed,
                                 rank=dist.rank, world_size=dist.world_size)
    if dist.is_main:
        hours = sum(dataset.num_frames()) / 100 / 3600
        log.info("training on %d utterances (%.2f h), %d languages, model %.2fM parameters",
                 len(dataset), hours, len(inventories), model.num_parameters() / 1e6)
    trainer = Trainer(Objective(CTCTask(model)), dataset, collate, sampler, recipe.train, exp,
                      model_meta=lambda: model_metadata(model), dist=dist, progress=progress)
    trainer.fit(resume=resume)
    if dist.is_main:
        save_model(model, exp / "model")
    barrier(dist)
    cleanup(dist)
    return exp


def evaluate(model_path: str | Path, split: str = "test", recipe: Recipe | None = None,
             output: str | Path | None = None, progress: bool = True) -> dict:
    """Per-language PER of a saved model on a split of its recipe's corpus (or ``recipe``'s).

    Writes ``eval_{split}.json`` beside the model unless ``output`` says otherwise.
    """
    model = load_model(model_path)
    recipe = recipe or model.recipe
    utts = load_split(recipe, split, progress=progress)
    results = evaluate_per(model, utts)
    table = format_table(results)
    report = {"model": str(model_path), "split": split,
              "per": {lang: c.as_dict() for lang, c in results.items()}, "table": table}
    if output is None:
        base = Path(model_path)
        output = (base if base.is_dir() else base.parent) / f"eval_{split}.json"
    Path(output).write_text(json.dumps(report, indent=2, ensure_ascii=False))
    return report


def default_jobs() -> int:
    return max(1, min(len(os.sched_getaffinity(0)), 8))
