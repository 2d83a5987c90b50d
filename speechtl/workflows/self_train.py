"""Self-training on unlabelled target-domain audio, by the recipe's task: pseudo-label, train, repeat.

The speech task's rounds (decode the target audio with the evaluation lexicon, keep
the most confident share, train on it) are :mod:`speechtl.tasks.speech.self_training`;
this workflow hands them the one training workflow. A task without a
``self_train`` step (image) is refused.
"""

from __future__ import annotations

from pathlib import Path

from speechtl.errors import RecipeError
from speechtl.tasks import task_of
from speechtl.workflows.train import train


def self_train(recipe, exp: str | Path, resume: bool = False, progress: bool = True) -> dict:
    """Run ``transfer.self_training.rounds`` rounds on ``exp/model``; returns the summary (``exp/self_training.json``).

    Raises:
        RecipeError: the recipe's task has no self-training, or (speech) no unlabelled target audio.
    """
    task = task_of(recipe)
    if not hasattr(task, "self_train"):
        raise RecipeError(f"transfer.self_training: {task.name} recipes have no self-training (speech only)")
    return task.self_train(recipe, exp, train, resume=resume, progress=progress)
