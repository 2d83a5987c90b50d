"""Add a language to a trained multilingual model, and measure what the old languages forget.

Steps: the base model's task plans the new run (speech:
:mod:`speechtl.tasks.speech.add_language`, which documents the strategies), the
run trains, then the new language and every old one are scored on their test
splits, the old ones before and after (the forgetting report, ``forgetting.json``).

    speechtl add-language --base exp/multilingual-synth/model --lang sv \\
        --data recipes/multilingual-synth.yaml --strategy conservative --minutes 10
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from speechtl.errors import CheckpointError, RecipeError
from speechtl.tasks import task_of_model
from speechtl.workflows.add_language_options import REPLAY_MINUTES, STRATEGIES
from speechtl.workflows.evaluate import evaluate
from speechtl.workflows.train import train

log = logging.getLogger(__name__)


@dataclass
class AddLanguageResult:
    exp_dir: Path
    report: dict


def per_by_language(model_path: str | Path, recipe, output: Path, split: str = "test") -> dict[str, float]:
    """``{language: PER}`` of the model on ``split`` of each of the recipe's languages."""
    report = evaluate(model_path, split, recipe=recipe, output=output, progress=False, words=False)
    return {lang: r["rate"] for lang, r in report["per"].items()}


def new_language_scores(model_path: str | Path, recipe, output: Path, language: str,
                        split: str = "test") -> tuple[dict[str, float], dict | None]:
    """The added language's PER on ``split``, and with ``decode.isolated`` and a word list its word accuracy
    (``{"accuracy", "recordings", "vocabulary"}``, each recording of the split decoded alone; else None)."""
    scored = recipe.decode.isolated and bool(recipe.decode.words)
    report = evaluate(model_path, split, recipe=recipe, output=output, progress=False, words=scored)
    per = {lang: r["rate"] for lang, r in report["per"].items()}
    if not (scored and language in report.get("wer", {})):
        return per, None
    wer = report["wer"][language]  # one word out and one in per recording: 1 - WER is the share decoded right
    return per, {"accuracy": 1 - wer["rate"], "recordings": wer["utterances"], "vocabulary": len(recipe.decode.words)}


def forgetting_report(before: dict[str, float], after: dict[str, float], new: dict[str, float],
                      strategy: str, language: str, new_words: dict | None = None) -> dict:
    """Old languages' PER before and after adding ``language``, and the new language's PER.

    Args:
        before / after: ``{language: PER}`` of the old languages (``after`` may lack some,
            e.g. a scratch model has none of them).
        new: ``{language: PER}`` of the added language.
        new_words: ``{"accuracy", "recordings"}`` of the new language's test recordings, each
            decoded alone (``--isolated``), or None.
    """
    old = {lang: {"before": b, "after": after.get(lang), "change": None if lang not in after else after[lang] - b}
           for lang, b in sorted(before.items())}
    changes = [v["change"] for v in old.values() if v["change"] is not None]
    report = {"language": language, "strategy": strategy, "new": new, "old": old,
              "mean_change": sum(changes) / len(changes) if changes else None,
              "max_change": max(changes) if changes else None}
    if new_words:
        report["new_words"] = new_words
    lines = [f"added {language} ({strategy}): PER {100 * new.get(language, float('nan')):.2f}%"
             + (f"; each of its {new_words['recordings']} test recordings decoded alone (the best word of "
                f"{new_words['vocabulary']}): word accuracy {100 * new_words['accuracy']:.2f}%" if new_words else ""),
             f"{'language':<10} {'before':>8} {'after':>8} {'change':>8}"]
    for lang, v in old.items():
        after_s = "-" if v["after"] is None else f"{100 * v['after']:.2f}"
        change_s = "-" if v["change"] is None else f"{100 * v['change']:+.2f}"
        lines.append(f"{lang:<10} {100 * v['before']:>8.2f} {after_s:>8} {change_s:>8}")
    if changes:
        lines.append(f"{'mean':<10} {'':>8} {'':>8} {100 * report['mean_change']:>+8.2f}")
    else:
        lines.append("(the model has none of the old languages: a scratch model starts over)")
    report["table"] = "\n".join(lines)
    return report


def _scored(base_path: str | Path, plan, strategy: str, split: str, before: dict[str, float] | None = None) -> dict:
    """The forgetting report of a trained plan on ``split`` (:func:`forgetting_report`); the files it scores
    into are named as on test with ``_SPLIT`` added (``eval_old_after_dev.json``)."""
    exp, suffix = plan.exp_dir, "" if split == "test" else f"_{split}"
    model_path = exp / "model"
    new, new_words = new_language_scores(model_path, plan.recipe, exp / f"eval_new_language{suffix}.json",
                                         plan.language, split)
    if not plan.old:
        before = {}
    elif before is None:
        before = per_by_language(base_path, plan.old_recipe, exp / f"eval_old_before{suffix}.json", split)
    # a scratch model has none of the old languages
    after = per_by_language(model_path, plan.old_recipe, exp / f"eval_old_after{suffix}.json", split) \
        if strategy != "scratch" and plan.old else {}
    return forgetting_report(before, after, new, strategy, plan.language, new_words)


def add_language(base_path: str | Path, language: str, data: str | Path, strategy: str = "conservative",
                 exp_dir: str | Path | None = None, test_data: str | Path | None = None,
                 minutes: float = 0.0, freeze_blocks: int = -1, overrides: list[str] = (),
                 replace_head: bool = False, before: dict[str, float] | None = None,
                 progress: bool = True, overwrite: bool = False,
                 replay_minutes: float = REPLAY_MINUTES, isolated: bool = False,
                 splits: Sequence[str] = ()) -> AddLanguageResult:
    """Train a model with ``language`` added to the base model's, then write the forgetting report.

    Args:
        base_path: the trained multilingual model.
        data: a recipe whose ``data`` section holds the language, or a Lhotse manifest of its
            training audio (``test_data``: a manifest of its test audio).
        minutes: keep only this many minutes of training audio (0 = all).
        freeze_blocks: layer-transfer's k (-1: half the encoder's blocks).
        replace_head: allow a language the base already has (its head is retrained).
        overwrite: replace an earlier run in the experiment directory.
        replay_minutes: minutes of each base language's own training audio trained beside the
            new data (``transfer.replay``; not for ``scratch``; 0: none).
        before: the old languages' PER of the base model, when already measured (benchmarks).
        isolated: one word per recording (commands, digits): ``decode.isolated`` with the data's word
            list (a manifest's distinct transcripts), and the report gives the new language's word
            accuracy with each test recording decoded alone.
        splits: other splits (e.g. dev) scored as test is: the report's ``splits`` holds each one's
            forgetting report (the new language's PER and word accuracy, the old languages' change).

    Returns:
        The experiment directory and the report (also in ``EXP/forgetting.json``).
    """
    if strategy not in STRATEGIES:
        raise RecipeError(f"--strategy: unknown {strategy!r}; choose from {', '.join(STRATEGIES)}")
    task = task_of_model(base_path)
    if not hasattr(task, "add_language_plan"):
        raise CheckpointError(f"{base_path}: holds a {task.model_kind!r}; add-language needs a speech acoustic model "
                              "(an encoder and per-language CTC heads)")
    plan = task.add_language_plan(base_path, language, data, strategy, exp_dir, test_data, minutes, freeze_blocks,
                                  list(overrides), replace_head, replay_minutes, isolated)
    exp, recipe = plan.exp_dir, plan.recipe
    train(recipe, overwrite=overwrite, progress=progress)
    report = _scored(base_path, plan, strategy, "test", before)
    report.update({"base": str(base_path), "minutes": minutes, "freeze_blocks": plan.freeze_blocks,
                   "replay_minutes": recipe.transfer.replay.minutes,
                   "exp_dir": str(exp)})
    if splits:  # e.g. dev, where a study's choice reads the forgetting: the same report, on that split
        report["splits"] = {split: _scored(base_path, plan, strategy, split) for split in splits if split != "test"}
    (exp / "forgetting.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
    log.info("forgetting report written to %s", exp / "forgetting.json")
    return AddLanguageResult(exp, report)


def zero_shot_head(base_path: str | Path, language: str, data: str | Path, exp_dir: str | Path,
                   test_data: str | Path | None = None, overrides: list[str] = (), isolated: bool = False,
                   splits: Sequence[str] = (), **options) -> AddLanguageResult:
    """Compose a head for ``language`` with no audio of it (``--zero-shot``), then score it on its test split.

    Args:
        data: a recipe whose ``data`` section holds the language's test audio, or a Lhotse manifest
            (``test_data``: the manifest of its test audio); nothing of it is trained on.
        overrides: ``--set`` over the recipe the head is scored with (the base's, with that data).
        isolated: also the word accuracy with each test recording decoded alone (as :func:`add_language`).
        splits: other splits (e.g. dev) scored as test is, into the report's ``splits`` (as :func:`add_language`).
        options: the composition's (``lexicon``, ``text_file``, ``from_head``, ``any_head``, ``replace_head``;
            :func:`speechtl.tasks.speech.zero_shot_language.zero_shot_language`).

    Returns:
        The folder of the new model and the report (also in ``EXP/zero_shot.json``): the new language's PER
        (and word accuracy), the closest trained head, the rule the rows came from, the phonemes mapped.
        The old heads and the encoder are the base's, unchanged: nothing is forgotten.
    """
    task = task_of_model(base_path)
    if not hasattr(task, "zero_shot_language"):
        raise CheckpointError(f"{base_path}: holds a {task.model_kind!r}; a zero-shot head needs a speech acoustic "
                              "model (an encoder and per-language CTC heads)")
    exp = Path(exp_dir)
    made = task.zero_shot_language(base_path, language, exp, **options)
    recipe = task.new_language_recipe(made["model"], made["language"], data, test_data, exp, list(overrides),
                                      isolated=isolated)

    def scored(split: str) -> dict:  # the new language's PER (and word accuracy) on one split
        suffix = "" if split == "test" else f"_{split}"
        new, words = new_language_scores(made["model"], recipe, exp / f"eval_new_language{suffix}.json",
                                         made["language"], split)
        return {"language": made["language"], "new": new, **({"new_words": words} if words else {})}

    report = {**scored("test"), "strategy": "zero-shot", "base": str(base_path),
              **{key: made[key] for key in ("closest", "ranking", "choice", "method", "mix", "mapped", "inventory")},
              "exp_dir": str(exp)}
    if splits:
        report["splits"] = {split: scored(split) for split in splits if split != "test"}
    (exp / "zero_shot.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
    return AddLanguageResult(exp, report)
