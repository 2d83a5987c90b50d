"""Phone sets and articulatory features: lexicons in IPA, X-SAMPA or ARPAbet, and nearest-phone mapping.

A user's lexicon may come in another phone set than the model's eSpeak IPA:

* ``espeak`` (the default): eSpeak NG's IPA symbols, as the models and the
  shipped lexicons write them; read exactly as written.
* ``ipa``: IPA from any other source. Stress marks (``ˈ ˌ``) and tie bars (``t͡ʃ``)
  are dropped, ``:`` is written ``ː`` and ASCII ``g`` is ``ɡ``.
* ``xsampa``: X-SAMPA, converted with panphon's table (``tS`` -> ``tʃ``, ``{`` -> ``æ``).
* ``arpabet``: the CMU dictionary's ARPAbet (``HH AH0 L OW1``), stress digits
  dropped, converted to eSpeak's American English IPA (:data:`ARPABET`); ``AH0``
  (unstressed) is ``ə``.

A symbol the model's head lacks is mapped to the head's nearest symbol by
articulatory features (panphon's weighted feature edit distance between the two
symbols' segment sequences; a tone mismatch adds :data:`TONE_COST`). Every
mapping is reported (:class:`PhoneMapping`); a symbol with no articulatory
features at all (not IPA) cannot be mapped and is an error.
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from speechtl.errors import LexiconError

PHONESETS = ("espeak", "ipa", "xsampa", "arpabet")
NAMES = {"espeak": "eSpeak IPA", "ipa": "IPA", "xsampa": "X-SAMPA", "arpabet": "ARPAbet"}
TONE_COST = 0.5  # added to the feature distance when two symbols' tones differ
SEGMENT_COST = 0.75  # one segment more or less (aɪ vs a, tʃ vs t)

# ARPAbet (CMUdict, stress digits removed) -> eSpeak NG's en-us IPA
ARPABET = {
    "AA": "ɑː", "AE": "æ", "AH": "ʌ", "AO": "ɔː", "AW": "aʊ", "AX": "ə", "AXR": "ɚ", "AY": "aɪ", "B": "b",
    "CH": "tʃ", "D": "d", "DH": "ð", "DX": "ɾ", "EH": "ɛ", "ER": "ɜː", "EY": "eɪ", "F": "f", "G": "ɡ",
    "HH": "h", "IH": "ɪ", "IX": "ᵻ", "IY": "iː", "JH": "dʒ", "K": "k", "L": "l", "M": "m", "N": "n",
    "NG": "ŋ", "OW": "oʊ", "OY": "ɔɪ", "P": "p", "R": "ɹ", "S": "s", "SH": "ʃ", "T": "t", "TH": "θ",
    "UH": "ʊ", "UW": "uː", "V": "v", "W": "w", "Y": "j", "Z": "z", "ZH": "ʒ",
}
_ARPABET_UNSTRESSED = {"AH0": "ə", "ER0": "ɚ"}
_ARPABET_SYMBOL = re.compile(r"^([A-Z]{1,3})([012]?)$")
_XSAMPA_HINTS = set("@{}\\`\"%=&:?") | {"tS", "dZ", "S", "Z", "N", "T", "D", "I", "U", "E", "O", "V", "Q"}

# eSpeak symbols panphon does not know, written as the IPA it does (for features only)
_FEATURE_ALIASES = {"ᵻ": "ɨ", "ɚ": "ə˞", "ɝ": "ɜ˞", "g": "ɡ", "ɩ": "ɪ", "ʋ": "ʋ"}
_TONE_CHARS = "0123456789˥˦˧˨˩"
_DROP_IPA = "ˈˌ\u0361\u035c"  # stress marks, tie bars


# ----------------------------------------------------------------- conversion
def ipa_symbol(symbol: str) -> str:
    """One IPA symbol from any source in the form eSpeak writes it (see the module docstring)."""
    symbol = "".join(c for c in symbol if c not in _DROP_IPA)
    return symbol.replace(":", "ː").replace("g", "ɡ") or symbol


def arpabet_symbol(symbol: str) -> str | None:
    """The IPA of one ARPAbet symbol (``AH0``), or ``None`` when it is not ARPAbet."""
    match = _ARPABET_SYMBOL.match(symbol.upper())
    if not match:
        return None
    return _ARPABET_UNSTRESSED.get(symbol.upper()) or ARPABET.get(match.group(1))


@functools.lru_cache(maxsize=1)
def _xsampa():
    import panphon.xsampa

    return panphon.xsampa.XSampa()


def xsampa_symbol(symbol: str) -> str | None:
    """The IPA of one X-SAMPA symbol (``tS``), or ``None`` when it does not convert."""
    try:
        out = _xsampa().convert(symbol)
    except (KeyError, IndexError, ValueError):
        return None
    return out or None


def to_ipa(symbol: str, phoneset: str) -> str | None:
    """One symbol of ``phoneset`` in IPA, or ``None`` when it is not a symbol of that phone set."""
    if phoneset == "espeak":
        return symbol
    if phoneset == "ipa":
        return ipa_symbol(symbol)
    if phoneset == "arpabet":
        return arpabet_symbol(symbol)
    if phoneset == "xsampa":
        ipa = xsampa_symbol(symbol)
        return None if ipa is None else ipa_symbol(ipa)
    raise LexiconError(f"unknown phone set {phoneset!r}; expected one of {', '.join(PHONESETS)}")


def looks_like(symbols: Iterable[str]) -> str | None:
    """The phone set a lexicon's symbols look like when it is not IPA (``arpabet``, ``xsampa``), else ``None``.

    ARPAbet: every symbol is one to three capitals with an optional stress digit.
    X-SAMPA: symbols use X-SAMPA's ASCII for IPA (``@``, ``{``, ``tS``, capitals for IPA letters).
    """
    symbols = set(symbols)
    if not symbols:
        return None
    if all(_ARPABET_SYMBOL.match(s) and arpabet_symbol(s) for s in symbols):
        return "arpabet"
    if all(s.isascii() for s in symbols) and any(s in _XSAMPA_HINTS or set(s) & set("@{}\\`\"%=&") for s in symbols):
        return "xsampa"
    return None


def convert_pronunciation(pron: Sequence[str], phoneset: str) -> tuple[str, ...] | str:
    """A pronunciation in IPA, or the first symbol that is not of ``phoneset``."""
    out = []
    for symbol in pron:
        ipa = to_ipa(symbol, phoneset)
        if ipa is None:
            return symbol
        out.append(ipa)
    return tuple(out)


# ----------------------------------------------------------------- features
def _feature_string(symbol: str) -> tuple[str, str]:
    """``(segments panphon knows, tone)`` of one symbol; tone digits and letters split off."""
    tone = "".join(c for c in symbol if c in _TONE_CHARS)
    base = "".join(c for c in symbol if c not in _TONE_CHARS and c not in _DROP_IPA and c != ".")
    base = "".join(_FEATURE_ALIASES.get(c, c) for c in unicodedata.normalize("NFC", base))
    return base, tone


@functools.lru_cache(maxsize=1)
def feature_table():
    """panphon's feature table (loaded once: a few seconds)."""
    try:
        import panphon
    except ImportError:
        raise LexiconError("mapping phonemes by articulatory features needs panphon: pip install panphon") from None
    return panphon.FeatureTable()


@functools.lru_cache(maxsize=None)
def segments(symbol: str) -> tuple[str, ...]:
    """The IPA segments panphon recognises in ``symbol`` (tone marks left out); empty: not IPA."""
    return tuple(feature_table().ipa_segs(_feature_string(symbol)[0]))


@functools.lru_cache(maxsize=None)
def segment_features(segment: str) -> tuple[int, ...]:
    """panphon's feature values (+1, 0, -1) of one segment, in ``feature_table().names`` order."""
    return tuple(feature_table().word_to_vector_list(segment, numeric=True)[0])


@functools.lru_cache(maxsize=None)
def phone_distance(a: str, b: str) -> float | None:
    """Articulatory distance of two symbols (0: the same features); ``None`` when one has no features."""
    if a == b:
        return 0.0
    sa, sb = segments(a), segments(b)
    if not sa or not sb:
        return None
    # the shorter sequence aligned in order with the best subset of the longer one's segments:
    # substitutions at panphon's weighted feature distance, each segment left over (a diphthong's
    # glide, an affricate's release) SEGMENT_COST; panphon's own indel cost (~7) would send a
    # monophthong to any other monophthong before the diphthong that contains it
    short, long_ = (sa, sb) if len(sa) <= len(sb) else (sb, sa)
    cost = min(sum(_segment_cost(x, long_[k]) for x, k in zip(short, keep))
               for keep in itertools.combinations(range(len(long_)), len(short)))
    cost += SEGMENT_COST * (len(long_) - len(short))
    return cost + (TONE_COST if _feature_string(a)[1] != _feature_string(b)[1] else 0.0)


@functools.lru_cache(maxsize=None)
def _segment_cost(x: str, y: str) -> float:
    """panphon's weighted feature distance of two single segments (its ``weighted_substitution_cost``)."""
    if x == y:
        return 0.0
    weights = feature_table().weights
    return sum(w * abs(a - b) for w, a, b in zip(weights, segment_features(x), segment_features(y)))


def nearest_phone(symbol: str, candidates: Sequence[str]) -> tuple[str, float] | None:
    """The candidate nearest to ``symbol`` by articulatory features, with its distance.

    Ties go to the candidate listed first. ``None`` when ``symbol`` has no features.

    Example:
        >>> nearest_phone("x", ["k", "s", "a"])
        ('k', 1.0)
    """
    best: tuple[str, float] | None = None
    for candidate in candidates:
        d = phone_distance(symbol, candidate)
        if d is not None and (best is None or d < best[1]):
            best = (candidate, d)
    return best


def closest_inventory(symbols: Sequence[str], inventories: dict[str, Sequence[str]]) -> tuple[str, float] | None:
    """The inventory whose phonemes are nearest to ``symbols``', on average (a symbol without features: 10).

    Example:
        >>> closest_inventory(["kʰ", "a"], {"x": ["s", "i"], "y": ["k", "a"]})
        ('y', 0.125)
    """
    best: tuple[str, float] | None = None
    for name, inventory in inventories.items():
        dists = [nearest_phone(p, inventory) for p in symbols]
        mean = sum(d[1] if d else 10.0 for d in dists) / max(1, len(dists))
        if best is None or mean < best[1]:
            best = (name, mean)
    return best


# ----------------------------------------------------------------- mapping
@dataclass
class PhoneMapping:
    """One symbol outside a head's inventory and the symbol it was mapped to."""

    symbol: str
    target: str | None  # None: no articulatory features, cannot be mapped; "": dropped (a lone tone mark)
    distance: float | None
    uses: list[str] = field(default_factory=list)  # "FILE:LINE word" of each pronunciation it occurs in

    def describe(self) -> str:
        where = f"{len(self.uses)} pronunciation{'s' if len(self.uses) != 1 else ''}, first {self.uses[0]}"
        if self.target == "":
            return f"{self.symbol!r} is a tone or stress mark alone, no phone: dropped ({where})"
        if self.target is None:
            return f"{self.symbol!r} has no articulatory features (not IPA?) and cannot be mapped ({where})"
        return f"{self.symbol!r} -> {self.target!r} (feature distance {self.distance:.2f}; {where})"


def same_symbol(symbol: str, inventory: Sequence[str]) -> str | None:
    """The inventory's own spelling of ``symbol``: itself, or a Unicode-equivalent form (``õ`` as o + ◌̃)."""
    if symbol in inventory:
        return symbol
    key = unicodedata.normalize("NFD", symbol)
    return next((s for s in inventory if unicodedata.normalize("NFD", s) == key), None)


def plan_mapping(symbols_with_uses: dict[str, list[str]], inventory: Sequence[str]) -> dict[str, PhoneMapping]:
    """A :class:`PhoneMapping` for each symbol not in ``inventory`` (nor Unicode-equivalent to one)."""
    out = {}
    for symbol, uses in symbols_with_uses.items():
        if same_symbol(symbol, inventory) is not None:
            continue
        base, tone = _feature_string(symbol)
        if tone and not base:  # a tone or stress digit standing alone is no phone (eSpeak's German "a n 1 aɪ")
            out[symbol] = PhoneMapping(symbol, "", 0.0, list(uses))
            continue
        near = nearest_phone(symbol, list(inventory))
        out[symbol] = PhoneMapping(symbol, near[0] if near else None, near[1] if near else None, list(uses))
    return out


# ----------------------------------------------------------------- attributes
# panphon's articulatory features, in its order: the attributes zero-shot phonemes are composed from
ATTRIBUTES = ("syl", "son", "cons", "cont", "delrel", "lat", "nas", "strid", "voi", "sg", "cg", "ant", "cor",
              "distr", "lab", "hi", "lo", "back", "round", "velaric", "tense", "long", "hitone", "hireg")


@functools.lru_cache(maxsize=None)
def attribute_signature(symbol: str) -> tuple[float, ...]:
    """A symbol's articulatory attributes: +1 present, -1 absent, 0 unspecified, one per :data:`ATTRIBUTES`.

    A symbol of several segments (a diphthong, an affricate) takes each attribute's
    mean over its segments (``aɪ``: half high); a symbol without features is all 0.

    Example:
        >>> sig = dict(zip(ATTRIBUTES, attribute_signature("b")))
        >>> sig["voi"], sig["lab"], sig["son"]
        (1.0, 1.0, -1.0)
    """
    if tuple(feature_table().names) != ATTRIBUTES:
        raise LexiconError(f"panphon's features changed ({' '.join(feature_table().names)}); speechtl expects "
                           f"{' '.join(ATTRIBUTES)}")
    segs = segments(symbol)
    if not segs:
        return (0.0,) * len(ATTRIBUTES)
    vectors = [segment_features(s) for s in segs]
    return tuple(sum(v[k] for v in vectors) / len(vectors) for k in range(len(ATTRIBUTES)))
