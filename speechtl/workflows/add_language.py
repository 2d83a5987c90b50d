"""Add a language to a trained multilingual model, and measure what the old languages forget.

A new CTC head over the new language's inventory joins the base model's heads;
the base's heads are kept and frozen, so they stay bit-identical. What changes
is the shared encoder, and how much it may change is the strategy:

* ``scratch``: a new model of the same architecture trained on the new data alone
  (the baseline; it has no old languages to forget).
* ``finetune``: start from the base, train the encoder and the new head.
* ``layer-transfer``: start from the base, freeze the front end and the first k
  encoder blocks, train the rest and the new head (Yosinski et al. 2014).
* ``conservative``: as ``finetune`` plus L2-SP towards the base weights and a KL
  term keeping the old heads' outputs on the new audio where the base had them
  (learning without forgetting, Li & Hoiem 2016).

Every strategy but ``scratch`` also replays each base language's first minutes of
the base's own training audio (``transfer.replay``, ``--replay-minutes``): the
regularisers above only see the new audio, and when that audio comes from another
domain (real recordings added to a model trained on eSpeak) the encoder drifts where
nothing watches it. A head the new data retrains (``--replace-head``) is left out of
the KL term, and the data recipe's ``decode`` section (a command list,
``decode.isolated``) is kept with the model.

The new head's rows for phonemes another language already has start from that
language's rows. After training, every old language is scored on its own test
split before and after (the forgetting report, ``forgetting.json``).

    speechtl add-language --base exp/multilingual-synth/model --lang sv \\
        --data recipes/multilingual-synth.yaml --strategy conservative --minutes 10
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from speechtl.config import load_yaml, set_override
from speechtl.errors import CheckpointError, LanguageError, LexiconError, RecipeError
from speechtl.models.ctc_checkpoint import UNIVERSAL
from speechtl.models.io import load_model_and_meta
from speechtl.tasks import task_of_model
from speechtl.tasks.speech.recipe import Recipe
from speechtl.text.languages import get_language, head_code
from speechtl.workflows.add_language_options import REPLAY_MINUTES, STRATEGIES
from speechtl.workflows.evaluate import evaluate
from speechtl.workflows.train import train

log = logging.getLogger(__name__)

# conservative training's weights (KL to the base's old-head outputs, L2-SP to the base weights)
CONSERVATIVE_KL, CONSERVATIVE_L2SP = 30.0, 0.3

# settings each strategy adds to the recipe (``{base}`` and ``{k}`` are filled in)
STRATEGY_SETTINGS: dict[str, list[str]] = {
    "scratch": ["train.lr=0.002"],
    "finetune": ["transfer.source={base}", "transfer.keep_source_heads=true"],
    "layer-transfer": ["transfer.source={base}", "transfer.keep_source_heads=true",
                       "transfer.layers.freeze=true", "transfer.layers.freeze_blocks={k}"],
    # weights chosen on the dev splits by benchmarks/add_language.py --conservative-grid
    # (add_language_dev.json, docs/results/add-language.md): KL 30 + L2-SP 0.3 forgot least on dev
    # (+1.18 against +1.19 at 100 / 1.0 and +1.44 at 10 / 0.1). Until 2026-12-07 the default was
    # KL 100 + L2-SP 1.0, raised on the test splits until the forgetting goal passed; figures measured
    # with it (add_language_real.json) were not re-measured with these weights.
    "conservative": ["transfer.source={base}", "transfer.keep_source_heads=true", "transfer.methods=[l2sp,kl]",
                     "transfer.kl.heads=source", f"transfer.kl.weight={CONSERVATIVE_KL:g}",
                     f"transfer.l2sp.weight={CONSERVATIVE_L2SP:g}"],
}

# training settings for a few minutes of audio (any of them can be overridden with --set)
ADAPT_TRAIN = ["train.max_steps=150", "train.warmup_steps=15", "train.lr=0.001", "train.max_duration=60",
               "train.checkpoint_every=50", "train.log_every=10"]


@dataclass
class AddLanguageResult:
    exp_dir: Path
    report: dict


@dataclass
class BaseModel:
    """The model a language is added to, with the recipe it was trained with."""

    model: object
    recipe: Recipe

    @property
    def languages(self) -> list[str]:
        return self.model.languages


def load_base(path: str | Path) -> BaseModel:
    """The base model, checked to be a phoneme acoustic model with language heads."""
    task = task_of_model(path)
    if task.model_kind != "acoustic-model":
        raise CheckpointError(f"{path}: holds a {task.model_kind!r}; add-language needs a speech acoustic model "
                              "(an encoder and per-language CTC heads)")
    model, meta = load_model_and_meta(path)
    if not model.languages:
        raise CheckpointError(f"{path}: the model has no language heads to keep")
    if model.units != "phoneme":
        raise CheckpointError(f"{path}: a {model.units} model; add-language needs phoneme heads")
    return BaseModel(model, task.recipe_of(meta, str(path)))


def data_decode(data: str | Path) -> dict:
    """The ``decode`` section of a data recipe (its word list, ``isolated``), or ``{}`` for a manifest."""
    path = Path(data)
    return dict(load_yaml(path).get("decode") or {}) if path.suffix in (".yaml", ".yml") and path.is_file() else {}


def data_section(data: str | Path, language: str, test_data: str | Path | None, root: Path) -> dict:
    """The new language's ``data`` section: from a recipe's, or a Lhotse manifest of training audio."""
    path = Path(data)
    if not path.exists():
        raise RecipeError(f"--data: {path} does not exist (a recipe YAML or a Lhotse manifest)")
    if path.suffix in (".yaml", ".yml"):
        section = dict(load_yaml(path).get("data") or {})
        if test_data:
            raise RecipeError("--test-data: only with a manifest as --data (a recipe has its own test split)")
    else:
        parts = [{"path": str(path), "split": "train", "language": language}]
        if test_data:
            parts.append({"path": str(test_data), "split": "test", "language": language})
        section = {"corpus": "lhotse", "root": str(root / "data"), "parts": parts}
    section["languages"] = [language]
    return section


def adaptation_recipe(base, language: str, data: dict, strategy: str, exp_dir: Path, base_path: str,
                      freeze_blocks: int, minutes: float, overrides: list[str], replay_minutes: float = 0.0,
                      decode: dict | None = None) -> Recipe:
    """The base model's recipe with the new data, the strategy's settings and the user's overrides.

    Args:
        replay_minutes: ``transfer.replay.minutes`` for the strategies that start from the base.
        decode: settings of the data recipe's ``decode`` section (e.g. its word list) over the base's.
    """
    if strategy not in STRATEGIES:
        raise RecipeError(f"--strategy: unknown {strategy!r}; choose from {', '.join(STRATEGIES)}")
    if replay_minutes < 0:
        raise RecipeError(f"--replay-minutes: {replay_minutes:g} is negative (0 replays nothing)")
    recipe = base.recipe.to_dict()
    recipe["data"] = data
    recipe["decode"] = {**recipe.get("decode", {}), **(decode or {})}
    recipe["transfer"] = {}
    recipe.pop("name", None)
    for assignment in ADAPT_TRAIN + [f"train.exp_dir={exp_dir}", f"data.train_minutes={minutes}"]:
        set_override(recipe, assignment)
    for assignment in STRATEGY_SETTINGS[strategy]:
        set_override(recipe, assignment.format(base=base_path, k=freeze_blocks))
    if strategy != "scratch" and replay_minutes:
        set_override(recipe, f"transfer.replay.minutes={replay_minutes:g}")
    if language in base.languages and "kl" in recipe["transfer"].get("methods", []):
        # --replace-head: the new data's labels teach that head; KL would pull it back to the base's outputs
        set_override(recipe, f"transfer.kl.exclude=[{language}]")
    for assignment in overrides:
        set_override(recipe, assignment)
    recipe["name"] = f"add-{language}-{strategy}"
    return Recipe.from_dict(recipe)


def per_by_language(model_path: str | Path, recipe: Recipe, output: Path) -> dict[str, float]:
    report = evaluate(model_path, "test", recipe=recipe, output=output, progress=False, words=False)
    return {lang: r["rate"] for lang, r in report["per"].items()}


def forgetting_report(before: dict[str, float], after: dict[str, float], new: dict[str, float],
                      strategy: str, language: str) -> dict:
    """Old languages' PER before and after adding ``language``, and the new language's PER.

    Args:
        before / after: ``{language: PER}`` of the old languages (``after`` may lack some,
            e.g. a scratch model has none of them).
        new: ``{language: PER}`` of the added language.
    """
    old = {lang: {"before": b, "after": after.get(lang), "change": None if lang not in after else after[lang] - b}
           for lang, b in sorted(before.items())}
    changes = [v["change"] for v in old.values() if v["change"] is not None]
    report = {"language": language, "strategy": strategy, "new": new, "old": old,
              "mean_change": sum(changes) / len(changes) if changes else None,
              "max_change": max(changes) if changes else None}
    lines = [f"added {language} ({strategy}): PER {100 * new.get(language, float('nan')):.2f}%",
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


def old_language_recipe(base, languages: list[str]) -> Recipe:
    """The base's recipe restricted to its old languages (their test splits)."""
    import dataclasses

    return dataclasses.replace(base.recipe, data=dataclasses.replace(base.recipe.data, languages=languages))


def add_language(base_path: str | Path, language: str, data: str | Path, strategy: str = "conservative",
                 exp_dir: str | Path | None = None, test_data: str | Path | None = None,
                 minutes: float = 0.0, freeze_blocks: int = -1, overrides: list[str] = (),
                 replace_head: bool = False, before: dict[str, float] | None = None,
                 progress: bool = True, overwrite: bool = False,
                 replay_minutes: float = REPLAY_MINUTES) -> AddLanguageResult:
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

    Returns:
        The experiment directory and the report (also in ``EXP/forgetting.json``).
    """
    language = get_language(language).code  # "EN", " en" -> "en": one head per language
    base = load_base(base_path)
    if language in base.languages and not replace_head:
        raise LanguageError(f"{base_path} already has a head for {language!r}; pass --replace-head to retrain it "
                            "(its old head is the starting point)")
    if freeze_blocks < 0:
        freeze_blocks = len(base.model.encoder.blocks) // 2
    # a CTC checkpoint's universal head has no test (or replay) audio: it is kept (and KL-watched), not scored
    old = [lang for lang in base.languages if lang not in (language, UNIVERSAL)]
    replay_minutes = replay_minutes if old else 0.0
    exp = Path(exp_dir or f"exp/add-{language}-{strategy}")
    recipe = adaptation_recipe(base, language, data_section(data, language, test_data, exp), strategy, exp,
                               str(base_path), freeze_blocks, minutes, list(overrides), replay_minutes,
                               data_decode(data))
    train(recipe, overwrite=overwrite, progress=progress)
    model_path = exp / "model"
    new = per_by_language(model_path, recipe, exp / "eval_new_language.json")
    if not old:
        before = {}
    elif before is None:
        before = per_by_language(base_path, old_language_recipe(base, old), exp / "eval_old_before.json")
    # a scratch model has none of the old languages
    after = per_by_language(model_path, old_language_recipe(base, old), exp / "eval_old_after.json") \
        if strategy != "scratch" and old else {}
    report = forgetting_report(before, after, new, strategy, language)
    report.update({"base": str(base_path), "minutes": minutes, "freeze_blocks": freeze_blocks,
                   "replay_minutes": recipe.transfer.replay.minutes,
                   "exp_dir": str(exp)})
    (exp / "forgetting.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
    log.info("forgetting report written to %s", exp / "forgetting.json")
    return AddLanguageResult(exp, report)


def zero_shot_language(base_path: str | Path, language: str, output: str | Path, lexicon: str | Path | None = None,
                       text_file: str | Path | None = None, words: int = 2000, replace_head: bool = False,
                       from_head: str | None = None, any_head: bool = False) -> dict:
    """Add a head for ``language`` composed from its phoneme inventory alone, with no audio of it.

    The inventory is the phonemes of ``lexicon`` (any phone set already converted), or
    those eSpeak NG gives the language's ``words`` most frequent words (wordfreq's, or
    ``text_file``'s). With attribute detectors in the base (``model.attributes`` > 0)
    each phoneme's row is composed from its articulatory attributes, averaged with
    the row of its nearest phoneme in the trained head closest by sound
    (:mod:`speechtl.text.closest`; ``from_head``: that head; ``any_head``: the nearest in
    any head, ties to the closest); without, the
    nearest phoneme's row alone (:func:`~speechtl.models.attributes.zero_shot_head`).

    Returns:
        ``{"model": path, "inventory": [...], "method": "attributes"|"nearest-phone", "closest": language,
        "ranking": [(head, distance), ...], "mix": weight of the composed head,
        "mapped": {phoneme the closest head lacks: "its nearest" or "head:phoneme" of another head}}``.
    """
    from speechtl.models.attributes import phoneme_counts, zero_shot_head
    from speechtl.models.io import SECTIONS, read_model, save_model
    from speechtl.text.g2p_lexicon import inventory_lexicon
    from speechtl.text.inventory import Inventory
    from speechtl.text.lexicon import Lexicon

    language = get_language(language).code  # "EN", " en" -> "en": one head per language
    model, extra_state, meta = read_model(base_path)
    if language in model.languages and not replace_head:
        raise LanguageError(f"{base_path} already has a head for {language!r}; pass --replace-head to replace it")
    source, note = (Lexicon.read(lexicon), "") if lexicon else inventory_lexicon(language, words, text_file)
    if note:
        log.warning(note)
    if not len(source):
        raise LexiconError(f"{lexicon}: no pronunciation to take the {language} inventory from")
    inventory = Inventory(source.symbols())
    counts = phoneme_counts(pron for _, pron in source.items())
    if from_head is not None:
        from_head = head_code(from_head, model.languages)
    head, made = zero_shot_head(model.heads, model.attributes, inventory, counts=counts, source=from_head,
                                any_head=any_head)
    mapped = made["mapped"]
    method = "attributes" if made["mix"] > 0 else "nearest-phone"
    if model.attributes is None:
        log.warning("%s: the base model has no attribute detectors (train with model.attributes > 0); "
                    "%d phonemes no head has start from their nearest phoneme's row", base_path, len(mapped))
    model.heads.put(language, inventory, head)
    stem = Path(output) / "model"
    kept = {k: v for k, v in meta.items()
            if k not in {"kind", "format", "version", "sha256", "inventories", "unit_models", *SECTIONS}}
    save_model(model, stem, extra_state=extra_state, **kept)
    return {"model": str(stem), "inventory": inventory.phonemes, "method": method, "mapped": mapped,
            "closest": made["closest"], "mix": made["mix"], "ranking": made["ranking"],
            "words": len(source), "language": language}
