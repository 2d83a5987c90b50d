"""Image workflows: train an image recipe with the one training loop, and evaluate it.

``speechtl train recipes/image-*.yaml`` lands here (the recipe says ``task: image``).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import torch
import yaml

from speechtl.training.loop import Trainer
from speechtl.transfer.labels import label_values
from speechtl.transfer.registry import TransferContext, build_methods, setup_transfer, zero_shot_accuracy
from speechtl.vision.attributes import DIGIT_ATTRIBUTES
from speechtl.vision.data import GroupBatchSampler, ImageDataset, collate_images
from speechtl.vision.digits import domain_images, few_shot, stratified_split
from speechtl.vision.model import ImageModel, image_model_metadata, load_image_model, save_image_model
from speechtl.vision.recipe import ImageRecipe
from speechtl.vision.task import ImageTask

log = logging.getLogger(__name__)

ZERO_SHOT_METHODS = ("dap", "embedding", "conse")


@dataclass
class ImageData:
    train: ImageDataset
    test: dict[str, ImageDataset]  # per domain: test images of every class (seen and unseen)


def build_image_data(recipe: ImageRecipe) -> ImageData:
    """Labelled (few-shot) source images, unlabelled target images, and the test images of each domain.

    Test images are the same digits in every domain and never train (``data.split_seed``);
    which few-shot images train depends on ``train.seed``.
    """
    d = recipe.data
    x, y = domain_images(d.source, d.size)
    train_idx, test_idx = stratified_split(y, d.test_fraction, d.split_seed)
    labelled = few_shot(train_idx, y, d.classes, d.shots, recipe.train.seed)
    train = ImageDataset()
    train.add(x[labelled], y[labelled], d.source, True)
    test = {}
    domains = [d.source] + ([d.target] if d.target and d.target != d.source else [])
    for domain in domains + [e for e in d.eval_domains if e not in domains]:
        dx, dy = domain_images(domain, d.size)
        if domain in domains[1:]:
            unlabelled = few_shot(train_idx, dy, d.classes, 0, 0)
            train.add(dx[unlabelled], dy[unlabelled], domain, False)
        part = ImageDataset()
        part.add(dx[test_idx], dy[test_idx], domain, True)
        test[domain] = part.finish()
    return ImageData(train.finish(), test)


def image_labels(dataset: ImageDataset) -> dict[str, list[str]]:
    """Values of each item label in a dataset (``label``, ``domain``, ``attr.NAME``)."""
    batch = collate_images([dataset[i] for i in range(len(dataset))])
    keys = ["label", "domain"] + [f"attr.{a}" for a in DIGIT_ATTRIBUTES]
    return {k: label_values(batch.tags(k)) for k in keys if label_values(batch.tags(k))}


def _batches(dataset: ImageDataset, size: int = 512):
    for start in range(0, len(dataset), size):
        yield collate_images([dataset[i] for i in range(start, min(start + size, len(dataset)))])


@torch.no_grad()
def accuracy(model: ImageModel, dataset: ImageDataset) -> dict:
    """Accuracy on the images of the classes the classifier covers."""
    model.eval()
    task = ImageTask(model)
    correct = total = 0
    for batch in _batches(dataset):
        target = task.targets(batch)
        keep = target >= 0
        if bool(keep.any()):
            pred = model.classify(model(batch.x)[0]).argmax(1)
            correct += int((pred[keep] == target[keep]).sum())
            total += int(keep.sum())
    return {"accuracy": correct / max(total, 1), "correct": correct, "total": total}


def evaluate_model(model: ImageModel, data: ImageData, predictors: dict, recipe: ImageRecipe) -> dict:
    """Accuracy per test domain, and zero-shot accuracy on the unseen classes' test images."""
    model.eval()
    report: dict = {"accuracy": {domain: accuracy(model, ds) for domain, ds in data.test.items()}}
    zs = recipe.transfer.zeroshot
    if predictors and zs.unseen:
        source = data.test[recipe.data.source]
        encode = ImageTask(model).encode
        report["zero_shot"] = zero_shot_accuracy(predictors, encode, _batches(source), zs.label, zs.unseen)
    report["table"] = format_report(report)
    return report


def format_report(report: dict) -> str:
    """Accuracy per test domain and per zero-shot method, as text."""
    lines = [f"{'test images':<24}{'accuracy':>10}{'images':>8}"]
    for domain, r in report["accuracy"].items():
        lines.append(f"{domain:<24}{100 * r['accuracy']:>9.1f}%{r['total']:>8}")
    for method, r in report.get("zero_shot", {}).items():
        lines.append(f"{'zero-shot ' + method:<24}{100 * r['accuracy']:>9.1f}%{r['total']:>8}"
                     f"  (chance {100 * r['chance']:.1f}%)")
    return "\n".join(lines)


def train_image(recipe: ImageRecipe, resume: bool = False, progress: bool = True) -> Path:
    """Train an image recipe; writes the model and ``eval.json`` (test accuracies) to ``train.exp_dir``."""
    if recipe.train.num_threads > 0:
        torch.set_num_threads(recipe.train.num_threads)
    torch.manual_seed(recipe.train.seed)
    exp = Path(recipe.train.exp_dir)
    exp.mkdir(parents=True, exist_ok=True)
    (exp / "recipe.yaml").write_text(yaml.safe_dump(recipe.to_dict(), sort_keys=False))
    data = build_image_data(recipe)
    model = ImageModel(recipe)
    task = ImageTask(model)
    labels = image_labels(data.train)
    setup = setup_transfer(recipe.transfer, task, ImageTask, labels, recipe.train.lr,
                           load_source=lambda path: load_image_model(path)[0],
                           classifier=(model.classify, model.class_names))
    sampler = GroupBatchSampler(data.train.domains, recipe.data.batch_size, seed=recipe.train.seed)
    log.info("training on %d images (%s), %d parameters", len(data.train),
             ", ".join(sorted(set(data.train.domains))), sum(p.numel() for p in model.parameters()))
    trainer = Trainer(setup.objective, data.train, collate_images, sampler, recipe.train, exp,
                      model_meta=lambda: image_model_metadata(model), frames_per_second=0.0,
                      param_groups=setup.param_groups, progress=progress)
    trainer.fit(resume=resume)
    extra = {f"transfer.{name}.{k}": v for name, k, v in _method_state(setup)}
    save_image_model(model, exp / "model", extra)
    report = evaluate_model(model, data, setup.predictors, recipe)
    report["model"] = str(exp / "model")
    (exp / "eval.json").write_text(json.dumps(report, indent=2))
    return exp


def _method_state(setup) -> list[tuple[str, str, torch.Tensor]]:
    """``(method name, key, tensor)`` of the zero-shot methods' weights (saved with the model)."""
    out = []
    for method in setup.objective.methods:
        if method.name in ZERO_SHOT_METHODS or method.name == "multitask":
            out.extend((method.name, k, v) for k, v in method.state_dict().items())
    return out


def evaluate_image(model_path: str | Path, output: str | Path | None = None) -> dict:
    """Re-evaluate a saved image model on its recipe's test images (zero-shot methods included)."""
    model, extra = load_image_model(model_path)
    recipe = model.recipe
    data = build_image_data(recipe)
    ctx = TransferContext(recipe.transfer, model, ImageTask, image_labels(data.train),
                          classifier=(model.classify, model.class_names))
    names = [n for n in recipe.transfer.methods if n in ZERO_SHOT_METHODS or n == "multitask"]
    predictors = {}
    for name, method in build_methods(ctx, names).items():
        if isinstance(method, torch.nn.Module):
            prefix = f"transfer.{name}."
            method.load_state_dict({k[len(prefix):]: v for k, v in extra.items() if k.startswith(prefix)})
            method.eval()
        if hasattr(method, "zero_shot_scores"):
            predictors[name] = method
    report = evaluate_model(model, data, predictors, recipe)
    report["model"] = str(model_path)
    if output:
        Path(output).write_text(json.dumps(report, indent=2))
    return report
