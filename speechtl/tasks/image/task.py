"""The image task: digits classification through the task protocol (:mod:`speechtl.tasks.base`).

``speechtl train recipes/image-*.yaml`` trains it with the one training loop and
the same transfer methods as speech; ``speechtl eval`` reports accuracy per test
domain and zero-shot accuracy on unseen classes.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import torch

from speechtl.errors import CheckpointError, RecipeError
from speechtl.models.backbone import pooled_features
from speechtl.tasks.base import TrainingData, TrainingRun
from speechtl.tasks.image.data import (GroupBatchSampler, batches, build_image_data, collate_images, image_labels,
                                      scored_domains)
from speechtl.tasks.image.model import ImageModel, build_image_model, image_model_metadata, load_image_model
from speechtl.tasks.image.objective import ClassificationTask
from speechtl.tasks.image.recipe import ImageRecipe
from speechtl.data.sampler import IndexBatchLoader
from speechtl.training.distributed import DistInfo
from speechtl.transfer.evaluation import ZERO_SHOT_METHODS, restore_predictors, zero_shot_accuracy

log = logging.getLogger(__name__)


@torch.no_grad()
def accuracy(model: ImageModel, dataset) -> dict:
    """Accuracy on the images of the classes the classifier covers."""
    model.eval()
    task = ClassificationTask(model)
    correct = total = 0
    for batch in batches(dataset):
        target = task.targets(batch)
        keep = target >= 0
        if bool(keep.any()):
            pred = model.classify(model(batch.x)[0]).argmax(1)
            correct += int((pred[keep] == target[keep]).sum())
            total += int(keep.sum())
    return {"accuracy": correct / max(total, 1), "correct": correct, "total": total}


def format_report(report: dict) -> str:
    """Accuracy per test domain and per zero-shot method, as text."""
    lines = [f"{'test images':<24}{'accuracy':>10}{'images':>8}"]
    for domain, r in report["accuracy"].items():
        lines.append(f"{domain:<24}{100 * r['accuracy']:>9.1f}%{r['total']:>8}")
    for method, r in report.get("zero_shot", {}).items():
        lines.append(f"{'zero-shot ' + method:<24}{100 * r['accuracy']:>9.1f}%{r['total']:>8}"
                     f"  (chance {100 * r['chance']:.1f}%)")
    return "\n".join(lines)


def _subsample(n: int, max_items: int, seed: int = 0) -> np.ndarray:
    if n <= max_items:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, max_items, replace=False))


class ImageTask:
    """Image classification: ``task: image`` recipes, ``image-model`` files."""

    name = "image"
    model_kind = "image-model"
    recipe_type = ImageRecipe

    def prepare(self, recipe: ImageRecipe, progress: bool = True) -> None:
        """Nothing to prepare: the images ship with scikit-learn and digits-M is made on the fly."""

    def build(self, recipe: ImageRecipe, dist: DistInfo, progress: bool = True) -> TrainingRun:
        if dist.enabled:
            raise RecipeError("image recipes train in one process; run without torchrun")
        data = build_image_data(recipe)
        model = build_image_model(recipe.model, recipe.data.size, [str(c) for c in recipe.data.classes])
        source = self.load_source(recipe.transfer.source) if recipe.transfer.source else None
        sampler = GroupBatchSampler(data.train.domains, recipe.data.batch_size, seed=recipe.train.seed)
        loader = IndexBatchLoader(data.train, sampler, collate_images)
        description = (f"{len(data.train)} images ({', '.join(sorted(set(data.train.domains)))}), "
                       f"{sum(p.numel() for p in model.parameters())} parameters")
        labels = image_labels(data.train)
        meta = {"recipe": recipe.to_dict(), "labels": labels}
        return TrainingRun(model=model, module=ClassificationTask(model), make_module=ClassificationTask,
                           labels=labels, data=TrainingData(loader, 0.0, description),
                           validate=self.validator(recipe) if recipe.train.valid_every else None,
                           classifier=(model.classify, model.class_names), source=source,
                           model_meta=lambda: image_model_metadata(model, recipe.model, recipe.data.size, **meta))

    @staticmethod
    def validator(recipe: ImageRecipe):
        """``model -> {"dev_error": ...}``: the error rate on the source domain's dev images."""
        dev = build_image_data(recipe, "dev").test[recipe.data.source]
        return lambda model: {"dev_error": 1.0 - accuracy(model, dev)["accuracy"]}

    def load_source(self, path: str | Path) -> ImageModel:
        return load_image_model(path)[0]

    def load(self, path: str | Path) -> tuple[ImageModel, dict, dict]:
        return load_image_model(path)

    def recipe_of(self, meta: dict, source: str) -> ImageRecipe:
        try:
            return ImageRecipe.from_dict(meta["recipe"])
        except (KeyError, RecipeError) as err:
            raise CheckpointError(f"{source}: malformed image model metadata: {str(err)[:300]}") from None

    def evaluate(self, model_path: str | Path, split: str | None = None, recipe: ImageRecipe | None = None,
                 output: str | Path | None = None, progress: bool = True, **options) -> dict:
        """Accuracy per domain, and zero-shot accuracy on the unseen classes' images, of ``split`` (dev or test).

        Writes ``eval.json`` (test) or ``eval_dev.json`` beside the model unless ``output`` says otherwise.
        """
        if options.get("int8"):
            raise RecipeError(f"{model_path}: --int8 (dynamic quantisation) is for speech models, not image models")
        split = split or "test"
        model, extra, meta = self.load(model_path)
        recipe = recipe or self.recipe_of(meta, str(model_path))
        data = build_image_data(recipe, split)
        predictors = restore_predictors(recipe.transfer, model, ClassificationTask,
                                        meta.get("labels") or image_labels(data.train), extra,
                                        classifier=(model.classify, model.class_names))
        report: dict = {"model": str(model_path), "split": split,
                        "accuracy": {domain: accuracy(model, ds) for domain, ds in data.test.items()}}
        zs = recipe.transfer.zeroshot
        if predictors and zs.unseen:
            source = data.test[recipe.data.source]
            report["zero_shot"] = zero_shot_accuracy(predictors, ClassificationTask(model).encode, batches(source),
                                                     zs.label, zs.unseen)
        report["table"] = format_report(report)
        if output is None:
            base = Path(model_path)
            output = (base if base.is_dir() else base.parent) / ("eval.json" if split == "test" else f"eval_{split}.json")
        Path(output).write_text(json.dumps(report, indent=2))
        return report

    def final_reports(self, model_path: str | Path, progress: bool = True) -> dict[str, dict]:
        """Accuracy on every test domain (one report)."""
        return {"test": self.evaluate(model_path, "test", progress=progress)}

    def metrics(self, report: dict) -> dict[str, float]:
        """``acc_DOMAIN`` per test domain, ``zeroshot_METHOD`` per zero-shot method, and ``zeroshot`` when the
        recipe has one method (so that a study can compare methods trained in separate runs on one metric)."""
        out = {f"acc_{d}": r["accuracy"] for d, r in report["accuracy"].items()}
        zero_shot = report.get("zero_shot", {})
        out.update({f"zeroshot_{m}": r["accuracy"] for m, r in zero_shot.items()})
        if len(zero_shot) == 1:
            out["zeroshot"] = next(iter(zero_shot.values()))["accuracy"]
        return out

    def metric_names(self, recipe: ImageRecipe, final: bool = False) -> dict[str, set[str]]:
        """What :meth:`metrics` can return for a model trained on ``recipe``, per split it is scored on, from the
        recipe alone: ``acc_DOMAIN`` per scored domain and, with zero-shot methods and unseen classes,
        ``zeroshot_METHOD`` (``zeroshot`` too for one method), on ``test`` and (``data.dev_fraction`` > 0) ``dev``.
        ``final``: also :meth:`final_reports`' reports (only ``test``)."""
        names = {f"acc_{domain}" for domain in scored_domains(recipe.data)}
        methods = {m for m in recipe.transfer.methods if m in ZERO_SHOT_METHODS} if recipe.transfer.zeroshot.unseen \
            else set()
        names |= {f"zeroshot_{m}" for m in methods} | ({"zeroshot"} if len(methods) == 1 else set())
        return {split: names for split in ("dev", "test") if split == "test" or recipe.data.dev_fraction > 0}

    def embed(self, model_path: str | Path, key: str, split: str, max_items: int,
              recipe: ImageRecipe | None = None) -> tuple[np.ndarray, list[str]]:
        """Features of the ``split`` images (dev or test) of every domain the model's recipe names."""
        model, _, meta = self.load(model_path)
        data = build_image_data(recipe or self.recipe_of(meta, str(model_path)), split)
        feats, tags = [], []
        for ds in data.test.values():
            idx = _subsample(len(ds), max_items // len(data.test))
            f, t = pooled_features(lambda b: model(b.x), [collate_images([ds[int(i)] for i in idx])], key)
            feats.append(f)
            tags.extend(t)
        return np.concatenate(feats), tags
