"""Labels of what an engine spoke: its phones per word, in IPA, checked against eSpeak's.

Flite and Festival speak CMU phones (ARPAbet in lower case, with ``pau`` and
``h#`` for silence); :func:`speechtl.text.phonesets.arpabet_symbol` maps them to
the IPA that eSpeak NG writes, so labels from every engine share one symbol set.
The engine's own phones are the label, since that is what the audio holds;
eSpeak's pronunciation of the same word is only compared with them
(:class:`Agreement`), and words whose phones differ a lot are flagged.

Example:
    >>> split_by_words(["s", "eh", "v", "ax", "n", "ey", "t"], [("s", "eh", "v", "ah", "n"), ("ey", "t")])
    [['s', 'eh', 'v', 'ax', 'n'], ['ey', 't']]
    >>> engine_ipa(["s", "eh", "v", "ax", "n"]), engine_ipa(["f", "ao", "r"]), engine_ipa(["s", "aa", "r", "iy"])
    (['s', 'ɛ', 'v', 'ə', 'n'], ['f', 'ɔːɹ'], ['s', 'ɑː', 'ɹ', 'iː'])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

# eSpeak NG (en) writes a vowel and a following /r/ not before a vowel as one rhotic vowel (four: f ɔːɹ);
# CMU phones keep them apart (f ao r). Joined the same way, both engines' labels use one symbol for one sound.
RHOTIC = {"ɔː": "ɔːɹ", "ɑː": "ɑːɹ", "ɛ": "ɛɹ", "ɪ": "ɪɹ", "ʊ": "ʊɹ"}
VOWELS = {"ɑː", "æ", "ʌ", "ɔː", "aʊ", "ə", "ɚ", "aɪ", "ɛ", "ɜː", "eɪ", "ɪ", "ᵻ", "iː", "oʊ", "ɔɪ", "ʊ", "uː"}
FLAG_DISTANCE = 0.5  # a word is flagged when its phone edit distance is at least this share of eSpeak's length


def split_by_words(phones: Sequence[str], alone: Sequence[Sequence[str]]) -> list[list[str]]:
    """Cut an utterance's phones into words by aligning them to each word spoken alone.

    The utterance's phones are aligned (Levenshtein, rapidfuzz) to the
    concatenation of the words' own phones; each phone goes to the word of the
    phone it is aligned with, and an inserted phone to the word before it
    (the first word at the start).

    Args:
        phones: the phones the engine spoke for the whole utterance.
        alone: the engine's phones of each word spoken alone, in order.

    Returns:
        One phone list per word (possibly empty when the engine dropped a word).
    """
    from rapidfuzz.distance import Levenshtein

    owner = [i for i, word in enumerate(alone) for _ in word]
    reference = [p for word in alone for p in word]
    out: list[list[str]] = [[] for _ in alone]
    if not alone:
        return out
    for op in Levenshtein.opcodes(reference, list(phones)):
        for k in range(op.dest_start, op.dest_end):
            if op.tag in ("equal", "replace"):
                word = owner[min(op.src_start + (k - op.dest_start), op.src_end - 1)]
            else:  # inserted: belongs with the word before it
                word = owner[op.src_start - 1] if op.src_start > 0 else (owner[0] if owner else 0)
            out[word].append(phones[k])
    return out


def engine_ipa(phones: Sequence[str]) -> list[str] | None:
    """The IPA (eSpeak's symbols) of one word's lower-case CMU phones; ``None`` when one is not ARPAbet.

    A vowel and an /r/ that no vowel follows become eSpeak's rhotic vowel (:data:`RHOTIC`).
    """
    from speechtl.text.phonesets import arpabet_symbol

    ipa = [arpabet_symbol(p) for p in phones]
    if any(p is None for p in ipa):
        return None
    out: list[str] = []
    for i, p in enumerate(ipa):
        if p == "ɹ" and out and out[-1] in RHOTIC and (i + 1 == len(ipa) or ipa[i + 1] not in VOWELS):
            out[-1] = RHOTIC[out[-1]]
        else:
            out.append(p)
    return out


def ipa_tokens(word: str, known: Sequence[str]) -> list[str]:
    """An unsplit IPA word (Piper's eSpeak output) cut into phonemes: the longest ``known`` one first, else a character.

    >>> ipa_tokens("ziəɹoʊ", ["z", "iə", "ɹ", "oʊ"])
    ['z', 'iə', 'ɹ', 'oʊ']
    """
    longest = max((len(k) for k in known), default=1)
    out, i = [], 0
    while i < len(word):
        size = next((n for n in range(min(longest, len(word) - i), 0, -1) if word[i:i + n] in known), 1)
        out.append(word[i:i + size])
        i += size
    return out


def label_words(words: Sequence[Sequence[str]], phoneset: str, espeak: Sequence[Sequence[str]]) -> list | None:
    """An engine's words in eSpeak's IPA: ARPAbet through :func:`engine_ipa`, IPA cut by :func:`ipa_tokens`.

    Returns:
        One IPA phone list per word, or ``None`` when a phone has no IPA.
    """
    if phoneset == "ipa":
        known = {p for w in espeak for p in w}
        return [ipa_tokens("".join(w), known) for w in words]
    out = [engine_ipa(w) for w in words]
    return None if any(w is None for w in out) else out


def phone_edit_distance(a: Sequence[str], b: Sequence[str]) -> int:
    """Insertions, deletions and substitutions of whole phones turning ``a`` into ``b``."""
    from rapidfuzz.distance import Levenshtein

    return Levenshtein.distance(list(a), list(b))


@dataclass
class Agreement:
    """Per-word agreement of an engine's phones with eSpeak's for the same words.

    ``words[(engine, voice, word)]`` counts each distinct engine pronunciation;
    :meth:`report` gives the distances and flags.
    """

    words: dict[tuple[str, str, str], dict[tuple[str, ...], int]] = field(default_factory=dict)
    espeak: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def add(self, engine: str, voice: str, words: Sequence[str], spoken: Sequence[Sequence[str]],
            espeak: Sequence[Sequence[str]]) -> None:
        """Record one utterance: its words, the engine's IPA per word, eSpeak's IPA per word."""
        for word, ours, theirs in zip(words, spoken, espeak):
            prons = self.words.setdefault((engine, voice, word), {})
            prons[tuple(ours)] = prons.get(tuple(ours), 0) + 1
            self.espeak.setdefault(word, tuple(theirs))

    def report(self) -> dict:
        """``{"flag_distance", "words": [...], "summary": {engine: {...}}}`` (JSON-ready).

        Each word row has engine, voice, word, the engine's and eSpeak's phones,
        the phone edit distance, its share of eSpeak's length, the times it was
        spoken so, and ``flagged`` when that share is at least ``FLAG_DISTANCE``.
        """
        rows, summary = [], {}
        for (engine, voice, word), prons in sorted(self.words.items()):
            theirs = self.espeak[word]
            for ours, count in sorted(prons.items()):
                dist = phone_edit_distance(ours, theirs)
                share = dist / max(1, len(theirs))
                rows.append({"engine": engine, "voice": voice, "word": word, "phones": " ".join(ours),
                             "espeak": " ".join(theirs), "distance": dist, "share": round(share, 3),
                             "count": count, "flagged": share >= FLAG_DISTANCE})
                s = summary.setdefault(engine, {"words": 0, "distance": 0, "flagged": 0})
                s["words"] += count
                s["distance"] += dist * count
                s["flagged"] += count * (share >= FLAG_DISTANCE)
        for s in summary.values():
            s["mean_distance"] = round(s.pop("distance") / max(1, s["words"]), 3)
        return {"flag_distance": FLAG_DISTANCE, "summary": summary, "words": rows}
