"""Per-language phoneme error rate of an acoustic model on a split."""

from __future__ import annotations

import torch

from speechtl.data.dataset import Utterance
from speechtl.decoding.greedy import ctc_greedy
from speechtl.decoding.metrics import ErrorCounts, phoneme_error_rate
from speechtl.models.acoustic import AcousticModel


@torch.no_grad()
def recognize_phonemes(model: AcousticModel, utterances: list[Utterance], batch_frames: int = 40000,
                       device: str | torch.device = "cpu") -> list[str]:
    """Greedy phoneme strings (words split by ``|``), in the order given."""
    model.eval()
    out: list[str | None] = [None] * len(utterances)
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
        inv = model.inventories[lang]
        for i, ids in zip(chunk, ctc_greedy(model.log_probs(hidden, lang), hlens, inv.blank)):
            out[i] = " ".join(inv.decode(ids))
        start = end
    return out  # type: ignore[return-value]


def evaluate_per(model: AcousticModel, utterances: list[Utterance], device: str | torch.device = "cpu"
                 ) -> dict[str, ErrorCounts]:
    """PER per language (utterances of languages the model lacks are ignored)."""
    utterances = [u for u in utterances if u.language in model.inventories]
    hyps = recognize_phonemes(model, utterances, device=device)
    result = {}
    for lang in sorted({u.language for u in utterances}):
        idx = [i for i, u in enumerate(utterances) if u.language == lang]
        result[lang] = phoneme_error_rate([utterances[i].phonemes for i in idx], [hyps[i] for i in idx])
    return result


def format_table(results: dict[str, ErrorCounts], title: str = "PER") -> str:
    """A plain-text table: language, utterances, phonemes, PER %."""
    lines = [f"{'language':<10}{'utts':>7}{'phones':>9}{title + ' %':>9}"]
    for lang, c in results.items():
        lines.append(f"{lang:<10}{c.utterances:>7}{c.reference_length:>9}{100 * c.rate:>9.2f}")
    if len(results) > 1:
        mean = sum(c.rate for c in results.values()) / len(results)
        lines.append(f"{'mean':<10}{'':>7}{'':>9}{100 * mean:>9.2f}")
    return "\n".join(lines)
