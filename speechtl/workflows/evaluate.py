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
        options: task-specific (speech: ``words``, ``domain``, ``int8``, ``decode``: see :func:`decode_options`).
    """
    return task_of_model(model_path).evaluate(model_path, split, recipe, output, progress, **options)


def decode_options(recipe, overrides: list[str]) -> dict:
    """``{"decode": {KEY: value}}`` for the ``decode.KEY=...`` among ``overrides`` (``{}`` when none).

    A model is scored with the decode settings saved with it; those that ``speechtl eval --recipe R --set``
    (or a ``steps: eval`` study cell) sets on top are read back from ``recipe`` (``overrides`` applied, so
    typed and checked): e.g. ``--set decode.word_score=0`` scores with word score 0 and the model's beam.
    """
    keys = {o.split("=", 1)[0].strip().split(".")[1] for o in overrides if o.strip().startswith("decode.")}
    return {"decode": {key: getattr(recipe.decode, key) for key in sorted(keys)}} if keys else {}
