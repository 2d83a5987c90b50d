"""The speech task's data: a recipe's splits, its augmented copies and its target domain.

The corpus comes from the recipe's ``data`` section (a corpus adapter,
:mod:`speechtl.data.corpora`). Training reads one lazily written manifest
(:func:`training_manifest`, :mod:`speechtl.data.training_cuts`); evaluation splits
are read through the recipe's channel (``data.channel``), restricted to its
languages, into utterances held in memory (:func:`load_split`).
The target domain (``data.target``) is another corpus or split, tagged
``domain="target"`` and unlabelled unless ``data.target.labelled`` is set or a
pseudo-label file (self-training) labels some of it.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

from speechtl.data.channel import parse_channel
from speechtl.data.corpora import prepare_corpus
from speechtl.data.dataset import CutAudioPool, Utterance, load_utterances
from speechtl.data.training_cuts import CutPart, TrainingCuts, write_training_cuts
from speechtl.decoding.evaluate import evaluate_per
from speechtl.errors import CheckpointError, LanguageError, ManifestError, RecipeError
from speechtl.files import read_metadata
from speechtl.tasks.speech.recipe import Recipe
from speechtl.text.inventory import Inventory
from speechtl.text.subword import encode, processor, train_sentencepiece
from speechtl.text.units import UnitConfig
from speechtl.transfer.labels import label_values

log = logging.getLogger(__name__)


def load_split(recipe: Recipe, split: str, cuts=None, progress: bool = False, channel: str | None = None,
               key_suffix: str = "") -> list[Utterance]:
    """Features of one split of the recipe's corpus, restricted to its languages.

    The audio passes through ``channel`` (default ``data.channel``; see
    :mod:`speechtl.data.channel`), seeded by ``data.synth.seed`` and each utterance id
    plus ``key_suffix``.
    """
    if cuts is None:
        cuts = prepare_corpus(recipe.data, progress=progress)
    spec = recipe.data.channel if channel is None else channel
    ch = parse_channel(spec, recipe.data.synth.seed, pool=CutAudioPool(cuts[split]))  # babble: the split's others
    transform = None if ch is None else (lambda wave, sr, key: ch(wave, sr, key + key_suffix))
    utts, report = load_utterances(cuts[split], recipe.features, languages=recipe.data.languages,
                                   progress=progress, desc=f"{split} features",
                                   max_duration=recipe.data.max_duration, transform=transform)
    report.log(split)
    if split == "train" and recipe.data.train_minutes:
        utts = first_minutes(utts, recipe.data.train_minutes, recipe.features.frames_per_second)
    if not utts:
        raise ManifestError(f"{recipe.data.root}: no usable {split} utterances for languages "
                            f"{', '.join(recipe.data.languages)} in corpus {recipe.data.corpus!r}"
                            + (f" ({len(report.skipped)} skipped, see the log)" if report.skipped else ""))
    return utts


def first_minutes(utts: list[Utterance], minutes: float, frames_per_second: float) -> list[Utterance]:
    """Each language's first utterances up to ``minutes`` of audio (low-resource training sets)."""
    budget = minutes * 60 * frames_per_second
    used: dict[str, float] = {}
    out = []
    for u in utts:
        if used.get(u.language, 0.0) + u.feats.shape[0] <= budget:
            used[u.language] = used.get(u.language, 0.0) + u.feats.shape[0]
            out.append(u)
    log.info("data.train_minutes=%g: kept %s", minutes,
             ", ".join(f"{lang} {n / frames_per_second / 60:.1f} min" for lang, n in sorted(used.items())))
    return out


def augmented_copies(recipe: Recipe, cuts, progress: bool = False) -> list[Utterance]:
    """One copy of every training utterance per ``data.augment`` channel (after ``data.channel``)."""
    out: list[Utterance] = []
    for i, spec in enumerate(recipe.data.augment):
        suffix = f"+aug{i}"
        chain = "+".join(s for s in (recipe.data.channel, spec) if s)
        copies = load_split(recipe, "train", cuts, progress, channel=chain, key_suffix=suffix)
        out += [dataclasses.replace(u, id=u.id + suffix) for u in copies]
    return out


def build_inventories(utterances: list[Utterance]) -> dict[str, Inventory]:
    """One inventory per language from the phonemes of its labelled (training) utterances."""
    by_lang: dict[str, list[str]] = {}
    for u in utterances:
        if u.labelled:
            by_lang.setdefault(u.language, []).append(u.phonemes)
    return {lang: Inventory.from_transcripts(lines) for lang, lines in sorted(by_lang.items())}


def target_recipe(recipe: Recipe) -> Recipe:
    """The recipe with ``data`` pointing at the target domain (``data.target``: corpus, root, channel).

    The target corpus's parts are ``data.target.parts`` when it names some (a real corpus
    other than the main one, such as FSDD recordings beside a synthetic source), else ``data.parts``.
    """
    t = recipe.data.target
    if not t.corpus:
        raise RecipeError("data.target.corpus: this recipe has no target domain")
    data = dataclasses.replace(recipe.data, corpus=t.corpus, root=t.root or recipe.data.root,
                               parts=t.parts or recipe.data.parts, channel=t.channel, augment=[])
    return dataclasses.replace(recipe, data=data)


def read_pseudo_labels(path: str | Path) -> dict[str, str]:
    """``{utterance id: phoneme string}`` from a JSONL file of ``{"id", "phonemes"}`` objects."""
    labels = {}
    for lineno, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            labels[str(row["id"])] = str(row["phonemes"])
        except (json.JSONDecodeError, KeyError, TypeError):
            raise ManifestError(f"{path}:{lineno}: expected a JSON object with id and phonemes") from None
    return labels


def load_target_domain(recipe: Recipe, progress: bool = False, split: str | None = None) -> list[Utterance]:
    """The recipe's target-domain utterances (``data.target``), tagged ``domain="target"``.

    They are unlabelled (their transcripts never reach the task loss) unless
    ``data.target.labelled`` is set; ``data.target.pseudo_labels`` (a file the
    self-training workflow writes) labels those it names with its phonemes.
    ``split`` defaults to ``data.target.split``.
    """
    t = recipe.data.target
    if not t.corpus:
        return []
    target = target_recipe(recipe)
    split = split or t.split
    try:
        cuts = prepare_corpus(target.data, progress=progress)
    except (ManifestError, LanguageError) as err:
        if not t.parts:
            raise
        raise type(err)(str(err).replace("data.parts", "data.target.parts")) from None  # name the recipe key
    if split not in cuts:
        raise RecipeError(f"data.target: {t.corpus} has no split {split!r}; it has {', '.join(cuts)}")
    utts = load_split(target, split, cuts, progress=progress)
    if t.max_utterances and split == t.split:
        utts = utts[: t.max_utterances]
    if t.labelled and not any(u.phonemes for u in utts):
        raise RecipeError(f"data.target.labelled: the target domain ({t.corpus}) has no transcripts; "
                          "train on it unlabelled (DANN, self-training) or give a transcribed corpus")
    pseudo = read_pseudo_labels(t.pseudo_labels) if t.pseudo_labels and split == t.split else {}
    return [dataclasses.replace(u, domain="target", labelled=True, phonemes=pseudo[u.id]) if u.id in pseudo
            else dataclasses.replace(u, domain="target", labelled=t.labelled) for u in utts]


def repeated(utts: list[Utterance], times: int) -> list[Utterance]:
    """``times`` copies of each utterance (features shared, ids kept unique), e.g. to balance domains."""
    return [dataclasses.replace(u, id=f"{u.id}#{r}") if r else u for r in range(times) for u in utts]


def item_labels(utts: list[Utterance]) -> dict[str, list[str]]:
    """Values of each item label (``language``, ``speaker``, ``domain``) for transfer methods."""
    return {"language": label_values(u.language for u in utts), "speaker": label_values(u.speaker for u in utts),
            "domain": label_values(u.domain for u in utts)}


def training_parts(recipe: Recipe) -> list[CutPart]:
    """The recipe's training data as parts: the train split, its augmented copies, the target domain."""
    d = recipe.data
    train = prepare_corpus(d, progress=False)["train"]
    parts = [CutPart("train", train, d.channel, minutes=d.train_minutes)]
    for i, spec in enumerate(d.augment):
        chain = "+".join(s for s in (d.channel, spec) if s)
        parts.append(CutPart(f"train+aug{i}", train, chain, suffix=f"+aug{i}", minutes=d.train_minutes))
    t = d.target
    if t.corpus:
        target = target_recipe(recipe)
        try:
            cuts = prepare_corpus(target.data, progress=False)
        except (ManifestError, LanguageError) as err:
            if not t.parts:
                raise
            raise type(err)(str(err).replace("data.parts", "data.target.parts")) from None
        if t.split not in cuts:
            raise RecipeError(f"data.target: {t.corpus} has no split {t.split!r}; it has {', '.join(cuts)}")
        pseudo = read_pseudo_labels(t.pseudo_labels) if t.pseudo_labels else {}
        parts.append(CutPart("target", cuts[t.split], t.channel, domain="target", labelled=t.labelled, pseudo=pseudo,
                             repeat=t.repeat, max_utterances=t.max_utterances))
    if recipe.transfer.replay.minutes:
        parts.append(replay_part(recipe))
    return parts


def recipe_of(meta: dict, source: str) -> Recipe:
    """The recipe a model was trained with (recorded in its metadata ``meta``; ``source`` names it in errors)."""
    try:
        return Recipe.from_dict(meta["recipe"])
    except (KeyError, RecipeError) as err:
        raise CheckpointError(f"{source}: malformed model metadata (recipe): {str(err)[:300]}") from None


def replay_part(recipe: Recipe) -> CutPart:
    """``transfer.replay``: each replayed language's first minutes of the source model's training split.

    The audio goes through the source's own channel, so it is the domain the source's
    heads were trained in (its corpus is prepared as the source's recipe made it).
    """
    replay = recipe.transfer.replay
    source = recipe_of(read_metadata(recipe.transfer.source), recipe.transfer.source)
    languages = replay.languages or source.data.languages
    unknown = [lang for lang in languages if lang not in source.data.languages]
    if unknown:
        raise RecipeError(f"transfer.replay.languages: {', '.join(unknown)} not among the source model's "
                          f"training languages ({', '.join(source.data.languages)})")
    cuts = prepare_corpus(dataclasses.replace(source.data, languages=list(languages)), progress=False)
    return CutPart("replay", cuts["train"], source.data.channel, minutes=replay.minutes, languages=tuple(languages))


def training_manifest(recipe: Recipe, folder: Path) -> TrainingCuts:
    """Write the run's training manifest to ``folder`` (features stored under ``data.root/features``)."""
    cuts = write_training_cuts(training_parts(recipe), Path(recipe.data.root) / "features", folder / "cuts.jsonl.gz",
                               recipe.features, recipe.data.synth.seed, recipe.data.feature_storage,
                               recipe.data.languages, min(recipe.data.max_duration, recipe.train.max_duration))
    if not cuts.count:
        raise ManifestError(f"{recipe.data.root}: no usable training utterances for languages "
                            f"{', '.join(recipe.data.languages)} in corpus {recipe.data.corpus!r}"
                            + (f" ({len(cuts.skipped)} skipped, see the log)" if cuts.skipped else ""))
    return cuts


def subword_cuts(cuts: TrainingCuts, units: UnitConfig, folder: Path) -> tuple[TrainingCuts, dict[str, bytes]]:
    """The training manifest with SentencePiece pieces of each text as targets, and the models per language.

    One SentencePiece model per language is trained on the labelled training texts.
    """
    from lhotse import CutSet
    from lhotse.utils import fastcopy

    texts: dict[str, list[str]] = {}
    for cut in cuts.cuts():
        if cut.custom.get("labelled", True):
            sup = cut.supervisions[0]
            texts.setdefault(sup.language, []).append(sup.text or "")
    models = {lang: train_sentencepiece(lines, units.subword_vocab, units.subword_model)
              for lang, lines in sorted(texts.items())}
    procs = {lang: processor(m) for lang, m in models.items()}
    out = folder / "cuts_subword.jsonl.gz"
    symbols: dict[str, set[str]] = {}
    with CutSet.open_writer(out) as writer:
        for cut in cuts.cuts():
            sup = cut.supervisions[0]
            if sup.language in procs:
                pieces = encode(procs[sup.language], sup.text or "")
                sup = fastcopy(sup, custom={**(sup.custom or {}), "phonemes": " ".join(pieces)})
                if cut.custom.get("labelled", True):
                    symbols.setdefault(sup.language, set()).update(pieces)
            writer.write(fastcopy(cut, supervisions=[sup]))
    return dataclasses.replace(cuts, path=out, symbols={k: sorted(v) for k, v in symbols.items()}), models


def dev_per(recipe: Recipe, progress: bool = False):
    """``model -> {"dev_per": mean, "dev_per_LANG": ...}``: greedy PER on the dev split (read once, kept)."""
    utts = load_split(recipe, "dev", progress=progress)

    def validate(model) -> dict[str, float]:
        per = evaluate_per(model, utts, device=next(model.parameters()).device)
        rates = {f"dev_per_{lang}": c.rate for lang, c in per.items()}
        return {"dev_per": sum(rates.values()) / max(len(rates), 1), **rates}

    return validate
