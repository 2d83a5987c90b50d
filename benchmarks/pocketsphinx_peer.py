"""pocketsphinx (the ``peers`` extra) as a word recogniser over a given vocabulary.

Its bundled en-us acoustic model and CMU dictionary; the vocabulary becomes its
dictionary (CMUdict pronunciations, all variants; words CMUdict lacks get
eSpeak G2P mapped to CMU phones) and a uniform unigram language model, so it
searches the same words as the lexicon decoder, with no word preferred.
Imported only by the benchmarks: speechtl itself never needs pocketsphinx.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np

# eSpeak NG en-us phonemes (as phonemized by speechtl.text.g2p) -> CMU ARPAbet
IPA_TO_CMU = {
    "aɪ": "AY", "aɪə": "AY AH", "aɪɚ": "AY ER", "aʊ": "AW", "b": "B", "d": "D", "dʒ": "JH", "eɪ": "EY",
    "f": "F", "h": "HH", "i": "IY", "iə": "IY AH", "iː": "IY", "j": "Y", "k": "K", "l": "L", "m": "M",
    "n": "N", "n̩": "AH N", "oʊ": "OW", "p": "P", "s": "S", "t": "T", "tʃ": "CH", "uː": "UW", "v": "V",
    "w": "W", "z": "Z", "æ": "AE", "ð": "DH", "ŋ": "NG", "ɐ": "AH", "ɑː": "AA", "ɑːɹ": "AA R", "ɔ": "AO",
    "ɔɪ": "OY", "ɔː": "AO", "ɔːɹ": "AO R", "ə": "AH", "əl": "AH L", "ɚ": "ER", "ɛ": "EH", "ɛɹ": "EH R",
    "ɜː": "ER", "ɡ": "G", "ɪ": "IH", "ɪɹ": "IH R", "ɹ": "R", "ɾ": "T", "ʃ": "SH", "ʊ": "UH", "ʊɹ": "UH R",
    "ʌ": "AH", "ʒ": "ZH", "ʔ": "T", "θ": "TH", "ᵻ": "IH", "oː": "OW", "r": "R", "x": "K", "aɪʊ": "AY UH",
}


def model_dir() -> Path:
    from pocketsphinx import get_model_path

    return Path(get_model_path()) / "en-us"


def cmudict() -> dict[str, list[str]]:
    """word -> pronunciations (ARPAbet strings) of pocketsphinx's bundled CMUdict."""
    out: dict[str, list[str]] = {}
    for line in (model_dir() / "cmudict-en-us.dict").read_text(encoding="utf-8").splitlines():
        head, _, phones = line.partition(" ")
        word = head.split("(")[0]
        out.setdefault(word, []).append(phones.strip())
    return out


def build_dictionary(words: list[str], directory: Path) -> dict:
    """Write ``words.dict`` and a uniform unigram ``words.arpa`` for ``words``.

    Returns:
        Counts: words from CMUdict, from G2P, and left out (G2P symbol without a CMU phone).
    """
    from speechtl.text.g2p_lexicon import g2p_lexicon

    cmu = cmudict()
    missing = [w for w in words if w not in cmu]
    g2p, _ = g2p_lexicon(missing, "en", context=False)
    lines, kept, dropped = [], [], []
    for word in words:
        prons = cmu.get(word, [])
        if not prons:
            ipa = g2p.pronunciations(word)
            if ipa and all(p in IPA_TO_CMU for p in ipa[0]):
                prons = [" ".join(IPA_TO_CMU[p] for p in ipa[0])]
        if not prons:
            dropped.append(word)
            continue
        kept.append(word)
        lines += [f"{word if i == 0 else f'{word}({i + 1})'} {p}" for i, p in enumerate(prons)]
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "words.dict").write_text("\n".join(lines) + "\n", encoding="utf-8")
    logp = math.log10(1.0 / (len(kept) + 1))
    arpa = ["\\data\\", f"ngram 1={len(kept) + 2}", "", "\\1-grams:", f"{logp:.4f} </s>", "-99 <s>"]
    arpa += [f"{logp:.4f} {w}" for w in kept]
    (directory / "words.arpa").write_text("\n".join(arpa + ["", "\\end\\", ""]), encoding="utf-8")
    return {"cmudict": len(kept) - sum(1 for w in missing if w in kept), "g2p": sum(1 for w in missing if w in kept),
            "left_out": dropped}


class Pocketsphinx:
    """A pocketsphinx decoder over a written dictionary and unigram LM."""

    def __init__(self, directory: Path) -> None:
        from pocketsphinx import Config, Decoder

        config = Config(hmm=str(model_dir() / "en-us"), dict=str(directory / "words.dict"),
                        lm=str(directory / "words.arpa"), loglevel="FATAL")
        self.decoder = Decoder(config)

    def transcribe(self, wave16k: np.ndarray) -> tuple[str, float]:
        """Words of 16 kHz mono float audio, and the seconds the search took."""
        pcm = (np.clip(wave16k, -1, 1) * 32767).astype(np.int16).tobytes()
        start = time.perf_counter()
        self.decoder.start_utt()
        self.decoder.process_raw(pcm, full_utt=True)
        self.decoder.end_utt()
        hyp = self.decoder.hyp()
        seconds = time.perf_counter() - start
        text = hyp.hypstr if hyp is not None else ""
        return " ".join(w for w in text.split() if not w.startswith("<") and not w.startswith("[")), seconds
