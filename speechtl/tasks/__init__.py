"""Tasks by name, and the recipe and model files that name them.

``speech`` (multilingual CTC, :mod:`speechtl.tasks.speech`) and ``image``
(classification, :mod:`speechtl.tasks.image`) implement one protocol
(:mod:`speechtl.tasks.base`). A recipe names its task (``task: image``; speech
when absent); a model file names its kind (``acoustic-model``, ``image-model``).
"""

from __future__ import annotations

from pathlib import Path

from speechtl.config import load_yaml, set_override
from speechtl.errors import CheckpointError, RecipeError
from speechtl.files import read_metadata
from speechtl.models.ctc_checkpoint import is_ctc_checkpoint
from speechtl.registry import Registry
from speechtl.tasks.base import Task
from speechtl.tasks.image.task import ImageTask
from speechtl.tasks.speech.task import SpeechTask

TASKS: Registry = Registry("task")
TASKS.register("speech")(SpeechTask())
TASKS.register("image")(ImageTask())


def get_task(name: str) -> Task:
    """The task a recipe names (``speech``, ``image``)."""
    return TASKS.get(name)


def task_of(recipe) -> Task:
    """The task of a loaded recipe."""
    return TASKS.get(recipe.task)


def task_of_model(path: str | Path) -> Task:
    """The task whose model file ``path`` is (by the ``kind`` in its JSON).

    Raises:
        CheckpointError: not a speechtl model, or a kind no task reads.
    """
    # a Hugging Face CTC directory is read as an acoustic model (speechtl.models.ctc_checkpoint)
    kind = "acoustic-model" if is_ctc_checkpoint(path) else read_metadata(path).get("kind")
    for name in TASKS:
        if TASKS.get(name).model_kind == kind:
            return TASKS.get(name)
    raise CheckpointError(f"{path}: a model of kind {str(kind)[:40]!r}; speechtl reads "
                          + ", ".join(TASKS.get(n).model_kind for n in TASKS))


def recipe_from_dict(data: dict):
    """A recipe of the task ``data`` names (``task:``; speech when absent), type-checked."""
    name = data.get("task", "speech")
    if not isinstance(name, str) or name not in TASKS:
        raise RecipeError(f"task: expected one of {', '.join(TASKS)}, got {str(name)[:40]!r}")
    return TASKS.get(name).recipe_type.from_dict(data)


def load_recipe(path: str | Path, overrides: list[str] | tuple[str, ...] = ()):
    """Load a YAML recipe and apply ``key=value`` overrides, all type-checked.

    Raises:
        RecipeError: the file is missing or not YAML, a key is unknown or a
            value has the wrong type (the message names the dotted key).
    """
    data = load_yaml(path)
    for assignment in overrides:
        set_override(data, assignment)
    try:
        return recipe_from_dict(data)
    except RecipeError as err:
        raise RecipeError(f"{path}: {err}") from None
