"""What a study's cells can report, checked before any run: every figure a study reads of a cell must be one
the cell can give.

A cell is read for the study's ``metrics`` and, in an arm with a dev grid, the grid's ``criterion`` and
``constraint`` on its selection split (:meth:`~speechtl.workflows.study_file.Study.figures`). What a cell
reports depends on its step kind:

* ``train``, ``run`` and ``eval`` cells report the task's metrics of each split scored
  (:meth:`~speechtl.tasks.base.Task.metric_names` of the cell's recipe, resolved with the cell's overrides):
  e.g. speech's ``per_LANG``, ``per_mean``, ``wer_LANG``, ``wer_mean`` on the splits its corpus holds, and with
  ``run`` the target domain's report ``target`` too when the recipe has one; image's ``acc_DOMAIN`` and
  ``zeroshot_METHOD`` on ``test`` and ``dev``;
* ``add-language`` cells report what :func:`~speechtl.workflows.study_add_language.check_metric` allows.

A typo (``test.wer_english``), a split the data lack (``dev`` of a corpus whose parts feed none) or a
report the step kind never makes (``target`` of a ``train`` cell) is refused naming the study file's line,
not found when the summary is built after every run.
"""

from __future__ import annotations

import difflib
import os
from typing import Any

from speechtl.errors import RecipeError, shorten
from speechtl.tasks import task_of
from speechtl.workflows.study_add_language import STEP as ADD_LANGUAGE, check_metric
from speechtl.workflows.study_lines import Lines

FINAL_STEPS = ("run",)  # step kinds whose cells also make the task's final reports (speechtl run: target)


def reported(steps: str, recipe: Any) -> dict[str, set[str]]:
    """``{split: metric names}`` a ``train``, ``run`` or ``eval`` cell of the loaded ``recipe`` can report."""
    return task_of(recipe).metric_names(recipe, final=steps in FINAL_STEPS)


def _listing(names: dict[str, set[str]]) -> str:
    """``per_en, wer_en on dev, test; acc_digits on test``: the names, grouped by the splits that give them."""
    groups: dict[tuple[str, ...], list[str]] = {}
    for split in sorted(names):
        groups.setdefault(tuple(sorted(names[split])), []).append(split)
    return "; ".join(f"{', '.join(found)} on {', '.join(splits)}" for found, splits in groups.items()) or "nothing"


def check_figure(steps: str, recipe: Any, options: dict[str, Any], metric: str, cell: str,
                 choosing: bool = False) -> None:
    """Refuse ``metric`` (``SPLIT.NAME``) when a cell (described by ``cell``, e.g. ``arm a``) cannot report it.

    Args:
        steps: the study's step kind; ``recipe``: the cell's loaded recipe; ``options``: its add-language options.
        choosing: ``metric`` is what a dev grid chooses by (see :func:`check_metric`).

    Raises:
        RecipeError: naming the metric and what such a cell reports (and the nearest name, for a typo).
    """
    if steps == ADD_LANGUAGE:
        check_metric(options, metric, choosing)
        return
    names = reported(steps, recipe)
    split, _, name = metric.partition(".")
    if name in names.get(split, ()):
        return
    close = difflib.get_close_matches(metric, sorted(f"{s}.{n}" for s, found in names.items() for n in found), 3)
    near = max(close, key=lambda c: len(os.path.commonprefix([c, metric])), default=None)  # wer_english: wer_en
    raise RecipeError(f"metric {shorten(metric)}: a{'n' if steps[0] in 'aeiou' else ''} {steps} cell of {cell} "
                      f"reports {shorten(_listing(names), 240)}" + (f" (did you mean {near}?)" if near else ""))


def check_figures(lines: Lines, steps: str, figures: list[tuple[str, tuple]], recipe: Any,
                  options: dict[str, Any], cell: str) -> None:
    """Refuse any of ``figures`` (``(SPLIT.NAME, study file key)``) one cell cannot report, naming its line."""
    for metric, where in figures:
        try:
            check_figure(steps, recipe, options, metric, cell, choosing=where[0] == "select")
        except RecipeError as err:
            raise lines.error(where, str(err)) from None


def check_splits(splits: list[str], recipe: Any, steps: str = "train") -> None:
    """Refuse a split a prepared run (a ``steps`` run of ``recipe``: train or run) cannot be scored on."""
    scored = reported(steps, recipe)
    what = "a train run" if steps == "train" else f"speechtl {steps}"
    for split in splits:
        if split not in scored:
            raise RecipeError(f"{shorten(split)}: {what} of this recipe is scored on {', '.join(sorted(scored))}")
