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
from pathlib import Path

import numpy as np
import torch

from speechtl.config import to_dict
from speechtl.data.audio import resample, save_audio
from speechtl.data.manifests import SPLITS, corpus_lexicon_path, load_cuts, manifest_paths, save_split
from speechtl.data.config import DEFAULT_ENGINES, DataConfig, SynthConfig
from speechtl.data.engines import check_engines, engine_voices
from speechtl.data.synth_speakers import Speaker, make_speakers, rng_for, speak_with_engines, split_voices, variant_names
from speechtl.text.g2p import WORD_BOUNDARY, phonemize
from speechtl.text.g2p_lexicon import frequent_lexicon
from speechtl.text.lexicon import Lexicon, write_word_list
from speechtl.text.languages import get_language

_rng = rng_for


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


def utterance_counts(cfg: SynthConfig, language: str) -> dict[str, int]:
    return {
        "train": cfg.train_utterances_per_language.get(language, cfg.train_utterances),
        "dev": cfg.dev_utterances,
        "test": cfg.test_utterances,
    }


def synthesize_language(language: str, cfg: SynthConfig, root: str, variants: list[str],
                        engine_voices: dict[str, list[str]] | None = None) -> dict:
    """Synthesise all splits of one language; runs in its own process.

    Args:
        engine_voices: voices of each non-eSpeak engine in ``cfg.engines`` (None: eSpeak alone).

    Returns:
        ``{"splits": {split: (RecordingSet, SupervisionSet)}, "lexicon": {word: phonemes},
        "words": {split: [word]}, "skipped": {split: {reason: n}}, "agreement": report | None}``.
    """
    from lhotse import RecordingSet, SupervisionSet

    from speechtl.data.engine_labels import Agreement

    torch.set_num_threads(1)
    ctypes.CDLL(None).srand(zlib.crc32(f"{cfg.seed}-{language}".encode()))
    vocab = fixed_vocabulary(language, cfg.words) if cfg.words else build_vocabulary(language, cfg.vocabulary, cfg.text_files.get(language))
    words = split_words(vocab, cfg, language)
    voices = split_voices(variants, cfg.seed)
    counts = utterance_counts(cfg, language)
    agreement = Agreement()
    result = {"splits": {}, "lexicon": vocab, "words": words, "skipped": {}}
    for split in SPLITS:
        rng = _rng(cfg.seed, "utterances", language, split)
        n_spk = {"train": cfg.train_speakers, "dev": cfg.dev_speakers, "test": cfg.test_speakers}[split]
        speakers = make_speakers(voices[split], n_spk, cfg, rng, engine_voices)
        texts = _draw_texts(words[split], counts[split], cfg, rng, language)
        chosen = [speakers[int(rng.integers(len(speakers)))] for _ in texts]  # the same draws as one per utterance
        spoken = speak_with_engines(texts, chosen, agreement)
        recordings, supervisions, skipped = [], [], {}
        for i, ((text, phones), spk) in enumerate(zip(texts, chosen)):
            made = _utterance(f"{language}-{split}-{i:05d}", text, phones, spk, spoken.get(i), cfg, language,
                              Path(root) / "audio" / language / split)
            if isinstance(made, str):
                skipped[made] = skipped.get(made, 0) + 1
                continue
            recordings.append(made[0])
            supervisions.append(made[1])
        result["splits"][split] = (RecordingSet.from_recordings(recordings),
                                   SupervisionSet.from_segments(supervisions))
        result["skipped"][split] = skipped
    result["agreement"] = agreement.report() if engine_voices else None
    return result


def _utterance(uid: str, text: str, phones: str, spk: Speaker, spoken: tuple | None, cfg: SynthConfig,
               language: str, out_dir: Path):
    """One utterance's audio file, Recording and SupervisionSegment, or the reason it was skipped.

    ``spoken`` is another engine's ``(samples, rate, label)`` or ``(None, reason)``; None: eSpeak speaks.
    """
    from lhotse import AudioSource, Recording, SupervisionSegment

    from speechtl.data.espeak import Espeak

    if spoken is None:
        engine = Espeak.instance()
        samples = engine.synthesize(text, f"{spk.base or get_language(language).synth_voice}+{spk.variant}",
                                    spk.rate, spk.pitch)
        wave, rate, custom = torch.from_numpy(samples.astype(np.float32) / 32768.0), engine.sample_rate, {}
    elif spoken[0] is None:
        return spoken[1]
    else:
        wave, rate, custom = torch.from_numpy(spoken[0]), spoken[1], {"engine": spk.engine, "espeak_phonemes": phones}
        phones = spoken[2]  # the engine's own phones: what the audio holds
    wave = resample(wave, spk.rendered_rate(rate), cfg.sample_rate)
    path = (out_dir / f"{uid}.wav").resolve()
    save_audio(path, wave, cfg.sample_rate)
    duration = wave.numel() / cfg.sample_rate
    recording = Recording(id=uid, sources=[AudioSource(type="file", channels=[0], source=str(path))],
                          sampling_rate=cfg.sample_rate, num_samples=wave.numel(), duration=duration)
    supervision = SupervisionSegment(
        id=uid, recording_id=uid, start=0.0, duration=duration, channel=0, text=text, language=language,
        speaker=spk.id, custom={"phonemes": phones, "voice": spk.variant,
                                **({"base_voice": spk.base} if spk.base else {}), **custom})
    return recording, supervision


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
    for key, unset in (("words", []), ("voices", []), ("warp", [1.0, 1.0]), ("engines", DEFAULT_ENGINES)):
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
            **({"skipped": result["skipped"][split]} if result["skipped"].get(split) else {}),
        }
    if result.get("agreement"):  # what each engine said beside eSpeak, word by word
        report = root / "engines" / f"{language}.json"
        report.parent.mkdir(exist_ok=True)
        report.write_text(json.dumps(result["agreement"], indent=1, ensure_ascii=False))
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
        check_engines(cfg.synth.engines)  # an engine or voice not installed fails before any synthesis
        variants = variant_names()
        ctx = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(max_workers=max(1, min(jobs, len(missing))),
                                                    mp_context=ctx, max_tasks_per_child=1) as pool:
            voices = engine_voices(cfg.synth.engines) if cfg.synth.engines != DEFAULT_ENGINES else None
            futures = {pool.submit(synthesize_language, code, cfg.synth, str(root), variants, voices): code
                       for code in missing}
            bar = tqdm(concurrent.futures.as_completed(futures), total=len(futures),
                       desc="synthesising", unit="lang", disable=not progress)
            for future in bar:
                code = futures[future]
                _store_language(root, code, cfg.synth, future.result())
                bar.set_postfix_str(code)
    return {"stats": {code: json.loads(_status_path(root, code).read_text())["stats"]
                      for code in cfg.languages}}
