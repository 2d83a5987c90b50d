"""Per-language phoneme error rate (greedy) and word error rate (lexicon search) of a model on a split."""

from __future__ import annotations

import dataclasses
import logging
from typing import Iterator

import torch

from speechtl.data.dataset import Utterance
from speechtl.decoding.greedy import ctc_greedy
from speechtl.decoding.isolated import word_decoder
from speechtl.decoding.decoders import Decoder, WordHypothesis
from speechtl.decoding.metrics import ErrorCounts, error_counts, phoneme_error_rate
from speechtl.models.acoustic import AcousticModel
from speechtl.decoding.config import DecodeConfig
from speechtl.text.lexicon import Lexicon
from speechtl.text.subword import pieces_to_text

log = logging.getLogger(__name__)


@torch.no_grad()
def iter_log_probs(model: AcousticModel, utterances: list[Utterance], batch_frames: int = 40000,
                   device: str | torch.device = "cpu") -> Iterator[tuple[list[int], str, torch.Tensor, torch.Tensor]]:
    """Network outputs in batches of one language (similar lengths together).

    Yields:
        ``(utterance indices, language, log_probs (B, T, C) on the CPU, lengths (B,))``.
    """
    model.eval()
    order = sorted(range(len(utterances)), key=lambda i: (utterances[i].language, utterances[i].feats.shape[0]))
    start = 0
    while start < len(order):
        lang = utterances[order[start]].language
        end = start
        while (end < len(order) and utterances[order[end]].language == lang
               and (end - start + 1) * utterances[order[end]].feats.shape[0] <= batch_frames):
            end += 1
        end = max(end, start + 1)
        chunk = order[start:end]
        feats = torch.nn.utils.rnn.pad_sequence([utterances[i].feats for i in chunk], batch_first=True)
        lengths = torch.tensor([utterances[i].feats.shape[0] for i in chunk])
        hidden, hlens = model(feats.to(device), lengths.to(device))
        yield chunk, lang, model.log_probs(hidden, lang).float().cpu(), hlens.cpu()
        start = end


def recognize_phonemes(model: AcousticModel, utterances: list[Utterance], batch_frames: int = 40000,
                       device: str | torch.device = "cpu") -> list[str]:
    """Greedy token strings (phonemes, words split by ``|``), in the order given."""
    out: list[str | None] = [None] * len(utterances)
    for chunk, lang, log_probs, lengths in iter_log_probs(model, utterances, batch_frames, device):
        inv = model.inventories[lang]
        for i, ids in zip(chunk, ctc_greedy(log_probs, lengths, inv.blank)):
            out[i] = " ".join(inv.decode(ids))
    return out  # type: ignore[return-value]


def recognize_words(model: AcousticModel, utterances: list[Utterance], decoders: dict[str, Decoder],
                    batch_frames: int = 40000, device: str | torch.device = "cpu") -> list[str]:
    """Lexicon beam-search transcripts (space-separated words), in the order given.

    Utterances of a language without a decoder in ``decoders`` get ``""``.
    """
    return [" ".join(h.words) if h else "" for h in word_hypotheses(model, utterances, decoders, batch_frames, device)]


def word_hypotheses(model: AcousticModel, utterances: list[Utterance], decoders: dict[str, Decoder],
                    batch_frames: int = 40000, device: str | torch.device = "cpu") -> list[WordHypothesis | None]:
    """Each utterance's best :class:`WordHypothesis` (``None`` for a language without a decoder), in order."""
    out: list[WordHypothesis | None] = [None] * len(utterances)
    for chunk, lang, log_probs, lengths in iter_log_probs(model, utterances, batch_frames, device):
        if lang in decoders:
            for i, hyp in zip(chunk, decoders[lang](log_probs, lengths)):
                out[i] = hyp
    return out


def per_language(utterances: list[Utterance], hypotheses: list[str], field: str = "text"
                 ) -> dict[str, ErrorCounts]:
    """Error counts per language: hypotheses against each utterance's ``text`` (WER) or ``phonemes`` (PER)."""
    result = {}
    for lang in sorted({u.language for u in utterances}):
        idx = [i for i, u in enumerate(utterances) if u.language == lang]
        refs = [getattr(utterances[i], field) for i in idx]
        hyps = [hypotheses[i] for i in idx]
        result[lang] = phoneme_error_rate(refs, hyps) if field == "phonemes" else error_counts(refs, hyps)
    return result


def phoneme_hypotheses(model: AcousticModel, utterances: list[Utterance], device: str | torch.device = "cpu"
                       ) -> tuple[list[Utterance], list[str]]:
    """The utterances of languages the model has a head for, and their greedy phoneme strings."""
    utterances = [u for u in utterances if u.language in model.inventories]
    return utterances, recognize_phonemes(model, utterances, device=device)


def evaluate_per(model: AcousticModel, utterances: list[Utterance], device: str | torch.device = "cpu"
                 ) -> dict[str, ErrorCounts]:
    """PER per language (utterances of languages the model lacks are ignored)."""
    return per_language(*phoneme_hypotheses(model, utterances, device), "phonemes")


def lexicon_decoders(model: AcousticModel, lexicons: dict[str, Lexicon], config: DecodeConfig | None = None,
                     word_boundary: str | None = None, nbest: int = 1) -> dict[str, Decoder]:
    """One decoder per language the model has a head for; phonemes a head lacks are mapped to its nearest.

    ``nbest`` > 1 gives each hypothesis a confidence margin (see the beam search, ``lexicon_decoder.py``).
    """
    decoders = {}
    for lang, lexicon in sorted(lexicons.items()):
        if lang not in model.inventories:
            continue
        lexicon, mappings = lexicon.map_to(model.inventories[lang], lang)
        if mappings:
            log.warning("%s: %d phonemes the model lacks mapped to the nearest by articulatory features: %s", lang,
                        len(mappings), ", ".join(f"{m.symbol}->{m.target or '(dropped)'}" for m in mappings))
        decoders[lang] = word_decoder(model.inventories[lang].tokens, lexicon, config, word_boundary, nbest)
    return decoders


def evaluate_wer(model: AcousticModel, utterances: list[Utterance], lexicons: dict[str, Lexicon],
                 config: DecodeConfig | None = None, device: str | torch.device = "cpu",
                 word_boundary: str | None = None, homophones: bool = False
                 ) -> dict[str, ErrorCounts] | tuple[dict[str, ErrorCounts], dict[str, ErrorCounts]]:
    """WER per language of lexicon decoding (languages without a lexicon or head are ignored).

    Args:
        homophones: also return the WER with homophones merged (see :func:`merge_homophones`).
    """
    utterances, hyps = word_hypotheses_of(model, utterances, lexicons, config, device, word_boundary)
    return word_error_rates(utterances, hyps, lexicons, homophones)


def word_hypotheses_of(model: AcousticModel, utterances: list[Utterance], lexicons: dict[str, Lexicon],
                       config: DecodeConfig | None = None, device: str | torch.device = "cpu",
                       word_boundary: str | None = None) -> tuple[list[Utterance], list[str]]:
    """The utterances of languages with a lexicon and a head, and their lexicon-search transcripts."""
    decoders = lexicon_decoders(model, lexicons, config, word_boundary)
    utterances = [u for u in utterances if u.language in decoders]
    return utterances, recognize_words(model, utterances, decoders, device=device)


def word_error_rates(utterances: list[Utterance], hyps: list[str], lexicons: dict[str, Lexicon],
                     homophones: bool = False
                     ) -> dict[str, ErrorCounts] | tuple[dict[str, ErrorCounts], dict[str, ErrorCounts]]:
    """WER per language of transcripts (and, with ``homophones``, with homophones merged)."""
    wer = per_language(utterances, hyps)
    return (wer, per_language(*merge_homophones(utterances, hyps, lexicons))) if homophones else wer


def merge_homophones(utterances: list[Utterance], hypotheses: list[str], lexicons: dict[str, Lexicon]
                     ) -> tuple[list[Utterance], list[str]]:
    """References and hypotheses with each word replaced by the first lexicon word that sounds the same.

    Without a language model no recogniser can tell homophones apart (French
    ``règle`` / ``règles``); scoring after this mapping counts only what the
    acoustics can decide. Words are compared by their first (isolated) pronunciation.
    """
    canon: dict[str, dict[str, str]] = {}
    for lang, lexicon in lexicons.items():
        first: dict[tuple[str, ...], str] = {}
        canon[lang] = {w: first.setdefault(lexicon.pronunciations(w)[0], w) for w in lexicon}

    def mapped(lang: str, text: str) -> str:
        return " ".join(canon.get(lang, {}).get(w, w) for w in text.split())

    refs = [dataclasses.replace(u, text=mapped(u.language, u.text)) for u in utterances]
    return refs, [mapped(u.language, h) for u, h in zip(utterances, hypotheses)]


def evaluate_subword_wer(model: AcousticModel, utterances: list[Utterance], device: str | torch.device = "cpu"
                         ) -> dict[str, ErrorCounts]:
    """WER per language of a subword model's greedy pieces (open vocabulary, no lexicon)."""
    utterances = [u for u in utterances if u.language in model.inventories]
    hyps = [pieces_to_text(h.split()) for h in recognize_phonemes(model, utterances, device=device)]
    return per_language(utterances, hyps)


def format_table(results: dict[str, ErrorCounts], title: str = "PER",
                 extra: dict[str, dict[str, ErrorCounts]] | None = None) -> str:
    """A plain-text table: language, utterances, phonemes, PER %, and one column per ``extra`` metric.

    Args:
        extra: ``{column title: {language: counts}}``, e.g. ``{"WER": wer_results}``.
    """
    extra = extra or {}
    lines = [f"{'language':<10}{'utts':>7}{'phones':>9}{title + ' %':>9}"
             + "".join(f"{name + ' %':>9}" for name in extra)]
    for lang, c in results.items():
        cells = "".join(f"{100 * col[lang].rate:>9.2f}" if lang in col else f"{'-':>9}" for col in extra.values())
        lines.append(f"{lang:<10}{c.utterances:>7}{c.reference_length:>9}{100 * c.rate:>9.2f}{cells}")
    if len(results) > 1:
        mean = sum(c.rate for c in results.values()) / len(results)
        cells = "".join(f"{100 * sum(c.rate for c in col.values()) / max(1, len(col)):>9.2f}" for col in extra.values())
        lines.append(f"{'mean':<10}{'':>7}{'':>9}{100 * mean:>9.2f}{cells}")
    return "\n".join(lines)
