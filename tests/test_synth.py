import hashlib
import json

from speechtl.data.manifests import load_cuts
from speechtl.data.synth import split_voices, synthesize_corpus
from speechtl.text.inventory import Inventory
from tests.conftest import tiny_data_config


def _digest(root):
    h = hashlib.sha256()
    for split in ("train", "dev", "test"):
        for cut in load_cuts(root, split):
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
    assert _digest(a.root) == _digest(b.root)
    assert _digest(a.root) != _digest(c.root)


def test_splits_are_speaker_and_word_disjoint(tiny_corpus):
    cuts = {s: load_cuts(tiny_corpus.root, s) for s in ("train", "dev", "test")}
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
    cut = next(iter(load_cuts(tiny_corpus.root, "test")))
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


def test_corpus_is_reused_when_config_unchanged(tiny_corpus):
    summary = synthesize_corpus(tiny_corpus, progress=False)  # no re-synthesis: returns the stored summary
    stored = json.loads((__import__("pathlib").Path(tiny_corpus.root) / "corpus.json").read_text())
    assert summary == stored


def test_lexicon_covers_test_words(tiny_corpus):
    from pathlib import Path

    root = Path(tiny_corpus.root)
    for lang in tiny_corpus.languages:
        lex = dict(line.split(" ", 1) for line in (root / "lexicon" / f"{lang}.txt").read_text().splitlines())
        test_words = (root / "lexicon" / f"{lang}.test-words.txt").read_text().split()
        assert test_words and all(w in lex for w in test_words)
        inv = Inventory.from_transcripts(lex.values())
        assert len(inv.phonemes) > 15
