"""The task protocol: what a kind of model (speech CTC, image classification) provides to the workflows.

A task is the one place that knows its kind of model. The workflows
(:mod:`speechtl.workflows`) are written against this protocol and never ask
which kind they hold:

* ``prepare(recipe)``: make or read the recipe's data (rank 0, before training);
* ``build(recipe, dist)``: a :class:`TrainingRun`: data, model and the training task module;
* ``load_source(path)``: a trained model of this kind, for ``transfer.source``;
* ``load(path)``: a model file with its extra state (transfer methods' weights) and
  metadata (label spaces, decoding settings); the run's ``model_meta`` says what
  is saved beside the weights;
* ``evaluate(model_path, ...)``: a report (a dict with a printable ``table``);
* ``final_reports(model_path)``: the evaluations a finished run is judged by (``speechtl run``);
* ``metrics(report)``: the report's numbers by name (for sweeps and studies);
* ``metric_names(recipe, final)``: what ``metrics`` can return per split for a model of that recipe, from the
  recipe alone (a study refuses a metric no cell reports before any run);
* ``embed(model_path, ...)``: pooled backbone features and one label per item (t-SNE).

Optional steps, which a task has only when its kind of model supports them (the
workflow refuses a recipe whose task lacks one): ``pretrain(recipe, ...)``
(self-supervised pre-training), ``self_train(recipe, exp, train, ...)`` (rounds of
pseudo-labels), ``add_language_plan(base_path, ...)`` (a new language beside a trained
model's), ``zero_shot_language(base_path, language, output, ...)`` (a new language's head with no
audio) and ``new_language_recipe(model_path, ...)`` (the recipe such a head is scored with). A step that must train again receives the workflow's ``train`` as an argument,
since tasks sit below the workflows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from torch import nn

from speechtl.training.distributed import DistInfo


@dataclass
class TrainingData:
    """What the loop iterates: ``loader.epoch(epoch, start)`` yields an epoch's batches from the ``start``-th."""

    loader: Any  # speechtl.data.sampler.CutBatchLoader or IndexBatchLoader
    frames_per_second: float = 0.0  # input frames per second of audio (0: not audio; throughput in items)
    description: str = ""  # one line for the log


@dataclass
class TrainingRun:
    """Everything a task builds for one training run.

    Attributes:
        model: what gets saved (satisfies the backbone contract).
        module: the training task module: ``forward(batch) -> StepOutput``, ``encode(batch)``;
            owns the model as ``module.model``.
        make_module: builds a task module of the same kind around another model (KL's source copy).
        labels: values of each item label in the training data (``{"domain": [...]}``), for methods.
        data: the training data.
        classifier: the task's own classifier and its class names (ConSE), if it has one.
        validate: ``model -> {name: value}`` on the dev data, the first value lower-is-better; None: no dev data.
        source: the source model when ``transfer.source`` is set (loaded once, shared with the methods).
        model_meta: the JSON saved beside the weights (what rebuilds the model, the recipe, label spaces).
    """

    model: nn.Module
    module: nn.Module
    make_module: Callable[[nn.Module], nn.Module]
    labels: dict[str, list[str]]
    data: TrainingData
    classifier: tuple[Callable, list[str]] | None = None
    validate: Callable[[nn.Module], dict[str, float]] | None = None
    source: nn.Module | None = None
    model_meta: Callable[[], dict] = dict


class Task(Protocol):
    """One kind of model; see the module docstring."""

    name: str  # what a recipe's ``task:`` says
    model_kind: str  # the ``kind`` its model files carry
    recipe_type: type  # the recipe dataclass

    def prepare(self, recipe: Any, progress: bool = True) -> None: ...

    def build(self, recipe: Any, dist: DistInfo, progress: bool = True) -> TrainingRun: ...

    def load_source(self, path: str | Path) -> nn.Module: ...

    def load(self, path: str | Path) -> tuple[nn.Module, dict, dict]:
        """``(model, extra tensors, metadata)``."""
        ...

    def evaluate(self, model_path: str | Path, split: str | None = None, recipe: Any = None,
                 output: str | Path | None = None, progress: bool = True, **options) -> dict: ...

    def final_reports(self, model_path: str | Path, progress: bool = True) -> dict[str, dict]: ...

    def metrics(self, report: dict) -> dict[str, float]: ...

    def metric_names(self, recipe: Any, final: bool = False) -> dict[str, set[str]]:
        """``{split: names metrics() can return}`` for the splits a model trained on ``recipe`` is scored on;
        ``final``: also the reports of ``final_reports`` (e.g. speech's ``target``)."""
        ...

    def embed(self, model_path: str | Path, key: str, split: str, max_items: int, recipe: Any = None
              ) -> tuple[np.ndarray, list[str]]: ...
