"""A CTC checkpoint's output vocabulary (``vocab.json``) in speechtl's symbols.

A Hugging Face ``*ForCTC`` checkpoint names each output row with a token of its
tokenizer. Phoneme checkpoints (wav2vec 2.0 fine-tuned on eSpeak NG IPA, as
``facebook/wav2vec2-xlsr-53-espeak-cv-ft``) write eSpeak's IPA, speechtl's own
symbols; others write IPA of another convention. Each token becomes:

* the pad token: the CTC blank (:data:`~speechtl.text.inventory.BLANK`);
* the word delimiter (``|`` unless the tokenizer names another): the word boundary;
* other special tokens (``<unk>``, ``<s>``, ``</s>``...): left out;
* any other token through the IPA normaliser (:func:`~speechtl.text.phonesets.ipa_symbol`:
  eSpeak IPA stays as it is; stress marks and tie bars are dropped, ``:`` is ``ː``,
  ``g`` is ``ɡ``), kept when panphon reads all of it as IPA segments (with an optional
  tone); a multi-character unit (``aɪ``, ``tʃ``) stays one symbol;
* anything else (no articulatory features: not IPA), or a second token with the
  same symbol: left out, and reported once.

A left-out row is masked: it is not among the head's outputs, so no lexicon
mapping ever reaches it.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from speechtl.text.g2p import WORD_BOUNDARY
from speechtl.text.inventory import BLANK
from speechtl.text.phonesets import _feature_string, ipa_symbol, segments


@dataclass
class VocabMapping:
    """Which output row of the checkpoint each speechtl symbol reads.

    Attributes:
        rows: ``{speechtl symbol: row of lm_head}``; the blank always, ``|`` when the vocabulary has a
            word delimiter.
        renamed: ``{token: symbol}`` of tokens written differently in speechtl (normalised IPA).
        left_out: ``{token: why}`` of rows no symbol reads (special tokens, not IPA, duplicates).
    """

    rows: dict[str, int]
    renamed: dict[str, str] = field(default_factory=dict)
    left_out: dict[str, str] = field(default_factory=dict)

    def report(self) -> list[str]:
        """One line per token left out or renamed (specials other than the blank and delimiter are silent)."""
        lines = [f"vocabulary token {t!r} left out: {why}" for t, why in self.left_out.items()
                 if not why.startswith("special")]
        lines += [f"vocabulary token {t!r} read as {s!r}" for t, s in self.renamed.items()]
        return lines


def is_ipa(symbol: str) -> bool:
    """Whether panphon reads all of ``symbol`` as IPA segments (tone digits and letters aside)."""
    base, _ = _feature_string(symbol)
    segs = segments(symbol)
    return bool(segs) and len(unicodedata.normalize("NFD", "".join(segs))) == len(unicodedata.normalize("NFD", base))


def speechtl_symbol(token: str) -> str | None:
    """The speechtl (eSpeak IPA) symbol of one vocabulary token, or ``None`` when it is not IPA."""
    normal = ipa_symbol(token)  # eSpeak's own symbols come back as they are
    return unicodedata.normalize("NFC", normal) if is_ipa(normal) else None


def map_vocabulary(vocab: dict[str, int], blank: str, delimiter: str | None, specials: set[str]) -> VocabMapping:
    """Map every token of ``vocab`` (``{token: row}``) to a speechtl symbol or leave it out.

    Args:
        blank: the pad token (CTC blank).
        delimiter: the word delimiter token, or None when the vocabulary has none.
        specials: the tokenizer's other special tokens (left out).

    Returns:
        The mapping; rows of tokens that share a symbol go to the lowest row, the others are left out.
    """
    out = VocabMapping(rows={BLANK: vocab[blank]})
    if delimiter is not None and delimiter in vocab:
        out.rows[WORD_BOUNDARY] = vocab[delimiter]
    for token, row in sorted(vocab.items(), key=lambda item: item[1]):
        if token in (blank, delimiter):
            continue
        if token in specials:
            out.left_out[token] = "special token"
            continue
        symbol = speechtl_symbol(token)
        if symbol is None:
            out.left_out[token] = "not IPA (no articulatory features)"
        elif symbol in out.rows:
            out.left_out[token] = f"the same symbol as row {out.rows[symbol]} ({symbol!r})"
        else:
            out.rows[symbol] = row
            if symbol != token:
                out.renamed[token] = symbol
    return out
