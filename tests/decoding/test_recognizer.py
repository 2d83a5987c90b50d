"""End to end: a briefly trained Spanish phoneme model recognises words it never heard.

One short training run (conftest.py's ``es_model``, about 40 s on 2 cores) serves every test here.
"""

import json

import numpy as np
import pytest
import soundfile as sf
import torch

from speechtl.cli import main
from speechtl.data.audio import resample
from speechtl.data.espeak import Espeak
from speechtl.data.manifests import corpus_lexicon_path
from speechtl.decoding.recognizer import NO_WORDS_NOTE, Recognizer, iter_chunks
from speechtl.errors import AudioError, LanguageError, LexiconError
from speechtl.text.g2p_lexicon import g2p_lexicon
from speechtl.text.lexicon import read_word_list
from trained import train_small


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
    from speechtl.decoding.metrics import error_counts

    test, vocabulary = unseen
    canon = homophone_classes(vocabulary)
    phrases = [test[3 * i : 3 * i + 3] for i in range(len(test) // 3)][:4]
    assert len(phrases) >= 3 and all(len(p) == 3 for p in phrases)
    refs, hyps = [], []
    for words in phrases:
        audio, rate = speak(" ".join(words))
        out = recognizer.transcribe(audio, "es", words=vocabulary, sample_rate=rate)
        refs.append(" ".join(canon.get(w, w) for w in words))
        hyps.append(" ".join(canon.get(w.word, w.word) for w in out.words))
        assert all(w.word in vocabulary for w in out.words)
        times = [t for w in out.words for t in (w.start, w.end)]
        assert times == sorted(times) and 0 <= times[0] and times[-1] <= len(audio) / rate + 0.05
        assert all(w.phonemes for w in out.words)
    # words never heard in training (disjoint by pronunciation), among a vocabulary of test + dev words (chance:
    # one in ~90), by a model trained 500 steps: measured 2026-12-02 2 to 5 errors in 12 words as the training
    # batches changed; a broken lexicon, alignment or search misses nearly all
    assert error_counts(refs, hyps).rate <= 1 / 2, list(zip(refs, hyps))


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
    assert silent.words == [] and silent.notes == [NO_WORDS_NOTE]  # an empty transcript says why
    tiny = recognizer.transcribe(np.zeros(160, np.float32), "es", words=vocabulary, sample_rate=16000)
    assert tiny.words == [] and "shorter than one analysis frame" in tiny.notes[0]


def test_bad_requests_get_clear_errors(recognizer, unseen, tmp_path):
    _, vocabulary = unseen
    with pytest.raises(LanguageError, match="no head for language 'fr'; it has: es"):
        recognizer.transcribe(np.zeros(16000, np.float32), "fr", words=["bonjour"], sample_rate=16000)
    lexicon = tmp_path / "lex.txt"
    lexicon.write_text("casa k a s a\nrojo ʁ o x o\n", encoding="utf-8")
    with pytest.raises(LexiconError, match=f"{lexicon}:2: unknown phoneme 'ʁ' in the pronunciation of 'rojo'"):
        recognizer.prepare("es", lexicon, strict=True)
    prepared = recognizer.prepare("es", lexicon)  # not strict: mapped to the head's nearest, and said so
    assert any("'ʁ' -> " in note and f"{lexicon}:2 'rojo'" in note for note in prepared.notes)
    assert set(prepared.lexicon.symbols()) <= set(recognizer.model.inventories["es"].phonemes)
    arpabet_lexicon = tmp_path / "arpabet.txt"
    arpabet_lexicon.write_text("casa K AA1 S AH0\n", encoding="utf-8")
    with pytest.raises(LexiconError, match=r"(?s)arpabet.txt:1: phoneme 'K' .*no articulatory features.*--phoneset arpabet"):
        recognizer.prepare("es", arpabet_lexicon)
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
    assert main(["lexicon", "check", str(bad), "--model", str(es_model), "--lang", "es"]) == 0
    out = capsys.readouterr().out
    assert f"mapped 'ʁ' -> " in out and f"{bad}:2 'rouge'" in out and "--strict refuses" in out
    assert main(["lexicon", "check", str(bad), "--model", str(es_model), "--lang", "es", "--strict"]) == 2
    assert f"{bad}:2: unknown phoneme 'ʁ'" in capsys.readouterr().err
    arpabet = tmp_path / "arpabet.txt"
    arpabet.write_text("casa K AA1 S AH0\n", encoding="utf-8")
    assert main(["lexicon", "check", str(arpabet), "--model", str(es_model), "--lang", "es"]) == 2
    assert "looks like ARPAbet, not eSpeak IPA: pass --phoneset arpabet" in capsys.readouterr().err
    assert main(["lexicon", "check", str(arpabet), "--model", str(es_model), "--lang", "es",
                 "--phoneset", "arpabet"]) == 0
    assert "casa" not in capsys.readouterr().err
    assert main(["lexicon", "check", str(good), "--model", str(es_model), "--lang", "de"]) == 2
    assert "no head for language 'de'" in capsys.readouterr().err
