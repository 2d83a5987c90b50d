"""Self-supervised pre-training of a recipe's encoder on unlabelled audio, by the recipe's task.

The speech task pre-trains with BEST-RQ (:mod:`speechtl.tasks.speech.pretrain`); any
recipe then starts from the result with ``transfer.source: EXP/model``. A task
without a ``pretrain`` step (image) is refused.
"""

from __future__ import annotations

from pathlib import Path

from speechtl.errors import RecipeError
from speechtl.tasks import task_of


def pretrain(recipe, resume: bool = False, overwrite: bool = False, progress: bool = True) -> Path:
    """Pre-train ``recipe``'s encoder on ``recipe.pretrain.audio``; returns ``train.exp_dir``.

    Raises:
        RecipeError: the recipe's task has no pre-training.
    """
    task = task_of(recipe)
    if not hasattr(task, "pretrain"):
        raise RecipeError(f"task: {task.name} recipes have no self-supervised pre-training (speech only)")
    return task.pretrain(recipe, resume=resume, overwrite=overwrite, progress=progress)
