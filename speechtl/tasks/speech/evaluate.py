"""Evaluating a speech model on a split: PER, WER of lexicon decoding, zero-shot accuracy."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from speechtl.data.dataset import collate
from speechtl.data.manifests import corpus_lexicons
from speechtl.decoding.config import DecodeConfig
from speechtl.decoding.evaluate import (evaluate_subword_wer, format_table, per_language, phoneme_hypotheses,
                                       word_error_rates, word_hypotheses_of)
from speechtl.decoding.scoring import write_details
from speechtl.errors import RecipeError
from speechtl.outputs import write_text
from speechtl.models.acoustic import AcousticModel
from speechtl.tasks.speech.data import load_split, target_recipe
from speechtl.tasks.speech.recipe import Recipe
from speechtl.text.g2p_lexicon import add_context_variants, g2p_lexicon
from speechtl.transfer.evaluation import zero_shot_accuracy


def evaluation_lexicons(recipe: Recipe, languages: list[str]) -> dict:
    """Word lexicons of evaluation, with eSpeak's running-speech variants of each word.

    ``decode.words`` (a closed vocabulary, e.g. the ten digit words) pronounced by G2P;
    otherwise the corpus's own lexicons (``ROOT/lexicon/{lang}.txt``), if it has them.
    """
    if recipe.decode.words:
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


def error_report(model: AcousticModel, utts: list, recipe: Recipe, decode: DecodeConfig, words: bool,
                 device: str = "cpu", details: Path | None = None) -> dict:
    """PER (greedy) and WER (lexicon search) per language; a subword model gets the WER of its pieces.

    ``details``: a path prefix for the per-utterance files (icefall's ``errs-``/``recogs-``, see
    :func:`speechtl.decoding.scoring.write_details`): ``{details}-per`` and ``{details}-wer``.
    """
    report: dict = {}
    model = model.to(device)
    if model.units == "subword":
        wer = evaluate_subword_wer(model, utts, device=device)
        report["wer"] = {lang: c.as_dict() for lang, c in wer.items()}
        report["table"] = format_table(wer, title="WER")
        return report
    scored, phones = phoneme_hypotheses(model, utts, device)
    per = per_language(scored, phones, "phonemes")
    lexicons = evaluation_lexicons(recipe, sorted(per)) if words else {}
    worded, hyps = word_hypotheses_of(model, utts, lexicons, decode, device) if lexicons else ([], [])
    wer, merged = word_error_rates(worded, hyps, lexicons, homophones=True) if lexicons else ({}, {})
    if details is not None:
        write_details([(u.id, u.phonemes, h) for u, h in zip(scored, phones)], details, "per", "phoneme")
        if worded:
            write_details([(u.id, u.text, h) for u, h in zip(worded, hyps)], details, "wer", "word")
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
    return report


@torch.no_grad()
def zero_shot_report(model: AcousticModel, predictors: dict, utts: list, recipe: Recipe) -> dict:
    """Accuracy of the zero-shot predictors on the split's items of the unseen classes."""
    from speechtl.tasks.speech.objective import CTCTask

    encode = CTCTask(model.cpu().eval()).encode
    items = [(u, torch.zeros(0, dtype=torch.long)) for u in utts]
    batches = (collate(items[i:i + 16]) for i in range(0, len(items), 16))
    zs = recipe.transfer.zeroshot
    return zero_shot_accuracy(predictors, encode, batches, zs.label, zs.unseen)


def evaluate_speech(model: AcousticModel, meta_recipe: Recipe, decode: DecodeConfig, predictors: dict,
                    model_path: str | Path, split: str | None = None, recipe: Recipe | None = None,
                    output: str | Path | None = None, progress: bool = True, words: bool = True,
                    domain: str = "source", device: str = "cpu") -> dict:
    """Per-language error rates of a model on a split of its recipe's corpus (or ``recipe``'s).

    A phoneme model gets its greedy PER and, when ``words`` is set and the corpus has
    pronunciation lexicons (``ROOT/lexicon/{lang}.txt``, e.g. the synthetic corpus), the WER
    of lexicon decoding with that lexicon plus G2P in-context variants (``decode``
    settings). On the synthetic corpus the lexicon holds every word of the corpus, so the
    test split's words (never in training) compete with all training words. A subword model gets
    the WER of its greedy pieces. With zero-shot predictors (``transfer.zeroshot``), their accuracy
    on the unseen classes. Writes ``eval_{split}.json`` beside the model unless ``output`` says otherwise.
    ``domain="target"`` scores the recipe's target domain instead (``data.target``: its corpus
    and channel, split ``data.target.test_split`` unless ``split`` names one; with labels),
    written to ``eval_target_{split}.json``. ``split`` defaults to ``test``.
    """
    recipe = recipe or meta_recipe
    if domain not in ("source", "target"):
        raise RecipeError(f"evaluate: domain must be source or target, not {str(domain)[:40]!r}")
    if domain == "target":
        split = split or recipe.data.target.test_split
        recipe = target_recipe(recipe)
    split = split or "test"
    utts = load_split(recipe, split, progress=progress)
    report: dict = {"model": str(model_path), "split": split, "domain": domain, "channel": recipe.data.channel}
    if output is None:
        base = Path(model_path)
        prefix = "eval_target_" if domain == "target" else "eval_"
        output = (base if base.is_dir() else base.parent) / f"{prefix}{split}.json"
    # per-utterance alignments beside the report: errs-eval_test-per.txt, recogs-eval_test-per.txt, ...
    report.update(error_report(model, utts, recipe, decode, words, device, Path(output).with_suffix("")))
    if predictors and recipe.transfer.zeroshot.unseen:
        report["zero_shot"] = zero_shot_report(model, predictors, utts, recipe)
        report["table"] += "\n" + "\n".join(f"zero-shot {name}: {100 * r['accuracy']:.1f}% of {r['total']} "
                                            f"(chance {100 * r['chance']:.1f}%)"
                                            for name, r in report["zero_shot"].items())
    write_text(output, json.dumps(report, indent=2, ensure_ascii=False))  # complete or not at all
    return report
