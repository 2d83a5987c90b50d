"""Study cells that only score a model (``steps: eval``): their options, checks, run and metrics.

A cell of such a study trains nothing: it is ``speechtl eval --model M --recipe R
--set ... --split S`` for each split the study reads, R being the study's recipe (or
the arm's own), whose data the model is scored on. The model is the option
``eval.model`` (a path, ``builtin:NAME`` or ``{prepare.NAME}``: then each seed scores
that seed's prepared model); every other override is the command's ``--set`` on R.
Decoding uses the settings saved with the model, those the cell sets
(``decode.word_score=0``, ``decode.isolated=true``, ``decode.beam_size=...``) replaced;
``decode.words`` and the front end (``features.*``) are R's. With a fixed model the
seed only goes into R as ``train.seed`` (it changes nothing: seeds repeat the same
scores). Example: decoding settings compared on each seed's prepared model::

    steps: eval
    recipe: recipes/fsdd-few-labels.yaml          # scored on its data (each rotation's speakers)
    prepare: {synthetic: {recipe: recipes/dann-fsdd.yaml, set: [...]}}
    set: ["eval.model={prepare.synthetic}"]
    arms: {beam: [], isolated: [decode.isolated=true]}
    metrics: {test.wer_en: lower}

A cell's metrics are the task's for each split (speech: ``S.per_LANG``, ``S.per_mean``,
``S.wer_LANG``, ``S.wer_mean``), exactly what a trained cell reports; the reports go to
the cell's folder (``runs/.../eval_S.json``, never beside a model other cells share).
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import yaml

from speechtl.errors import RecipeError, SpeechtlError, shorten
from speechtl.resources import BUILTIN
from speechtl.tasks import load_recipe, task_of_model
from speechtl.workflows.evaluate import decode_options, evaluate
from speechtl.workflows.study_lines import split_prefixed

STEP = "eval"
PREFIX = "eval."  # an override naming an option of `speechtl eval`, not a recipe key
OPTIONS = {"model": str, "int8": bool}  # the model scored; int8: its linear layers quantised (CPU)


def option_value(key: str, raw: str, check: bool = False) -> Any:
    """The value of override ``eval.KEY=RAW`` (RAW read as YAML), of the option's type.

    Args:
        check: also check that the model exists (unless a ``{prepare.NAME}``, trained later).

    Raises:
        RecipeError: an unknown option, a wrong type, an empty model or (``check``) a missing one; the
            message names the option.
    """
    name = key.removeprefix(PREFIX)
    if name not in OPTIONS:
        raise RecipeError(f"{shorten(key)}: unknown option; eval accepts {', '.join(PREFIX + o for o in OPTIONS)}")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    if OPTIONS[name] is str:
        value = value if isinstance(value, str) else raw.strip()  # {prepare.x} reads as a YAML mapping
        if not value:
            raise RecipeError(f"{shorten(key)}: expected a model (a path, {BUILTIN}NAME or {{prepare.NAME}})")
    elif type(value) is not bool:
        raise RecipeError(f"{shorten(key)}: expected true or false, got {shorten(repr(value))}")
    if check and name == "model" and "{prepare." not in value:
        try:
            task_of_model(value)  # a speechtl model (or a CTC checkpoint) some task reads
        except SpeechtlError as err:
            raise RecipeError(f"{shorten(key)}: {err}") from None
    return value


def split_options(overrides: list[str], check: bool = False) -> tuple[dict[str, Any], list[str]]:
    """The eval options among ``overrides`` (later ones win; ``check``: see :func:`option_value`) and the
    other overrides (the recipe's ``--set``), in order."""
    return split_prefixed(overrides, PREFIX, lambda key, raw: option_value(key, raw, check))


def check_options(options: dict[str, Any]) -> None:
    """Refuse a whole cell with no model to score, before anything runs (its metrics: the task's, checked by
    :func:`~speechtl.workflows.study_metrics.check_figures`).

    Raises:
        RecipeError: naming the option.
    """
    if "model" not in options:
        raise RecipeError(f"{PREFIX}model: missing; every eval cell scores a model ({PREFIX}model: a path, "
                          f"{BUILTIN}NAME or {{prepare.NAME}}, in set, an arm or a rotation)")


def run_eval(recipe: str, overrides: list[str], exp: Path, splits: list[str]) -> dict:
    """Score the cell's model (``overrides`` resolved: the model is a path) on ``splits`` of ``recipe``'s data.

    Returns:
        The record's fields: ``metrics`` (``{split: {metric: value}}``); each split's report is written to
        ``exp/eval_SPLIT.json``.
    """
    options, rest = split_options(overrides)
    model = options["model"]
    data = load_recipe(recipe, rest)
    extra = {**decode_options(data, rest), **({"int8": True} if options.get("int8") else {})}
    task = task_of_model(model)
    exp.mkdir(parents=True, exist_ok=True)
    return {"metrics": {split: task.metrics(evaluate(model, split, recipe=data, output=exp / f"eval_{split}.json",
                                                     progress=False, **extra)) for split in splits}}


def command(recipe: str, overrides: list[str], exp: Path, splits: list[str]) -> str:
    """The shell commands a cell equals (``overrides`` resolved): ``speechtl eval`` per split."""
    options, rest = split_options(overrides)
    sets = " ".join(f"--set {shlex.quote(o)}" for o in rest)
    int8 = " --int8" if options.get("int8") else ""
    model = shlex.quote(str(options.get("model")))
    return " && ".join(f"speechtl eval --model {model} --recipe {shlex.quote(recipe)} {sets} --split {split}{int8} "
                       f"-o {shlex.quote(str(exp / f'eval_{split}.json'))}" for split in splits)
