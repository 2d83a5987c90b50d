import hashlib
from pathlib import Path

import pytest

from speechtl.data.config import DEFAULT_LANGUAGES
from speechtl.data.synth import load_synthetic, split_voices, synthesize_corpus
from speechtl.text.inventory import Inventory
from tests.conftest import tiny_data_config


def _digest(cfg):
    h = hashlib.sha256()
    for split in ("train", "dev", "test"):
        for cut in load_synthetic(cfg, split):
            sup = cut.supervisions[0]
            h.update(f"{cut.id}|{sup.text}|{sup.speaker}|{sup.custom['phonemes']}".encode())
            h.update(cut.load_audio().tobytes())
    return h.hexdigest()


def test_synthesis_is_deterministic_for_a_seed(tmp_path):
    a = tiny_data_config(tmp_path / "a", vocabulary=200, train_utterances=6, dev_utterances=2, test_utterances=3)
    b = tiny_data_config(tmp_path / "b", vocabulary=200, train_utterances=6, dev_utterances=2, test_utterances=3)
    c = tiny_data_config(tmp_path / "c", vocabulary=200, train_utterances=6, dev_utterances=2, test_utterances=3,
                         seed=1)
    for cfg in (a, b, c):
        cfg.languages = ["en", "de"]
        synthesize_corpus(cfg, jobs=2, progress=False)
    assert _digest(a) == _digest(b)
    assert _digest(a) != _digest(c)


def test_splits_are_speaker_and_word_disjoint(tiny_corpus):
    cuts = {s: load_synthetic(tiny_corpus, s) for s in ("train", "dev", "test")}
    sups = {s: [c.supervisions[0] for c in cs] for s, cs in cuts.items()}
    voices = {s: {x.custom["voice"] for x in v} for s, v in sups.items()}
    words = {s: {(x.language, w) for x in v for w in x.text.split()} for s, v in sups.items()}
    speakers = {s: {x.speaker for x in v} for s, v in sups.items()}
    for a, b in (("train", "dev"), ("train", "test"), ("dev", "test")):
        assert not voices[a] & voices[b], (a, b)
        assert not speakers[a] & speakers[b], (a, b)
        assert not words[a] & words[b], (a, b)
    assert {x.language for x in sups["train"]} == set(tiny_corpus.languages)
    assert len(speakers["train"]) > 10  # many speakers per language


def test_manifest_fields_and_audio(tiny_corpus):
    cut = next(iter(load_synthetic(tiny_corpus, "test")))
    sup = cut.supervisions[0]
    assert cut.sampling_rate == 16000 and cut.duration > 0.3
    assert sup.language in tiny_corpus.languages and sup.speaker and sup.text
    words = sup.custom["phonemes"].split(" | ")
    assert len(words) == len(sup.text.split())  # word boundaries kept
    audio = cut.load_audio()
    assert audio.shape == (1, cut.num_samples) and abs(audio).max() > 0.01


def test_voice_pools_partition_the_variants():
    variants = [f"v{i}" for i in range(50)]
    pools = split_voices(variants, seed=3)
    assert sorted(sum(pools.values(), [])) == sorted(variants)
    assert pools == split_voices(variants, seed=3)


def test_languages_are_stored_separately_and_reused(tiny_corpus, tmp_path):
    import dataclasses
    import shutil

    status = Path(tiny_corpus.root) / "status" / "en.json"
    before = status.stat().st_mtime_ns
    synthesize_corpus(tiny_corpus, progress=False)  # everything present: nothing is redone
    assert status.stat().st_mtime_ns == before
    # a recipe over a subset of the languages shares the corpus, untouched
    subset = dataclasses.replace(tiny_corpus, languages=["de"])
    summary = synthesize_corpus(subset, progress=False)
    assert list(summary["stats"]) == ["de"] and status.stat().st_mtime_ns == before
    assert {c.supervisions[0].language for c in load_synthetic(subset, "dev")} == {"de"}
    # other settings for one language remake only that language
    copy = tmp_path / "copy"
    shutil.copytree(tiny_corpus.root, copy)
    changed = dataclasses.replace(tiny_corpus, root=str(copy), synth=dataclasses.replace(
        tiny_corpus.synth, train_utterances_per_language={"es": 5}))
    synthesize_corpus(changed, progress=False)
    assert (copy / "status" / "en.json").read_text() == status.read_text()
    assert sum(1 for c in load_synthetic(changed, "train") if c.supervisions[0].language == "es") == 5


def test_lexicon_covers_test_words(tiny_corpus):
    root = Path(tiny_corpus.root)
    for lang in tiny_corpus.languages:
        lex = dict(line.split(" ", 1) for line in (root / "lexicon" / f"{lang}.txt").read_text().splitlines())
        test_words = (root / "lexicon" / f"{lang}.test-words.txt").read_text().split()
        assert test_words and all(w in lex for w in test_words)
        inv = Inventory.from_transcripts(lex.values())
        assert len(inv.phonemes) > 15


def _leaks(lexicon: dict, words: dict) -> list[tuple[str, str]]:
    """(held-out word, training word) pairs pronounced alike or differing by a final suffix of <= 3 phonemes."""
    train = {}
    for w in words["train"]:
        train.setdefault(tuple(lexicon[w]), w)
    leaks = []
    for split in ("dev", "test"):
        for w in words[split]:
            pron = tuple(lexicon[w])
            stems = [pron[: len(pron) - cut] for cut in range(0, min(3, len(pron) - 1) + 1)]
            leaks += [(w, train[s]) for s in stems if s in train]
            leaks += [(w, t) for p, t in train.items() if len(pron) < len(p) <= len(pron) + 3 and p[: len(pron)] == pron]
    return leaks


def test_leak_check_catches_a_split_by_spelling_only():
    lexicon = {"voiture": ["v", "w", "a", "t", "y", "ʁ"], "voitures": ["v", "w", "a", "t", "y", "ʁ"],
               "carte": ["k", "a", "ʁ", "t"], "cartes": ["k", "a", "ʁ", "t"], "work": ["w", "ɜː", "k"],
               "worked": ["w", "ɜː", "k", "t"], "sol": ["s", "ɔ", "l"]}
    by_spelling = {"train": ["voitures", "carte", "worked", "sol"], "dev": ["cartes"], "test": ["voiture", "work"]}
    assert sorted(_leaks(lexicon, by_spelling)) == [("cartes", "carte"), ("voiture", "voitures"), ("work", "worked")]


def test_word_families_join_homophones_and_suffixed_forms():
    from speechtl.data.synth import word_families

    lexicon = {"a": ["a", "b", "c"], "b": ["a", "b", "c"], "c": ["a", "b", "c", "d", "e", "f"],
               "d": ["a", "b", "c", "d", "e", "f", "g"], "e": ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"],
               "f": ["x"], "g": ["x", "y", "z", "w", "v"]}
    # a=b (same), c = a + 3, d = c + 1: one family; e = d + 4 is too long a suffix; g = f + 4 likewise
    assert word_families(lexicon) == [["a", "b", "c", "d"], ["e"], ["f"], ["g"]]


def test_a_vocabulary_of_one_family_cannot_be_split():
    from speechtl.data.config import SynthConfig
    from speechtl.data.synth import split_words
    from speechtl.errors import RecipeError

    lexicon = {"carte": ["k", "a", "ʁ", "t"], "cartes": ["k", "a", "ʁ", "t"], "car": ["k", "a", "ʁ"]}
    with pytest.raises(RecipeError, match="no word family fits the test split"):
        split_words(lexicon, SynthConfig(vocabulary=3), "fr")


@pytest.mark.parametrize("language", DEFAULT_LANGUAGES)
def test_default_word_split_is_disjoint_by_pronunciation(language):
    """Every default language's vocabulary: no dev/test word sounds like a training word (± a short suffix)."""
    from speechtl.data.config import SynthConfig
    from speechtl.data.synth import build_vocabulary, split_words

    cfg = SynthConfig()
    lexicon = build_vocabulary(language, cfg.vocabulary)
    words = split_words(lexicon, cfg, language)
    assert sorted(sum(words.values(), [])) == sorted(lexicon)  # a partition of the vocabulary
    assert _leaks(lexicon, words) == []
    assert not {tuple(lexicon[w]) for w in words["dev"]} & {tuple(lexicon[w]) for w in words["test"]}
    for split, share in (("test", cfg.test_word_fraction), ("dev", cfg.dev_word_fraction)):
        assert 0.95 * share * len(lexicon) <= len(words[split]) <= share * len(lexicon), split
    assert words == split_words(lexicon, cfg, language)  # deterministic


def test_corpus_word_lists_are_disjoint_by_pronunciation(tiny_corpus):
    from speechtl.data.manifests import corpus_lexicon_path
    from speechtl.text.lexicon import Lexicon, read_word_list

    for lang in tiny_corpus.languages:
        lex = Lexicon.read(corpus_lexicon_path(tiny_corpus.root, lang))
        lexicon = {w: list(lex.pronunciations(w)[0]) for w in lex.words}
        words = {s: read_word_list(corpus_lexicon_path(tiny_corpus.root, lang, s)) for s in ("train", "dev", "test")}
        assert words["test"] and words["dev"] and _leaks(lexicon, words) == []


def test_default_engines_keep_the_fingerprint_of_corpora_made_before_engines():
    from speechtl.data.synth import language_fingerprint

    cfg = tiny_data_config("unused", vocabulary=200, train_utterances=6, dev_utterances=2, test_utterances=3).synth
    # measured on main before data.synth.engines existed: eSpeak-only corpora are not remade
    assert language_fingerprint(cfg, "en") == "be7c150804555cd3"
    cfg.engines = {"espeak": [], "flite": ["kal"]}
    assert language_fingerprint(cfg, "en") != "be7c150804555cd3"
