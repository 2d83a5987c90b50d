"""Recipe-level workflows: prepare data, train, evaluate. The CLI is a thin layer over these."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from pathlib import Path

import torch
import yaml

from speechtl.data.channel import parse_channel
from speechtl.data.corpora import prepare_corpus
from speechtl.data.dataset import PhonemeDataset, Utterance, collate, load_utterances
from speechtl.data.features import GlobalCMVN
from speechtl.data.sampler import BucketBatchSampler
from speechtl.data.manifests import corpus_lexicons
from speechtl.decoding.evaluate import evaluate_per, evaluate_subword_wer, evaluate_wer, format_table
from speechtl.errors import LanguageError, ManifestError, RecipeError
from speechtl.models.acoustic import AcousticModel
from speechtl.models.io import load_model, model_metadata, save_model
from speechtl.recipe import Recipe
from speechtl.text.inventory import Inventory
from speechtl.text.g2p_lexicon import add_context_variants
from speechtl.text.subword import subword_utterances
from speechtl.training.ctc_task import CTCTask
from speechtl.training.distributed import barrier, cleanup, init_distributed
from speechtl.training.loop import Trainer
from speechtl.transfer import layer_transfer
from speechtl.transfer.labels import label_values
from speechtl.transfer.registry import setup_transfer

log = logging.getLogger(__name__)


def set_threads(n: int) -> None:
    if n > 0:
        torch.set_num_threads(n)


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
    ch = parse_channel(spec, recipe.data.synth.seed)
    transform = None if ch is None else (lambda wave, sr, key: ch(wave, sr, key + key_suffix))
    utts, report = load_utterances(cuts[split], recipe.features, languages=recipe.data.languages,
                                   progress=progress, desc=f"{split} features",
                                   max_duration=recipe.data.max_duration, transform=transform)
    report.log(split)
    if split == "train" and recipe.data.train_minutes:
        utts = first_minutes(utts, recipe.data.train_minutes)
    if not utts:
        raise ManifestError(f"{recipe.data.root}: no usable {split} utterances for languages "
                            f"{', '.join(recipe.data.languages)} in corpus {recipe.data.corpus!r}"
                            + (f" ({len(report.skipped)} skipped, see the log)" if report.skipped else ""))
    return utts


def first_minutes(utts: list[Utterance], minutes: float) -> list[Utterance]:
    """Each language's first utterances up to ``minutes`` of audio (low-resource training sets)."""
    budget = minutes * 60 * 100  # in 10 ms frames
    used: dict[str, float] = {}
    out = []
    for u in utts:
        if used.get(u.language, 0.0) + u.feats.shape[0] <= budget:
            used[u.language] = used.get(u.language, 0.0) + u.feats.shape[0]
            out.append(u)
    log.info("data.train_minutes=%g: kept %s", minutes,
             ", ".join(f"{lang} {n / 6000:.1f} min" for lang, n in sorted(used.items())))
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
    """One inventory per language from the phonemes of its (training) utterances."""
    by_lang: dict[str, list[str]] = {}
    for u in utterances:
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


def load_target_domain(recipe: Recipe, progress: bool = False, split: str | None = None,
                       pseudo_labels: dict[str, str] | None = None) -> list[Utterance]:
    """The recipe's target-domain utterances (``data.target``), tagged ``domain="target"``.

    They are unlabelled (their transcripts never reach the task loss) unless
    ``data.target.labelled`` is set. ``split`` defaults to ``data.target.split``.
    ``pseudo_labels`` (utterance id -> phoneme string, from :mod:`speechtl.self_training`)
    label those utterances with these phonemes instead.
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
    pseudo = pseudo_labels or {}
    return [dataclasses.replace(u, domain="target", labelled=True, phonemes=pseudo[u.id]) if u.id in pseudo
            else dataclasses.replace(u, domain="target", labelled=t.labelled) for u in utts]


def repeated(utts: list[Utterance], times: int) -> list[Utterance]:
    """``times`` copies of each utterance (features shared, ids kept unique), e.g. to balance domains."""
    return [dataclasses.replace(u, id=f"{u.id}#{r}") if r else u for r in range(times) for u in utts]


def source_inventories(source: AcousticModel | None, inventories: dict[str, Inventory]) -> dict[str, Inventory]:
    """Keep a source model's inventory for each language it covers, so its head can be copied."""
    if source is None:
        return inventories
    out = {}
    for lang, inv in inventories.items():
        old = source.inventories.get(lang)
        out[lang] = old if old is not None and set(inv.tokens) <= set(old.tokens) else inv
    return out


def start_heads(model: AcousticModel, source: AcousticModel, init_new: bool, kept: list[str]) -> None:
    """Heads of a model trained from ``source``: new languages' rows from the source's heads; kept heads frozen.

    Args:
        init_new: a head the source lacks (or whose inventory the new data outgrows) starts
            each symbol the source knows from the source's row for it (blank and ``|`` included).
        kept: source languages the training data lacks; their heads (copied later with the
            other source weights) are frozen, so they stay bit-identical.
    """
    for lang in model.languages:
        old, inventory = source.inventories.get(lang), model.inventories[lang]
        if old is not None and old.tokens == inventory.tokens:
            continue  # the source's head fits as it is
        if old is not None:
            extra = sorted(set(inventory.tokens) - set(old.tokens))
            log.warning("%s: the training data has phonemes the source model's %s head lacks (%s); "
                        "the head is rebuilt over the new inventory", lang, lang, " ".join(extra))
        if init_new:
            model.heads.add(lang, inventory, init_from=source.heads)
    if kept:
        prefixes = tuple(f"heads.heads.{lang}." for lang in kept)
        layer_transfer.freeze(model, [n for n, _ in model.named_parameters() if n.startswith(prefixes)])
        log.info("kept the source's heads of %s, frozen", ", ".join(kept))


def speech_labels(utts: list[Utterance]) -> dict[str, list[str]]:
    """Values of each item label (``language``, ``speaker``, ``domain``) for transfer methods."""
    return {"language": label_values(u.language for u in utts), "speaker": label_values(u.speaker for u in utts),
            "domain": label_values(u.domain for u in utts)}


def train(recipe: Recipe, resume: bool = False, progress: bool = True,
          pseudo_labels: dict[str, str] | None = None) -> Path:
    """Train the recipe's multilingual model; returns the experiment directory.

    Works as one process or under ``torchrun`` (rank 0 prepares the corpus and writes files).
    Image recipes (``task: image``) go to :func:`speechtl.vision.experiment.train_image`.
    The ``transfer`` section adds its methods to the objective (see :mod:`speechtl.transfer`);
    ``transfer.self_training`` then runs its rounds (:mod:`speechtl.self_training`), which
    call this function again with ``pseudo_labels`` for the target-domain audio.
    """
    if getattr(recipe, "task", "speech") == "image":
        from speechtl.vision.experiment import train_image

        return train_image(recipe, resume=resume, progress=progress)
    dist = init_distributed(recipe.train.device)
    self_training = recipe.transfer.self_training.rounds > 0 and pseudo_labels is None
    if self_training and dist.enabled:
        raise RecipeError("transfer.self_training: runs in one process; train without torchrun "
                          "(or train under torchrun with transfer.self_training.rounds=0 first)")
    set_threads(recipe.train.num_threads)
    torch.manual_seed(recipe.train.seed)
    exp = Path(recipe.train.exp_dir)
    if dist.is_main:
        exp.mkdir(parents=True, exist_ok=True)
        (exp / "recipe.yaml").write_text(yaml.safe_dump(recipe.to_dict(), allow_unicode=True, sort_keys=False))
        cuts = prepare_corpus(recipe.data, progress=progress)
    barrier(dist)
    if not dist.is_main:
        cuts = prepare_corpus(recipe.data, progress=False)
    utts = load_split(recipe, "train", cuts, progress=progress and dist.is_main)
    utts += augmented_copies(recipe, cuts, progress=progress and dist.is_main)
    unit_models: dict[str, bytes] = {}
    if recipe.units.kind == "subword":  # same data and loop, SentencePiece pieces as targets
        utts, unit_models = subword_utterances(utts, recipe.units)
    source = load_model(recipe.transfer.source) if recipe.transfer.source else None
    inventories = source_inventories(source, build_inventories(utts))
    kept = [lang for lang in source.languages if lang not in inventories] \
        if source is not None and recipe.transfer.keep_source_heads else []
    inventories = {**{lang: source.inventories[lang] for lang in kept}, **inventories}
    utts += repeated(load_target_domain(recipe, progress=progress and dist.is_main, pseudo_labels=pseudo_labels),
                     recipe.data.target.repeat)
    model = AcousticModel(recipe, inventories)
    model.unit_models = unit_models
    if source is not None:
        start_heads(model, source, recipe.transfer.init_heads_from_source, kept)
    if isinstance(model.normalizer, GlobalCMVN):
        model.normalizer.fit([u.feats for u in utts])
    weights = recipe.transfer.multitask.task_weights
    setup = setup_transfer(recipe.transfer, CTCTask(model, weights), lambda m: CTCTask(m, weights),
                           speech_labels(utts), recipe.train.lr, load_source=lambda _: source)
    dataset = PhonemeDataset(utts, inventories, max_frames=recipe.train.max_frames)
    dataset.report.log("train")
    sampler = BucketBatchSampler(dataset.num_frames(), recipe.train.max_frames, seed=recipe.train.seed,
                                 rank=dist.rank, world_size=dist.world_size)
    if dist.is_main:
        hours = sum(dataset.num_frames()) / 100 / 3600
        log.info("training on %d utterances (%.2f h), %d languages, model %.2fM parameters",
                 len(dataset), hours, len(inventories), model.num_parameters() / 1e6)
    trainer = Trainer(setup.objective, dataset, collate, sampler, recipe.train, exp,
                      model_meta=lambda: model_metadata(model), param_groups=setup.param_groups,
                      dist=dist, progress=progress)
    trainer.fit(resume=resume)
    if dist.is_main:
        save_model(model, exp / "model")
        if setup.predictors and recipe.transfer.zeroshot.unseen:
            zero_shot_test(recipe, setup, exp)
        if self_training:
            from speechtl.self_training import self_train

            self_train(recipe, exp, resume=resume, progress=progress)
        if "dann" in recipe.transfer.methods and pseudo_labels is None:
            from speechtl.viz.tsne import save_domain_tsne

            save_domain_tsne(exp / "model", exp / "tsne.png")
    barrier(dist)
    cleanup(dist)
    return exp


def zero_shot_test(recipe: Recipe, setup, exp: Path) -> dict:
    """Zero-shot accuracy of the trained predictors on the test split's unseen classes."""
    from speechtl.transfer.registry import zero_shot_accuracy

    setup.objective.eval()
    task = setup.objective.task
    utts = load_split(recipe, "test")
    items = [(u, torch.zeros(0, dtype=torch.long)) for u in utts]
    batches = (collate(items[i:i + 16]).to(next(task.parameters()).device) for i in range(0, len(items), 16))
    zs = recipe.transfer.zeroshot
    report = zero_shot_accuracy(setup.predictors, task.encode, batches, zs.label, zs.unseen)
    (exp / "zeroshot_test.json").write_text(json.dumps(report, indent=2))
    return report


def evaluate(model_path: str | Path, split: str | None = None, recipe: Recipe | None = None,
             output: str | Path | None = None, progress: bool = True, words: bool = True,
             domain: str = "source") -> dict:
    """Per-language error rates of a saved model on a split of its recipe's corpus (or ``recipe``'s).

    A phoneme model gets its greedy PER and, when ``words`` is set and the corpus has
    pronunciation lexicons (``ROOT/lexicon/{lang}.txt``, e.g. the synthetic corpus), the WER
    of lexicon decoding with that lexicon plus G2P in-context variants (``recipe.decode``
    settings). On the synthetic corpus the lexicon holds every word of the corpus, so the
    test split's words (never in training) compete with all training words. A subword model gets
    the WER of its greedy pieces. Writes ``eval_{split}.json`` beside the model unless
    ``output`` says otherwise.
    ``domain="target"`` scores the recipe's target domain instead (``data.target``: its corpus
    and channel, split ``data.target.test_split`` unless ``split`` names one; with labels),
    written to ``eval_target_{split}.json``. ``split`` defaults to ``test``.
    Image models report accuracy per test domain (and zero-shot accuracy) instead.
    """
    from speechtl.viz.tsne import model_kind

    if model_kind(model_path) == "image-model":
        from speechtl.vision.experiment import evaluate_image

        return evaluate_image(model_path, output)
    model = load_model(model_path)
    recipe = recipe or model.recipe
    if domain not in ("source", "target"):
        raise RecipeError(f"evaluate: domain must be source or target, not {domain!r}")
    if domain == "target":
        split = split or recipe.data.target.test_split
        recipe = target_recipe(recipe)
    split = split or "test"
    utts = load_split(recipe, split, progress=progress)
    report: dict = {"model": str(model_path), "split": split, "domain": domain,
                    "channel": recipe.data.channel}
    if model.recipe.units.kind == "subword":
        wer = evaluate_subword_wer(model, utts)
        report["wer"] = {lang: c.as_dict() for lang, c in wer.items()}
        report["table"] = format_table(wer, title="WER")
    else:
        per = evaluate_per(model, utts)
        lexicons = evaluation_lexicons(recipe, sorted(per)) if words else {}
        wer, merged = evaluate_wer(model, utts, lexicons, model.recipe.decode, homophones=True) if lexicons \
            else ({}, {})
        report["per"] = {lang: c.as_dict() for lang, c in per.items()}
        if wer:
            report["wer"] = {lang: c.as_dict() for lang, c in wer.items()}
            report["wer_homophones_merged"] = {lang: c.as_dict() for lang, c in merged.items()}
            report["wer_lexicon"] = {lang: len(lex) for lang, lex in lexicons.items()}
        if wer and recipe.decode.words:  # HTK's word accuracy (N - S - D - I) / N
            report["word_accuracy"] = {lang: 1 - c.rate for lang, c in wer.items()}
        report["table"] = format_table(per, extra={"WER": wer, "WER*": merged} if wer else None)
        if wer:
            report["table"] += "\nWER*: homophones merged (no language model tells them apart)"
        if "word_accuracy" in report:
            report["table"] += "\nword accuracy (1 - WER, closed vocabulary decode.words): " + ", ".join(
                f"{lang} {100 * acc:.2f}%" for lang, acc in report["word_accuracy"].items())
    if output is None:
        base = Path(model_path)
        prefix = "eval_target_" if domain == "target" else "eval_"
        output = (base if base.is_dir() else base.parent) / f"{prefix}{split}.json"
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    Path(output).write_text(json.dumps(report, indent=2, ensure_ascii=False))
    return report


def evaluation_lexicons(recipe: Recipe, languages: list[str]) -> dict:
    """Word lexicons of evaluation, with eSpeak's running-speech variants of each word.

    ``decode.words`` (a closed vocabulary, e.g. the ten digit words) pronounced by G2P;
    otherwise the corpus's own lexicons (``ROOT/lexicon/{lang}.txt``), if it has them.
    """
    if recipe.decode.words:
        from speechtl.text.g2p_lexicon import g2p_lexicon

        lexicons = {}
        for lang in languages:
            lexicon, missing = g2p_lexicon(recipe.decode.words, lang, context=True)
            if missing:
                raise RecipeError(f"decode.words: eSpeak does not read {', '.join(missing)} as {lang} words")
            lexicons[lang] = lexicon
        return lexicons
    # models learn eSpeak's running-speech forms: add them to the corpus's isolated pronunciations
    return {lang: add_context_variants(lex, lang)
            for lang, lex in corpus_lexicons(recipe.data.root, languages).items()}


def default_jobs() -> int:
    return max(1, min(len(os.sched_getaffinity(0)), 8))
