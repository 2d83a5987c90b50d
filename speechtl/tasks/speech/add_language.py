"""Adding a language to a trained multilingual speech model: the recipe of the new run.

The speech task's ``add_language_plan`` step (:mod:`speechtl.workflows.add_language`
trains the plan's recipe and writes the forgetting report). A new CTC head over the
new language's inventory joins the base model's heads; the base's heads are kept and
frozen, so they stay bit-identical. What changes is the shared encoder, and how much
it may change is the strategy:

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

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from speechtl.config import load_yaml, set_override
from speechtl.errors import CheckpointError, LanguageError, ManifestError, RecipeError, shorten
from speechtl.models.ctc_checkpoint import UNIVERSAL
from speechtl.models.io import load_model_and_meta
from speechtl.tasks.speech.recipe import Recipe
from speechtl.tasks.speech.data import recipe_of
from speechtl.text.languages import get_language

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
class BaseModel:
    """The model a language is added to, with the recipe it was trained with."""

    model: object
    recipe: Recipe

    @property
    def languages(self) -> list[str]:
        return self.model.languages


def load_base(path: str | Path) -> BaseModel:
    """The base model (an acoustic model file), checked to have phoneme language heads."""
    model, meta = load_model_and_meta(path)
    if not model.languages:
        raise CheckpointError(f"{path}: the model has no language heads to keep")
    if model.units != "phoneme":
        raise CheckpointError(f"{path}: a {model.units} model; add-language needs phoneme heads")
    return BaseModel(model, recipe_of(meta, str(path)))


def data_decode(data: str | Path, isolated: bool = False) -> dict:
    """The ``decode`` section of a data recipe (its word list, ``isolated``), or ``{}`` for a manifest.

    With ``isolated`` (one word per recording: commands, digits) ``decode.isolated`` is set, and a
    manifest's word list is the distinct words of its transcripts (:func:`manifest_words`).
    """
    path = Path(data)
    recipe = path.suffix in (".yaml", ".yml")
    decode = dict(load_yaml(path).get("decode") or {}) if recipe and path.is_file() else {}
    if isolated:
        decode["isolated"] = True
        if not recipe and path.exists():
            decode["words"] = manifest_words(path)
    return decode


def manifest_words(path: Path) -> list[str]:
    """The distinct transcripts of a Lhotse manifest of one-word recordings, normalised as the labels are.

    Raises:
        ManifestError: the manifest cannot be read, or has no transcript.
        RecipeError: a transcript holds more than one word (``--isolated`` scores single words).
    """
    from speechtl.data.manifests import read_manifest
    from speechtl.text.normalize import normalize_text

    manifest = read_manifest(path)
    kind = type(manifest).__name__
    if kind == "CutSet":
        supervisions = [s for cut in manifest for s in cut.supervisions]
    elif kind == "RecordingSet":  # its transcripts are in the Lhotse-named sibling (as data preparation reads them)
        sibling = path.with_name(path.name.replace("recordings", "supervisions"))
        supervisions = list(read_manifest(sibling, "supervisions")) if sibling != path and sibling.is_file() else []
    else:
        supervisions = list(manifest)
    words = set()
    for sup in supervisions:
        text = normalize_text(sup.text or "")
        if len(text.split()) > 1:
            raise RecipeError(f"--isolated: {path}: {sup.id}'s transcript {shorten(text)!r} has "
                              f"{len(text.split())} words; --isolated scores one word per recording")
        words.update(text.split())
    if not words:
        raise ManifestError(f"{path}: no transcript to take the word list of --isolated from")
    return sorted(words)


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
    if strategy not in STRATEGY_SETTINGS:
        raise RecipeError(f"--strategy: unknown {strategy!r}; choose from {', '.join(STRATEGY_SETTINGS)}")
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


def new_language_recipe(model_path: str | Path, language: str, data: str | Path, test_data: str | Path | None,
                        folder: Path, overrides: list[str] = (), isolated: bool = False) -> Recipe:
    """The recipe a new head made without training (``--zero-shot``) is scored with: the model's own recipe
    with the new language's data (as :func:`adaptation_recipe` trains with), its ``decode`` settings, then
    ``overrides`` (``folder``: where a manifest's features go).

    Raises:
        RecipeError: missing data, ``test_data`` beside a recipe, or a bad override.
    """
    language = get_language(language).code
    recipe = load_base(model_path).recipe.to_dict()
    recipe["data"] = data_section(data, language, test_data, Path(folder))
    recipe["decode"] = {**recipe.get("decode", {}), **data_decode(data, isolated)}
    for assignment in overrides:
        set_override(recipe, assignment)
    return Recipe.from_dict(recipe)


def old_language_recipe(base, languages: list[str]) -> Recipe:
    """The base's recipe restricted to its old languages (their test splits)."""
    return dataclasses.replace(base.recipe, data=dataclasses.replace(base.recipe.data, languages=languages))


@dataclass
class AddLanguagePlan:
    """What the add-language workflow trains and scores.

    Attributes:
        language: the new language's code (normalised: "EN" -> "en").
        exp_dir: where the new model is trained.
        recipe: the new run's recipe (the base's, with the new data and the strategy's settings).
        old: the base's languages the forgetting report scores (not the new one, not a universal head).
        old_recipe: the base's recipe restricted to ``old`` (None when there are none).
        freeze_blocks: layer-transfer's k.
    """

    language: str
    exp_dir: Path
    recipe: Recipe
    old: list[str]
    old_recipe: Recipe | None
    freeze_blocks: int


def add_language_plan(base_path: str | Path, language: str, data: str | Path, strategy: str,
                      exp_dir: str | Path | None, test_data: str | Path | None, minutes: float,
                      freeze_blocks: int, overrides: list[str], replace_head: bool,
                      replay_minutes: float, isolated: bool = False) -> AddLanguagePlan:
    """The run that adds ``language`` to the base model (arguments: :func:`speechtl.workflows.add_language.add_language`).

    Raises:
        CheckpointError: the base has no phoneme language heads.
        LanguageError: the base already has ``language`` and ``replace_head`` is false.
        RecipeError: an unknown strategy, negative replay minutes, missing data, a bad override.
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
                               data_decode(data, isolated))
    return AddLanguagePlan(language, exp, recipe, old, old_language_recipe(base, old) if old else None, freeze_blocks)
