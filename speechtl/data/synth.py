"""The synthetic multilingual corpus: eSpeak NG speech with eSpeak phoneme labels.

For each language the vocabulary is wordfreq's most frequent words that eSpeak
pronounces with that language's own rules. It is split into train, dev and test
words, and eSpeak's voice variants into train, dev and test voices, so dev and
test utterances are spoken by unseen voices and contain only unseen words (the
zero-shot word test of the lexicon decoder uses the same test split). Words are
unseen by pronunciation, not only by spelling: a word pronounced like a training
word, or like one plus or minus a short final suffix, is never held out
(:func:`split_words`).

With ``synth.words`` the vocabulary is that fixed list instead (e.g. the ten
digit words) and every split speaks all of it: then only the voices separate
train from dev and test.

A speaker is a voice variant with a speaking rate and a pitch, on the
language's own eSpeak voice or, with ``synth.voices``, on one of those base
voices (accents such as ``en-us`` or ``en-gb-scotland``); ``synth.warp`` also
scales each speaker's frequencies (formants and pitch, as a shorter or longer
vocal tract; durations scale inversely) by resampling. Each language is
synthesised in a fresh process whose C random state is seeded, so the audio is a
deterministic function of the recipe's seed.
"""

from __future__ import annotations

import concurrent.futures
import ctypes
import hashlib
import json
import multiprocessing
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from speechtl.config import to_dict
from speechtl.data.audio import resample, save_audio
from speechtl.data.manifests import SPLITS, corpus_lexicon_path, load_cuts, manifest_paths, save_split
from speechtl.data.config import DataConfig, SynthConfig
from speechtl.text.g2p import WORD_BOUNDARY, phonemize
from speechtl.text.g2p_lexicon import frequent_lexicon
from speechtl.text.lexicon import Lexicon, write_word_list
from speechtl.text.languages import get_language

VOICE_FRACTIONS = {"train": 0.7, "dev": 0.1, "test": 0.2}


@dataclass(frozen=True)
class Speaker:
    """A synthetic speaker: an eSpeak voice variant at a rate and pitch."""

    variant: str
    rate: int
    pitch: int
    base: str = ""  # eSpeak base voice; "" = the language's own
    warp: float = 1.0  # frequency scale (vocal tract length)

    @property
    def id(self) -> str:
        warp = f"_w{self.warp:.2f}" if self.warp != 1.0 else ""
        return f"{self.base + '+' if self.base else ''}{self.variant}_r{self.rate}_p{self.pitch}{warp}"

    def rendered_rate(self, rate: int) -> int:
        """The rate to read eSpeak's ``rate`` Hz samples as: scales every frequency by ``warp``.

        Rounded to 50 Hz so that resampling kernels stay small.
        """
        return rate if self.warp == 1.0 else int(round(rate * self.warp / 50) * 50)


def _rng(seed: int, *keys: str) -> np.random.Generator:
    return np.random.default_rng([seed] + [zlib.crc32(k.encode()) for k in keys])


def build_vocabulary(language: str, size: int, text_file: str | None = None) -> dict[str, list[str]]:
    """The ``size`` most frequent words eSpeak pronounces natively, with pronunciations.

    Words must be alphabetic, lower-case and at least two letters long; words
    eSpeak reads with another language's rules (loanwords) are skipped. They come
    from wordfreq, or from ``text_file`` (``data.synth.text_files``) when given.

    Returns:
        word -> phonemes, in frequency order.
    """
    lexicon = frequent_lexicon(language, size, text_file=text_file)
    if len(lexicon) < size:
        raise ValueError(f"only {len(lexicon)} usable {language} words (asked for {size})")
    return {word: list(pron) for word, pron in lexicon.items()}


def fixed_vocabulary(language: str, words: list[str]) -> dict[str, list[str]]:
    """G2P pronunciations of a fixed word list (``synth.words``), in its order.

    Raises:
        RecipeError: eSpeak cannot pronounce a word with ``language``'s own rules.
    """
    from speechtl.errors import RecipeError
    from speechtl.text.g2p import pronounce

    prons = pronounce(words, language)
    bad = [w for w in words if w not in prons]
    if bad:
        raise RecipeError(f"data.synth.words: eSpeak does not read {', '.join(bad)} as one {language} word")
    return {w: list(prons[w]) for w in words}


SUFFIX_PHONEMES = 3  # words whose pronunciations differ by a final suffix this long are one family


def word_families(lexicon: dict[str, list[str]], suffix: int = SUFFIX_PHONEMES) -> list[list[str]]:
    """Words grouped so that no two related words fall in different groups.

    Two words are related when they are pronounced alike, or when one's
    pronunciation is the other's plus a final suffix of at most ``suffix``
    phonemes (voiture/voitures, carte/cartes, work/worked); a family is a
    connected group of related words, so relatedness is closed over it.

    Returns:
        Families in the order of their first word in ``lexicon``, each in that order.
    """
    by_pron: dict[tuple[str, ...], list[str]] = {}
    for word, pron in lexicon.items():
        by_pron.setdefault(tuple(pron), []).append(word)
    parent = {word: word for word in lexicon}

    def root(word: str) -> str:
        while parent[word] != word:
            parent[word] = parent[parent[word]]
            word = parent[word]
        return word

    for pron, words in by_pron.items():
        for cut in range(0, min(suffix, len(pron) - 1) + 1):  # the same and every shorter stem
            for other in by_pron.get(pron[: len(pron) - cut], ()):
                parent[root(other)] = root(words[0])
    families: dict[str, list[str]] = {}
    for word in lexicon:
        families.setdefault(root(word), []).append(word)
    return list(families.values())


def split_words(lexicon: dict[str, list[str]], cfg: SynthConfig, language: str) -> dict[str, list[str]]:
    """Train / dev / test word lists, disjoint by pronunciation; with ``cfg.words`` every split has all the words.

    Whole word families (:func:`word_families`) go to one split, so no dev or
    test word is pronounced like a training word or like a training word plus
    or minus a final suffix of up to ``SUFFIX_PHONEMES`` phonemes. Families are
    taken in a seeded random order; each joins test if it fits in test's
    remaining room, else dev if it fits there, else train.

    Args:
        lexicon: word -> phonemes (the vocabulary).

    Raises:
        RecipeError: no family is small enough for the dev or the test split.
    """
    if cfg.words:
        return {split: list(lexicon) for split in SPLITS}
    families = word_families(lexicon)
    order = _rng(cfg.seed, "words", language).permutation(len(families))
    room = {"test": max(1, int(round(cfg.test_word_fraction * len(lexicon)))),
            "dev": max(1, int(round(cfg.dev_word_fraction * len(lexicon))))}
    out: dict[str, list[str]] = {"test": [], "dev": [], "train": []}
    for i in order:
        family = families[i]
        split = next((s for s in ("test", "dev") if len(out[s]) + len(family) <= room[s]), "train")
        out[split].extend(family)
    empty = [s for s in ("test", "dev") if not out[s]]
    if empty:
        from speechtl.errors import RecipeError

        raise RecipeError(f"{language}: no word family fits the {empty[0]} split; raise data.synth.vocabulary "
                         f"or data.synth.{empty[0]}_word_fraction")
    return out


def split_voices(variants: list[str], seed: int) -> dict[str, list[str]]:
    """Disjoint train / dev / test pools of eSpeak voice variants (same for every language)."""
    order = _rng(seed, "voices").permutation(len(variants))
    shuffled = [variants[i] for i in order]
    n_test = int(round(VOICE_FRACTIONS["test"] * len(variants)))
    n_dev = int(round(VOICE_FRACTIONS["dev"] * len(variants)))
    return {
        "test": shuffled[:n_test],
        "dev": shuffled[n_test : n_test + n_dev],
        "train": shuffled[n_test + n_dev :],
    }


def make_speakers(pool: list[str], n: int, cfg: SynthConfig, rng: np.random.Generator) -> list[Speaker]:
    """``n`` distinct speakers drawn from a voice pool (variants repeat only when n > pool)."""
    variants = [pool[i % len(pool)] for i in rng.permutation(max(n, len(pool)))[:n]] if n <= len(pool) \
        else [pool[i % len(pool)] for i in range(n)]
    speakers, seen = [], set()
    for variant in variants:
        while True:
            spk = Speaker(variant, int(rng.integers(cfg.rate[0], cfg.rate[1] + 1)),
                          int(rng.integers(cfg.pitch[0], cfg.pitch[1] + 1)),
                          # drawn only when asked, so corpora made without voices stay as they were
                          str(cfg.voices[int(rng.integers(len(cfg.voices)))]) if cfg.voices else "",
                          round(float(rng.uniform(*cfg.warp)), 2) if cfg.warp != (1.0, 1.0) else 1.0)
            if spk not in seen:
                break
        seen.add(spk)
        speakers.append(spk)
    return speakers


def utterance_counts(cfg: SynthConfig, language: str) -> dict[str, int]:
    return {
        "train": cfg.train_utterances_per_language.get(language, cfg.train_utterances),
        "dev": cfg.dev_utterances,
        "test": cfg.test_utterances,
    }


def synthesize_language(language: str, cfg: SynthConfig, root: str, variants: list[str]) -> dict:
    """Synthesise all splits of one language; runs in its own process.

    Returns:
        ``{"splits": {split: (RecordingSet, SupervisionSet)}, "lexicon": {word: phonemes},
        "words": {split: [word]}}``.
    """
    from lhotse import AudioSource, Recording, RecordingSet, SupervisionSegment, SupervisionSet

    from speechtl.data.espeak import Espeak

    torch.set_num_threads(1)
    ctypes.CDLL(None).srand(zlib.crc32(f"{cfg.seed}-{language}".encode()))
    engine = Espeak.instance()
    lang = get_language(language)
    vocab = fixed_vocabulary(language, cfg.words) if cfg.words else build_vocabulary(language, cfg.vocabulary, cfg.text_files.get(language))
    words = split_words(vocab, cfg, language)
    voices = split_voices(variants, cfg.seed)
    counts = utterance_counts(cfg, language)
    out_dir = Path(root) / "audio" / language
    result = {"splits": {}, "lexicon": vocab, "words": words}
    for split in SPLITS:
        rng = _rng(cfg.seed, "utterances", language, split)
        n_spk = {"train": cfg.train_speakers, "dev": cfg.dev_speakers, "test": cfg.test_speakers}[split]
        speakers = make_speakers(voices[split], n_spk, cfg, rng)
        texts = _draw_texts(words[split], counts[split], cfg, rng, language)
        recordings, supervisions = [], []
        for i, (text, phones) in enumerate(texts):
            spk = speakers[int(rng.integers(len(speakers)))]
            samples = engine.synthesize(text, f"{spk.base or lang.synth_voice}+{spk.variant}", spk.rate, spk.pitch)
            wave = resample(torch.from_numpy(samples.astype(np.float32) / 32768.0),
                            spk.rendered_rate(engine.sample_rate), cfg.sample_rate)
            uid = f"{language}-{split}-{i:05d}"
            path = (out_dir / split / f"{uid}.wav").resolve()
            save_audio(path, wave, cfg.sample_rate)
            duration = wave.numel() / cfg.sample_rate
            recordings.append(Recording(
                id=uid, sources=[AudioSource(type="file", channels=[0], source=str(path))],
                sampling_rate=cfg.sample_rate, num_samples=wave.numel(), duration=duration,
            ))
            supervisions.append(SupervisionSegment(
                id=uid, recording_id=uid, start=0.0, duration=duration, channel=0, text=text,
                language=language, speaker=spk.id, custom={"phonemes": phones, "voice": spk.variant,
                                                                  **({"base_voice": spk.base} if spk.base else {})},
            ))
        result["splits"][split] = (RecordingSet.from_recordings(recordings),
                                   SupervisionSet.from_segments(supervisions))
    return result


def _draw_texts(words: list[str], n: int, cfg: SynthConfig, rng: np.random.Generator,
                language: str) -> list[tuple[str, str]]:
    """``n`` (text, phoneme string) pairs of random words; texts eSpeak reads as foreign are redrawn."""
    lo, hi = cfg.words_per_utterance
    out: list[tuple[str, str]] = []
    while len(out) < n:
        batch = [" ".join(rng.choice(words, size=int(rng.integers(lo, hi + 1)))) for _ in range(n - len(out))]
        for text, pron in zip(batch, phonemize(batch, language)):
            if pron is not None:
                out.append((text, f" {WORD_BOUNDARY} ".join(" ".join(w) for w in pron)))
    return out


def language_fingerprint(cfg: SynthConfig, language: str) -> str:
    """A hash of everything that determines one language's part of the corpus."""
    settings = to_dict(cfg)
    settings.pop("train_utterances_per_language")
    for key, unset in (("words", []), ("voices", []), ("warp", [1.0, 1.0])):
        if settings[key] == unset:  # fingerprints of corpora made before these settings existed hold
            settings.pop(key)
    settings.pop("text_files", None)
    if language in cfg.text_files:  # only this language's text matters, by content
        settings["text_file"] = hashlib.sha256(Path(cfg.text_files[language]).read_bytes()).hexdigest()
    if not cfg.words:  # corpora split by spelling only (before word families) are remade
        settings["word_split"] = f"families-{SUFFIX_PHONEMES}"
    settings["counts"] = utterance_counts(cfg, language)
    key = json.dumps({"language": language, "synth": settings}, sort_keys=True)
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def _status_path(root: Path, language: str) -> Path:
    return root / "status" / f"{language}.json"


def language_is_ready(cfg: SynthConfig, root: str | Path, language: str) -> bool:
    """True when ``root`` holds this language, made with these settings."""
    status = _status_path(Path(root), language)
    try:
        done = json.loads(status.read_text())
    except (OSError, json.JSONDecodeError):
        return False
    return done.get("fingerprint") == language_fingerprint(cfg, language) and all(
        p.is_file() for s in SPLITS for p in manifest_paths(root, s, prefix=f"synth_{language}")
    )


def load_synthetic(cfg: DataConfig, split: str):
    """One split of the synthetic corpus, the recipe's languages together, as a CutSet."""
    from lhotse import combine

    parts = [load_cuts(cfg.root, split, prefix=f"synth_{lang}") for lang in cfg.languages]
    return parts[0] if len(parts) == 1 else combine(parts)


def _store_language(root: Path, language: str, cfg: SynthConfig, result: dict) -> dict:
    """Write one language's manifests, lexicon and word lists, then its status file (last)."""
    stats = {}
    for split in SPLITS:
        recordings, supervisions = result["splits"][split]
        save_split(recordings, supervisions, root, split, prefix=f"synth_{language}")
        stats[split] = {
            "utterances": len(supervisions),
            "hours": round(sum(x.duration for x in supervisions) / 3600, 4),
            "speakers": len({x.speaker for x in supervisions}),
            "words": len(result["words"][split]),
        }
    Lexicon.from_mapping(result["lexicon"]).write(corpus_lexicon_path(root, language))
    for split, words in result["words"].items():
        write_word_list(corpus_lexicon_path(root, language, split), words)
    status = {"language": language, "fingerprint": language_fingerprint(cfg, language),
              "synth": to_dict(cfg), "stats": stats}
    path = _status_path(root, language)
    path.parent.mkdir(exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(status, indent=2, ensure_ascii=False))
    tmp.replace(path)
    return status


def _check_text_source(cfg: SynthConfig, language: str) -> None:
    """Raises LanguageError (naming the recipe key) when ``language`` has no words to speak."""
    from speechtl.errors import LanguageError

    lang = get_language(language)
    if language in cfg.text_files:
        if not Path(cfg.text_files[language]).is_file():
            raise LanguageError(f"data.synth.text_files.{language}: no such file {cfg.text_files[language]!r}")
    elif not (cfg.words or lang.wordfreq):
        raise LanguageError(f"wordfreq has no word list for {language} ({lang.name}): set the recipe key "
                            f"data.synth.text_files: {{{language}: FILE}} to a word list or text file")


def synthesize_corpus(cfg: DataConfig, jobs: int = 2, progress: bool = True) -> dict:
    """Make the recipe's languages of the synthetic corpus under ``cfg.root``.

    Each language is stored on its own (``manifests/synth_{lang}_*``) and made
    only when missing or made with other settings, so recipes over different
    subsets of languages share one corpus directory. Languages are synthesised
    in parallel, each in a fresh process.

    Returns:
        ``{"stats": {language: {split: {utterances, hours, speakers, words}}}}``.
    """
    from tqdm import tqdm

    for code in cfg.languages:
        _check_text_source(cfg.synth, code)  # fail fast on an unknown code or a language without text
    root = Path(cfg.root)
    root.mkdir(parents=True, exist_ok=True)
    missing = [code for code in cfg.languages if not language_is_ready(cfg.synth, root, code)]
    if missing:
        variants = _variant_names()
        ctx = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(max_workers=max(1, min(jobs, len(missing))),
                                                    mp_context=ctx, max_tasks_per_child=1) as pool:
            futures = {pool.submit(synthesize_language, code, cfg.synth, str(root), variants): code
                       for code in missing}
            bar = tqdm(concurrent.futures.as_completed(futures), total=len(futures),
                       desc="synthesising", unit="lang", disable=not progress)
            for future in bar:
                code = futures[future]
                _store_language(root, code, cfg.synth, future.result())
                bar.set_postfix_str(code)
    return {"stats": {code: json.loads(_status_path(root, code).read_text())["stats"]
                      for code in cfg.languages}}


def _variant_names() -> list[str]:
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
