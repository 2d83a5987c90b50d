"""Who speaks the synthetic corpus: eSpeak voice variants and the voices of other engines.

A speaker is an engine's voice at a speaking rate (and, for eSpeak, a variant
and a pitch), optionally with its frequencies scaled (``synth.warp``). eSpeak's
variants are split into disjoint train, dev and test pools; the few voices of
Flite and Festival (``data.synth.engines``) are too few to split, so they speak
in every split and only rate and warp tell their speakers apart there.

:func:`speak_with_engines` speaks the utterances of non-eSpeak speakers, one
batch per engine, and labels each with the phones that engine spoke.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from speechtl.data.config import SynthConfig

VOICE_FRACTIONS = {"train": 0.7, "dev": 0.1, "test": 0.2}
SILENCE = 1e-3  # peak amplitude below which an engine's audio counts as silence


@dataclass(frozen=True)
class Speaker:
    """A synthetic speaker: an engine's voice (for eSpeak a variant) at a rate and pitch."""

    variant: str  # eSpeak variant, or the engine's voice
    rate: int
    pitch: int  # eSpeak only; 0 for other engines
    base: str = ""  # eSpeak base voice; "" = the language's own
    warp: float = 1.0  # frequency scale (vocal tract length)
    engine: str = "espeak"

    @property
    def id(self) -> str:
        warp = f"_w{self.warp:.2f}" if self.warp != 1.0 else ""
        if self.engine != "espeak":
            return f"{self.engine}:{self.variant}_r{self.rate}{warp}"
        return f"{self.base + '+' if self.base else ''}{self.variant}_r{self.rate}_p{self.pitch}{warp}"

    def rendered_rate(self, rate: int) -> int:
        """The rate to read the engine's ``rate`` Hz samples as: scales every frequency by ``warp``.

        Rounded to 50 Hz so that resampling kernels stay small.
        """
        return rate if self.warp == 1.0 else int(round(rate * self.warp / 50) * 50)


def rng_for(seed: int, *keys: str) -> np.random.Generator:
    """A generator seeded by ``seed`` and the CRC32 of each key (stable across processes)."""
    return np.random.default_rng([seed] + [zlib.crc32(k.encode()) for k in keys])


def split_voices(variants: list[str], seed: int) -> dict[str, list[str]]:
    """Disjoint train / dev / test pools of eSpeak voice variants (same for every language)."""
    order = rng_for(seed, "voices").permutation(len(variants))
    shuffled = [variants[i] for i in order]
    n_test = int(round(VOICE_FRACTIONS["test"] * len(variants)))
    n_dev = int(round(VOICE_FRACTIONS["dev"] * len(variants)))
    return {
        "test": shuffled[:n_test],
        "dev": shuffled[n_test : n_test + n_dev],
        "train": shuffled[n_test + n_dev :],
    }


def make_speakers(pool: list[str], n: int, cfg: SynthConfig, rng: np.random.Generator,
                  engine_voices: dict[str, list[str]] | None = None) -> list[Speaker]:
    """``n`` distinct speakers drawn from a voice pool (variants repeat only when n > pool).

    With ``engine_voices`` (non-eSpeak engine -> voices) each speaker first
    draws an engine among ``cfg.engines``; without it nothing more is drawn, so
    corpora made with eSpeak alone stay as they were.
    """
    variants = [pool[i % len(pool)] for i in rng.permutation(max(n, len(pool)))[:n]] if n <= len(pool) \
        else [pool[i % len(pool)] for i in range(n)]
    names = list(cfg.engines)
    speakers: list[Speaker] = []
    seen: set[Speaker] = set()
    for variant in variants:
        while True:
            name = names[int(rng.integers(len(names)))] if engine_voices else "espeak"
            if name == "espeak":
                spk = Speaker(variant, int(rng.integers(cfg.rate[0], cfg.rate[1] + 1)),
                              int(rng.integers(cfg.pitch[0], cfg.pitch[1] + 1)),
                              # drawn only when asked, so corpora made without voices stay as they were
                              str(cfg.voices[int(rng.integers(len(cfg.voices)))]) if cfg.voices else "",
                              round(float(rng.uniform(*cfg.warp)), 2) if cfg.warp != (1.0, 1.0) else 1.0)
            else:
                voices = engine_voices[name]
                spk = Speaker(voices[int(rng.integers(len(voices)))], int(rng.integers(cfg.rate[0], cfg.rate[1] + 1)),
                              0, "", round(float(rng.uniform(*cfg.warp)), 2) if cfg.warp != (1.0, 1.0) else 1.0, name)
            if spk not in seen:
                break
        seen.add(spk)
        speakers.append(spk)
    return speakers


def speak_with_engines(texts: list[tuple[str, str]], speakers: list[Speaker], agreement) -> dict[int, tuple]:
    """Speak and label the utterances whose speaker is not eSpeak's.

    Args:
        texts: (text, eSpeak's phoneme string) per utterance.
        speakers: the speaker of each utterance.
        agreement: a :class:`speechtl.data.engine_labels.Agreement` that records each word.

    Returns:
        ``{utterance index: (samples float32 (samples,), sample rate, label) | (None, reason)}``;
        a reason (``silence``, ``empty-word``, ``unmapped-phone``, ``word-count``) marks an
        utterance to skip, never to label.
    """
    from speechtl.data.engine_labels import label_words
    from speechtl.data.engines import Request, engine
    from speechtl.text.g2p import WORD_BOUNDARY

    out: dict[int, tuple] = {}
    for name in sorted({s.engine for s in speakers} - {"espeak"}):
        index = [i for i, s in enumerate(speakers) if s.engine == name]
        spoken = engine(name).speak([Request(texts[i][0], speakers[i].variant, speakers[i].rate) for i in index])
        for i, sp in zip(index, spoken):
            words = texts[i][0].split()
            espeak = [w.split() for w in texts[i][1].split(f" {WORD_BOUNDARY} ")]
            ipa = label_words(sp.words or [], sp.phoneset, espeak)
            if float(np.abs(sp.samples).max(initial=0.0)) < SILENCE:
                out[i] = (None, "silence")
            elif ipa is None:
                out[i] = (None, "unmapped-phone")
            elif len(ipa) != len(words):
                out[i] = (None, "word-count")
            elif any(not w for w in ipa):
                out[i] = (None, "empty-word")
            else:
                agreement.add(name, speakers[i].variant, words, ipa, espeak)
                out[i] = (sp.samples, sp.sample_rate, f" {WORD_BOUNDARY} ".join(" ".join(w) for w in ipa))
    return out


def variant_names() -> list[str]:
    """eSpeak's voice variants, except those with breath noise.

    Variants that set ``breath`` add aspiration noise that differs from process
    to process (measured: same text, seed and voice, different samples), which
    would break the corpus's determinism, so they are left out.
    """
    import espeakng_loader

    vdir = Path(espeakng_loader.get_data_path()) / "voices" / "!v"
    names = []
    for path in sorted(vdir.iterdir()):
        text = path.read_text(encoding="utf-8", errors="replace")
        if path.is_file() and not any(line.split()[:1] == ["breath"] for line in text.splitlines()):
            names.append(path.name)
    return names
