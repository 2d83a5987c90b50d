"""Study cells that add a language (``steps: add-language``): their options, checks, run and metrics.

A cell of such a study is ``speechtl add-language`` from a base model, the study's
recipe (or the arm's own) being its ``--data``: a recipe whose ``data`` section holds
the new language. Its options are overrides named ``add-language.OPTION`` (the
command's long options without dashes), so that ``set``, arms, rotations and dev
grids carry them as they carry recipe overrides; every other override is the
command's ``--set`` (the run's recipe: the base's, with the new data). Example::

    steps: add-language
    recipe: recipes/closest-language.yaml     # its data section holds the new languages
    set: ["add-language.model={prepare.source}", add-language.zero-shot=true]
    rotations: {it: [add-language.lang=it], pt: [add-language.lang=pt]}
    arms: {blend: [], any-head: [add-language.any-head=true]}
    metrics: {test.per: lower}

A cell's metrics, on ``test`` and on any other split ``S`` the study reads (e.g. ``dev``, which
a dev grid chooses by): ``S.per`` (the new language's PER on it), ``S.word_accuracy`` (with
``isolated``: each recording decoded alone), and for a trained head (not ``zero-shot``) what
the old languages forgot on their own ``S`` splits: ``S.mean_change``, ``S.max_change`` and
``S.change_LANG`` (PER after minus before; the forgetting report of
:func:`~speechtl.workflows.add_language.add_language`, its ``splits`` for ``S`` other than test).
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from speechtl.errors import RecipeError, SpeechtlError, shorten
from speechtl.files import read_metadata
from speechtl.resources import BUILTIN
from speechtl.text.languages import get_language
from speechtl.workflows.add_language import add_language, zero_shot_head
from speechtl.workflows.add_language_options import REPLAY_MINUTES, STRATEGIES
from speechtl.workflows.study_lines import split_prefixed

STEP = "add-language"
PREFIX = "add-language."  # an override naming an option of the command, not a recipe key


@dataclass(frozen=True)
class Option:
    """One option of ``speechtl add-language`` as a study sets it."""

    kind: type  # str, bool, int or float
    use: str = "both"  # zero-shot: only with zero-shot; trained: only without; both
    minimum: float | None = None
    choices: tuple[str, ...] = ()


OPTIONS = {
    "model": Option(str),  # the base: a model path, builtin:NAME or {prepare.NAME}
    "lang": Option(str),
    "zero-shot": Option(bool),
    "data": Option(str),  # default: the cell's recipe
    "test-data": Option(str),
    "replace-head": Option(bool),
    "isolated": Option(bool),
    "lexicon": Option(str, "zero-shot"),
    "text-file": Option(str, "zero-shot"),
    "from": Option(str, "zero-shot"),
    "any-head": Option(bool, "zero-shot"),
    "strategy": Option(str, "trained", choices=STRATEGIES),
    "minutes": Option(float, "trained", 0.0),
    "replay-minutes": Option(float, "trained", 0.0),
    "freeze-blocks": Option(int, "trained", -1),
}
FILES = ("data", "test-data", "lexicon", "text-file")  # options that name a file, checked to exist
FORGETTING = ("mean_change", "max_change")  # figures of a trained head besides per and change_LANG


def option_value(key: str, raw: str, check: bool = False) -> Any:
    """The value of override ``add-language.KEY=RAW`` (RAW read as YAML), of the option's type and range.

    Args:
        check: also check what it names (when the study file is read): the language is known, the file and
            the base model (unless a ``{prepare.NAME}``, trained later) exist.

    Raises:
        RecipeError: an unknown option, a wrong type, a value out of range, or (``check``) a missing file or
            model or an unknown language; the message names the option.
    """
    name = key.removeprefix(PREFIX)
    if name not in OPTIONS:
        raise RecipeError(f"{shorten(key)}: unknown option; add-language accepts {', '.join(OPTIONS)}")
    option = OPTIONS[name]
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    if option.kind is str and not isinstance(value, str):
        value = raw.strip()  # lang=no, model={prepare.x}: YAML's bool or mapping, meant as text
    if option.kind is float and type(value) is int:
        value = float(value)
    if not isinstance(value, option.kind) or (option.kind is not bool and isinstance(value, bool)):
        raise RecipeError(f"{shorten(key)}: expected {option.kind.__name__}, got {shorten(repr(value))}")
    if option.kind is str and not value:
        raise RecipeError(f"{shorten(key)}: expected a non-empty value")
    if option.choices and value not in option.choices:
        raise RecipeError(f"{shorten(key)}: {shorten(repr(value))}; choose from {', '.join(option.choices)}")
    if option.minimum is not None and value < option.minimum:
        raise RecipeError(f"{shorten(key)}: {value:g} is below {option.minimum:g}")
    if check:
        _check_names(key, name, value)
    return value


def _check_names(key: str, name: str, value: Any) -> None:
    """Refuse an option naming a missing file or model, or an unknown language."""
    if name in FILES and not Path(value).exists():
        raise RecipeError(f"{shorten(key)}: no such file {shorten(value, 200)}")
    try:
        if name == "lang":
            get_language(value)
        elif name == "model" and "{prepare." not in value:  # a prepared model is trained by the study, later
            read_metadata(value)
    except SpeechtlError as err:
        raise RecipeError(f"{shorten(key)}: {err}") from None


def split_options(overrides: list[str], check: bool = False) -> tuple[dict[str, Any], list[str]]:
    """The add-language options among ``overrides`` (later ones win; ``check``: see :func:`option_value`) and
    the other overrides, in order."""
    return split_prefixed(overrides, PREFIX, lambda key, raw: option_value(key, raw, check))


def check_options(options: dict[str, Any]) -> None:
    """Refuse a whole cell's options before anything runs: a missing base or language, an option of the other
    kind of cell (zero-shot or trained); each option's own value is checked by :func:`option_value`.

    Raises:
        RecipeError: what is wrong, naming the option.
    """
    for name in ("model", "lang"):
        if name not in options:
            raise RecipeError(f"{PREFIX}{name}: missing; every add-language cell needs a base model "
                              f"({PREFIX}model: a path, {BUILTIN}NAME or {{prepare.NAME}}) and {PREFIX}lang")
    zero_shot = options.get("zero-shot", False)
    for name in options:
        if OPTIONS[name].use == ("trained" if zero_shot else "zero-shot"):
            raise RecipeError(f"{PREFIX}{name}: only for a {OPTIONS[name].use} cell; this one is "
                              f"{'zero-shot (it trains nothing)' if zero_shot else 'trained (no zero-shot)'}")


def check_metric(options: dict[str, Any], metric: str, choosing: bool = False) -> None:
    """Refuse a metric (``SPLIT.NAME``) that a cell with these options does not report.

    Args:
        choosing: ``metric`` is what a dev grid chooses by, so a figure that does not apply (a scratch
            model's forgetting: it has no old languages) is refused too.

    Raises:
        RecipeError: what is wrong, naming the metric.
    """
    zero_shot = options.get("zero-shot", False)
    name = metric.split(".", 1)[1]
    forgetting = not zero_shot and (name in FORGETTING or name.startswith("change_"))
    words = name == "word_accuracy" and options.get("isolated", False)
    if not (name == "per" or forgetting or words):
        raise RecipeError(f"metric {shorten(metric)}: a{' zero-shot' if zero_shot else 'n'} add-language cell "
                          f"reports SPLIT.per, SPLIT.word_accuracy (with {PREFIX}isolated)"
                          + ("" if zero_shot else ", SPLIT.mean_change, SPLIT.max_change, SPLIT.change_LANG"))
    if choosing and forgetting and options.get("strategy") == "scratch":
        raise RecipeError(f"metric {shorten(metric)}: a scratch model has none of the old languages, so it "
                          "forgets nothing to choose by")


def data_setup(recipe: str, overrides: list[str]) -> str:
    """What decides the corpus a cell reads (the new language's data): cells alike share it (``--jobs``)."""
    options, rest = split_options(overrides)
    return json.dumps([options.get("data", recipe), options.get("test-data"), options.get("lang"),
                       sorted(o for o in rest if o.startswith(("data.", "features.")))])


def _figures(report: dict) -> dict[str, float | None]:
    """A split's metrics from its add-language, forgetting or zero-shot report (see the module docstring).

    A trained head's forgetting figures are None where they do not apply (a scratch model has none of the old
    languages): the summary leaves them out of that arm's figures, where a missing name is a typo it refuses.
    """
    figures = {"per": report["new"][report["language"]]}
    if report.get("new_words"):
        figures["word_accuracy"] = report["new_words"]["accuracy"]
    figures.update({f"change_{lang}": old["change"] for lang, old in report.get("old", {}).items()})
    figures.update({name: report[name] for name in FORGETTING if name in report})
    return figures


def run_add_language(recipe: str, overrides: list[str], exp: Path, splits: list[str]) -> dict:
    """Add the cell's language (``overrides`` resolved: the base model is a path) and score it on ``splits``.

    Returns:
        The record's fields: ``metrics`` (``{split: {metric: value}}``) and ``add_language`` (how the head
        was made: its strategy, closest trained head, the rows' rule).
    """
    options, rest = split_options(overrides)
    data, test_data = options.get("data", recipe), options.get("test-data")
    if options.get("zero-shot"):
        result = zero_shot_head(options["model"], options["lang"], data, exp, test_data, rest,
                                options.get("isolated", False), _others(splits), lexicon=options.get("lexicon"),
                                text_file=options.get("text-file"), from_head=options.get("from"),
                                any_head=options.get("any-head", False),
                                replace_head=options.get("replace-head", False))
    else:  # the other splits (dev) scored as test is: the new language and the old languages' forgetting
        result = add_language(options["model"], options["lang"], data, options.get("strategy", "conservative"),
                              exp, test_data, options.get("minutes", 0.0), options.get("freeze-blocks", -1), rest,
                              replace_head=options.get("replace-head", False), progress=False, overwrite=True,
                              replay_minutes=options.get("replay-minutes", REPLAY_MINUTES),
                              isolated=options.get("isolated", False), splits=_others(splits))
    report = result.report
    metrics = {"test": _figures(report), **{split: _figures(r) for split, r in report.get("splits", {}).items()}}
    kept = ("language", "strategy", "closest", "choice", "method", "mix", "mapped", "freeze_blocks", "replay_minutes")
    return {"metrics": metrics, "add_language": {k: report[k] for k in kept if k in report}}


def _others(splits: list[str]) -> list[str]:
    """The splits a cell scores besides test (which every add-language report has)."""
    return [split for split in splits if split != "test"]


def command(recipe: str, overrides: list[str], exp: Path, splits: list[str]) -> str:
    """The shell commands a cell equals (``overrides`` resolved): ``speechtl add-language`` (its ``--splits``:
    the splits besides test), or for a zero-shot head that, then ``speechtl eval`` of it on every split."""
    options, rest = split_options(overrides)
    zero_shot = options.get("zero-shot", False)
    flags = [f"--{name}" if value is True else f"--{name} {shlex.quote(str(value))}"
             for name, value in options.items() if value is not False and name != "data"]
    sets = [f"--set {shlex.quote(o)}" for o in rest]
    data = options.get("data", recipe)
    trained = [f"--data {shlex.quote(data)}", *sets, *([f"--splits {' '.join(_others(splits))}"] if _others(splits)
                                                     else [])]
    line = " ".join(["speechtl add-language", *flags, *([] if zero_shot else trained),
                     f"-o {shlex.quote(str(exp))}", *([] if zero_shot else ["--overwrite"])])
    lang = shlex.quote(f"data.languages=[{options.get('lang')}]")
    evals = [f"speechtl eval --model {shlex.quote(str(exp))} --split {split} --recipe {shlex.quote(data)} "
             + " ".join([*sets, f"--set {lang}"]) for split in (splits if zero_shot else [])]
    return " && ".join([line, *evals])
