"""Evaluate a trained model: its task (named in the model file) scores it on a split."""

from __future__ import annotations

from pathlib import Path

from speechtl.tasks import task_of_model


def evaluate(model_path: str | Path, split: str | None = None, recipe=None, output: str | Path | None = None,
             progress: bool = True, **options) -> dict:
    """The report of the model's task (speech: PER/WER per language; image: accuracy per domain).

    Args:
        model_path: a model file, checkpoint or experiment directory.
        split: the split scored (default: test).
        recipe: score on this recipe's data instead of the one the model was trained with.
        output: where the JSON report goes (default: beside the model).
        options: task-specific (speech: ``words``, ``domain``).
    """
    return task_of_model(model_path).evaluate(model_path, split, recipe, output, progress, **options)
