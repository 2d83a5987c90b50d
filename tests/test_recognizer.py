"""End to end: a briefly trained Spanish phoneme model recognises words it never heard.

One short training run (about 40 s on 2 cores) serves every test here.
"""

import dataclasses
import json

import numpy as np
import pytest
import soundfile as sf
import torch

from speechtl.cli import main
from speechtl.data.audio import resample
from speechtl.data.espeak import Espeak
from speechtl.data.manifests import corpus_lexicon_path
from speechtl.decoding.recognizer import Recognizer, iter_chunks
from speechtl.errors import AudioError, LanguageError, LexiconError
from speechtl.workflows.train import train
from speechtl.tasks.speech.recipe import Recipe
from speechtl.text.g2p_lexicon import g2p_lexicon
from speechtl.text.lexicon import read_word_list
from speechtl.decoding.metrics import error_counts


@pytest.fixture(scope="module")
def es_model(tiny_corpus, tmp_path_factory):
    """A 2-layer BLSTM trained 500 steps on the tiny corpus's Spanish (words of train only)."""
    recipe = Recipe(name="tiny-es", data=dataclasses.replace(tiny_corpus, languages=["es"]))  # a copy: shared
    recipe.model.encoder, recipe.model.dim, recipe.model.layers, recipe.model.dropout = "blstm", 96, 2, 0.0
    recipe.train.exp_dir = str(tmp_path_factory.mktemp("es-exp"))
    recipe.train.max_frames, recipe.train.max_steps, recipe.train.warmup_steps = 4000, 500, 10
    recipe.train.lr, recipe.train.num_threads = 3e-3, 1
    recipe.train.log_every, recipe.train.checkpoint_every = 100, 1000
    torch.manual_seed(0)
    return train(recipe, progress=False) / "model"


@pytest.fixture(scope="module")
def recognizer(es_model):
    return Recognizer.load(es_model)


@pytest.fixture(scope="module")
def unseen(tiny_corpus):
    """Test-split words (never in a training transcript) and a vocabulary of test + dev words."""
    test = read_word_list(corpus_lexicon_path(tiny_corpus.root, "es", "test"))
    dev = read_word_list(corpus_lexicon_path(tiny_corpus.root, "es", "dev"))
    train_words = set(read_word_list(corpus_lexicon_path(tiny_corpus.root, "es", "train")))
    assert not set(test) & train_words
    return test, test + dev


def homophone_classes(words: list[str]) -> dict[str, str]:
    """Each word -> the first word with the same (isolated) pronunciation: the decoder's choice without an LM."""
    lexicon, _ = g2p_lexicon(words, "es", context=False)
    first: dict[tuple, str] = {}
    return {w: first.setdefault(lexicon.pronunciations(w)[0], w) for w in lexicon}


def speak(text: str, voice: str = "es+m3") -> tuple[np.ndarray, int]:
    engine = Espeak.instance()
    return engine.synthesize(text, voice, 160, 50).astype(np.float32) / 32768, engine.sample_rate


def test_unseen_words_are_recognised_with_g2p_pronunciations(recognizer, unseen):
    test, vocabulary = unseen
    canon = homophone_classes(vocabulary)
    phrases = [test[3 * i : 3 * i + 3] for i in range(4)]
    refs, hyps = [], []
    for words in phrases:
        audio, rate = speak(" ".join(words))
        out = recognizer.transcribe(audio, "es", words=vocabulary, sample_rate=rate)
        hyps.append(" ".join(str(canon.get(w.word)) for w in out.words))
        refs.append(" ".join(str(canon.get(w)) for w in words))
        assert all(w.word in vocabulary for w in out.words)
        times = [t for w in out.words for t in (w.start, w.end)]
        assert times == sorted(times) and 0 <= times[0] and times[-1] <= len(audio) / rate + 0.05
        assert all(w.phonemes for w in out.words)
    # a 90-word vocabulary, a model trained for 40 seconds, words disjoint from training by pronunciation:
    # measured 2026-12-02: 2 errors in 12 words; a model or lexicon that failed would miss most
    wer = error_counts(refs, hyps).rate
    assert wer <= 1 / 3, (wer, refs, hyps)


def test_file_at_another_rate_with_two_channels(recognizer, unseen, tmp_path):
    test, vocabulary = unseen
    audio, rate = speak(" ".join(test[:3]))
    assert rate != 16000  # eSpeak's 22,050 Hz: resampled when read
    path = tmp_path / "phrase.flac"
    sf.write(path, np.stack([audio, audio], axis=1), rate)
    from_file = recognizer.transcribe(path, "es", words=vocabulary)
    in_memory = recognizer.transcribe(audio, "es", words=vocabulary, sample_rate=rate)
    assert from_file.text and from_file.text == in_memory.text
    assert from_file.duration == pytest.approx(len(audio) / rate)


def test_long_audio_is_decoded_in_chunks_cut_at_pauses(recognizer, unseen):
    """A long recording is decoded piece by piece: each piece as if alone, its words shifted by its start."""
    test, vocabulary = unseen
    rate = recognizer.sample_rate
    parts = [resample(torch.from_numpy(speak(" ".join(test[3 * i: 3 * i + 3]))[0]), Espeak.instance().sample_rate,
                      rate) for i in range(3)]
    pause = torch.zeros(rate // 2)
    audio = torch.cat([x for p in parts for x in (p, pause)])
    recognizer.config.chunk_seconds = 2.0
    try:
        chunked = recognizer.transcribe(audio.numpy(), "es", words=vocabulary, sample_rate=rate)
        pieces = list(iter_chunks(lambda s, d: audio[int(round(s * rate)): int(round((s + d) * rate))],
                                  audio.numel() / rate, 2.0, rate))
        alone = [(start, recognizer.transcribe(piece.numpy(), "es", words=vocabulary, sample_rate=rate))
                 for start, piece in pieces]
    finally:
        recognizer.config.chunk_seconds = 30.0
    assert len(pieces) > 2 and chunked.duration == pytest.approx(audio.numel() / rate)
    want = [(w.word, round(w.start + start, 3)) for start, t in alone for w in t.words]
    assert [(w.word, round(w.start, 3)) for w in chunked.words] == want
    starts = [w.start for w in chunked.words]
    assert starts == sorted(starts) and starts[-1] > 2.0  # later pieces keep their offsets


def test_chunks_cover_the_recording_once_and_stay_bounded():
    rate, total = 16000, 10.0
    wave = torch.randn(int(total * rate)) * 0.1
    wave[int(3.7 * rate) : int(3.8 * rate)] = 0  # the quiet point near the end of the first window
    reads = []

    def read(start, duration):
        reads.append(duration)
        a = int(round(start * rate))
        return wave[a : a + int(round(duration * rate))]

    pieces = list(iter_chunks(read, total, 4.0, rate))
    assert max(reads) <= 4.0
    assert 3.7 <= pieces[1][0] <= 3.8  # cut inside the silence
    assert sum(p.numel() for _, p in pieces) == wave.numel()
    assert torch.equal(torch.cat([p for _, p in pieces]), wave)


def test_silence_and_too_short_audio(recognizer, unseen):
    _, vocabulary = unseen
    silent = recognizer.transcribe(np.zeros(32000, np.float32), "es", words=vocabulary, sample_rate=16000)
    assert silent.words == [] and silent.notes == []
    tiny = recognizer.transcribe(np.zeros(160, np.float32), "es", words=vocabulary, sample_rate=16000)
    assert tiny.words == [] and "shorter than one analysis frame" in tiny.notes[0]


def test_bad_requests_get_clear_errors(recognizer, unseen, tmp_path):
    _, vocabulary = unseen
    with pytest.raises(LanguageError, match="no head for language 'fr'; it has: es"):
        recognizer.transcribe(np.zeros(16000, np.float32), "fr", words=["bonjour"], sample_rate=16000)
    lexicon = tmp_path / "lex.txt"
    lexicon.write_text("casa k a s a\nrojo ʁ o x o\n", encoding="utf-8")
    with pytest.raises(LexiconError, match=f"{lexicon}:2: unknown phoneme 'ʁ' in the pronunciation of 'rojo'"):
        recognizer.transcribe(np.zeros(16000, np.float32), "es", lexicon=lexicon, sample_rate=16000)
    empty = tmp_path / "empty.wav"
    sf.write(empty, np.zeros(0, np.float32), 16000)
    with pytest.raises(AudioError, match="empty"):
        recognizer.transcribe(empty, "es", words=vocabulary)
    with pytest.raises(AudioError, match="NaN"):
        recognizer.transcribe(np.full(16000, np.nan, np.float32), "es", words=vocabulary, sample_rate=16000)


def test_decode_cli_json_lines_and_a_missing_file(es_model, unseen, tmp_path, capsys):
    test, vocabulary = unseen
    audio, rate = speak(" ".join(test[:3]))
    wav = tmp_path / "a.wav"
    sf.write(wav, audio, rate)
    words = tmp_path / "words.txt"
    words.write_text("\n".join(vocabulary) + "\n", encoding="utf-8")
    code = main(["decode", "--model", str(es_model), "--words", str(words), "--json",
                 str(tmp_path / "missing.wav"), str(wav)])
    out, err = capsys.readouterr()
    assert code == 2 and "missing.wav: no such audio file" in err and "Traceback" not in err
    record = json.loads(out.strip().splitlines()[-1])
    assert record["audio"] == str(wav) and record["language"] == "es" and record["words"]
    assert set(record["words"][0]) >= {"word", "start", "end", "phonemes", "confidence"}
    assert main(["decode", "--model", str(es_model), "--greedy", str(wav)]) == 0
    assert capsys.readouterr().out.startswith(f"{wav}: ")


def test_lexicon_check_cli_against_the_model(es_model, tmp_path, capsys):
    good = tmp_path / "good.txt"
    good.write_text("casa k a s a\ncasa k a s a\n", encoding="utf-8")
    assert main(["lexicon", "check", str(good), "--model", str(es_model), "--lang", "es"]) == 0
    assert "1 repeated lines ignored" in capsys.readouterr().out
    bad = tmp_path / "bad.txt"
    bad.write_text("casa k a s a\nrouge ʁ u ʒ\n", encoding="utf-8")
    assert main(["lexicon", "check", str(bad), "--model", str(es_model), "--lang", "es"]) == 2
    assert f"{bad}:2: unknown phoneme 'ʁ'" in capsys.readouterr().err
    assert main(["lexicon", "check", str(good), "--model", str(es_model), "--lang", "de"]) == 2
    assert "no head for language 'de'" in capsys.readouterr().err
