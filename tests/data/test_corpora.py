"""Real corpora: Kaldi directories, Common Voice releases and Lhotse manifests, built from synthetic audio."""

import gzip
import json
import logging

import numpy as np
import pytest
import soundfile as sf
from layouts import messy, synth_cuts, write_commonvoice, write_kaldi_dir, write_tone

from speechtl.data.corpora import prepare_corpus, prepared_report
from speechtl.data.dataset import cut_audio_source, load_utterances
from speechtl.data.labels import G2P_REJECTED, resolve_language
from speechtl.data.manifests import load_cuts, save_split
from speechtl.errors import LanguageError, ManifestError
from speechtl.workflows.train import train
from speechtl.data.config import CorpusPart, DataConfig, FeatureConfig
from speechtl.text.normalize import normalize_text


@pytest.mark.parametrize("raw, expected", [
    ("Hello, World!", "hello world"),
    ("“Don’t”, she said — NOW!", "don't she said now"),
    ("  L'homme  est-il là ? ", "l'homme est-il là"),
    ("'quoted' -dash- a - b", "quoted dash a b"),
    ("Straße\tÉTÉ\u00a0NAÏVE", "straße été naïve"),
    ("e\u0301te\u0301", "été"),  # combining accents become single code points (NFC)
    ("in 1999, 50% off", "in 1999 50 off"),
    ("?!…", ""),
])
def test_normalize_text(raw, expected):
    assert normalize_text(raw) == expected


def test_normalize_text_can_keep_case_and_punctuation():
    assert normalize_text("Hello,  World!", lowercase=False, remove_punctuation=False) == "Hello, World!"


def test_resolve_language():
    assert [resolve_language(x) for x in ("en", "English", "sv-SE", "pt_BR", "DE")] == ["en", "en", "sv", "pt", "de"]
    assert resolve_language("Atlantean") is None and resolve_language("") is None
    assert resolve_language("Swahili") == "sw" and resolve_language("Klingon") == "piqd"  # eSpeak NG has both


def _train_briefly(recipe, data, tmp_path, steps=6):
    recipe.data = data
    recipe.train.exp_dir = str(tmp_path / "exp")
    recipe.train.max_steps = steps
    recipe.train.checkpoint_every = steps
    recipe.train.log_every = 1
    exp = train(recipe, progress=False)
    return [json.loads(line) for line in (exp / "train_log.jsonl").read_text().splitlines()]


def test_kaldi_directory_with_bad_entries_trains(tiny_corpus, tiny_recipe, tmp_path, caplog):
    train_cuts = synth_cuts(tiny_corpus, "train", "en", 60)
    real = [cut_audio_source(c) for c in train_cuts[:2]]
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "corrupt.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt " + b"\x07" * 200)
    sf.write(bad / "empty.wav", np.zeros(0), 16000)
    sf.write(bad / "nan.wav", np.full(8000, np.nan, dtype=np.float32), 16000, subtype="FLOAT")
    audio, rate = sf.read(real[0])
    sf.write(bad / "rate8k.wav", audio[::2], rate // 2)  # another sampling rate: resampled
    sf.write(bad / "stereo.wav", np.stack([audio, audio * 0.5], axis=1), rate)  # downmixed
    text = train_cuts[0].supervisions[0].text
    extra = [("x-corrupt", bad / "corrupt.wav", "hello there"), ("x-missing", bad / "missing.wav", "hello"),
             ("x-empty", bad / "empty.wav", "hello"), ("x-nan", bad / "nan.wav", "hello world"),
             ("x-8k", bad / "rate8k.wav", messy(text)), ("x-stereo", bad / "stereo.wav", messy(text)),
             ("x-digits", real[1], "In 1999 we went."), ("x-notext", real[1], "")]
    kaldi_train = write_kaldi_dir(train_cuts, tmp_path / "kaldi" / "train", extra)
    kaldi_test = write_kaldi_dir(synth_cuts(tiny_corpus, "test", "en", 10), tmp_path / "kaldi" / "test")
    data = DataConfig(corpus="kaldi", root=str(tmp_path / "prepared"), languages=["en"],
                      parts=[CorpusPart(str(kaldi_train), "train", "en"), CorpusPart(str(kaldi_test), "test", "en")])

    with caplog.at_level(logging.WARNING):
        log = _train_briefly(tiny_recipe, data, tmp_path)
    assert len(log) == 6 and all(np.isfinite(r["loss"]) for r in log)
    report = prepared_report(data)["train"]
    assert report["skipped"] == 3  # unreadable at preparation: named in the log
    for name in ("corrupt.wav: cannot read audio", "missing.wav: no such audio file", "empty.wav: the audio is empty",
                 "nan.wav: the audio contains NaN"):  # the last one is found when features are computed
        assert name in caplog.text, name
    assert report["labels"]["dropped"] == {"en": {G2P_REJECTED: 1, "empty transcript after normalisation": 1}}
    assert report["labels"]["kept"] == {"en": 63}  # 60 + 8 kHz + stereo + NaN (found when loading)

    cuts = load_cuts(data.root, "train", prefix="kaldi")
    sup = {c.supervisions[0].id: c.supervisions[0] for c in cuts}
    original = train_cuts[0].supervisions[0]
    assert sup[original.id].text == text  # "During,  enough." -> "during enough"
    assert sup[original.id].custom["phonemes"] == original.custom["phonemes"]
    utts, skipped = load_utterances([c for c in cuts if c.supervisions[0].id.startswith("x-")], FeatureConfig())
    assert sorted(u.id for u in utts) == ["x-8k", "x-stereo"] and [s[0] for s in skipped.skipped] == ["x-nan"]
    assert abs(utts[0].feats.shape[0] - utts[1].feats.shape[0]) <= 1  # same audio at 8 kHz and in stereo


def test_commonvoice_release_trains(tiny_corpus, tiny_recipe, tmp_path, caplog):
    corpus = tmp_path / "cv-corpus-test"
    train_cuts = synth_cuts(tiny_corpus, "train", "de", 40)
    clips = corpus / "de" / "clips"
    write_commonvoice(train_cuts, corpus, "de", "train", extra_rows=[
        "spk1\tbroken.mp3\tDas ist gut.\t2\t0\t\t\t\t\tde\t",
        "spk1\tcommon_voice_de_cool.mp3\tDas ist cool!\t2\t0\t\t\t\t\tde\t",  # G2P switches to English
        "spk1\tmissing.mp3\tDas ist gut.\t2\t0\t\t\t\t\tde\t",
        "malformed row",
    ])
    (clips / "broken.mp3").write_bytes(b"ID3" + b"\x00" * 50)
    (clips / "common_voice_de_cool.mp3").write_bytes((clips / f"common_voice_de_{train_cuts[0].supervisions[0].id}.mp3").read_bytes())
    write_commonvoice(synth_cuts(tiny_corpus, "test", "de", 8), corpus, "de", "test")
    (corpus / "de" / "dev.tsv").write_text("client_id\tpath\tsentence\n")  # an empty split
    data = DataConfig(corpus="commonvoice", root=str(tmp_path / "prepared"), languages=["de"],
                      parts=[CorpusPart(str(corpus))])

    with caplog.at_level(logging.WARNING):
        log = _train_briefly(tiny_recipe, data, tmp_path)
    assert len(log) == 6 and all(np.isfinite(r["loss"]) for r in log)
    report = prepared_report(data)
    assert report["train"]["skipped"] == 3 and report["test"]["skipped"] == 0
    assert report["train"]["labels"]["dropped"] == {"de": {G2P_REJECTED: 1}}
    assert report["train"]["labels"]["kept"] == {"de": 40} and report["test"]["labels"]["kept"] == {"de": 8}
    assert "broken.mp3: cannot read audio" in caplog.text and "missing.mp3: no such audio file" in caplog.text
    assert "train.tsv:45: malformed row" in caplog.text

    # prepared once: a second run reuses the manifests even with the release gone
    corpus.rename(tmp_path / "moved")
    assert {k: len(v) for k, v in prepare_corpus(data, progress=False).items()} == {"train": 40, "dev": 0, "test": 8}


def test_commonvoice_errors_name_the_problem(tmp_path):
    data = DataConfig(corpus="commonvoice", root=str(tmp_path / "p"), languages=["sv"],
                      parts=[CorpusPart(str(tmp_path / "cv"))])
    with pytest.raises(ManifestError, match=r"data.parts\[0\]: .*cv: no such Common Voice directory"):
        prepare_corpus(data, progress=False)
    (tmp_path / "cv" / "de" / "clips").mkdir(parents=True)
    with pytest.raises(ManifestError, match="no locale directory for 'sv'; present: de"):
        prepare_corpus(data, progress=False)
    (tmp_path / "cv" / "sv-SE").mkdir()
    (tmp_path / "cv" / "sv-SE" / "train.tsv").write_text("client_id\tsentence\n")
    with pytest.raises(ManifestError, match=r"train.tsv: header lacks column\(s\) path"):
        prepare_corpus(data, progress=False)
    data.parts[0].language = "xx"
    with pytest.raises(LanguageError, match=r"data.parts\[0\].language: unknown language 'xx'"):
        prepare_corpus(data, progress=False)


def test_lhotse_manifests_any_corpus(tiny_corpus, tmp_path):
    from lhotse import CutSet
    from lhotse.utils import fastcopy

    en = synth_cuts(tiny_corpus, "test", "en", 12)
    # as a Lhotse recipe leaves them: a language name, no phonemes, cased text
    stripped = CutSet.from_cuts(fastcopy(c, supervisions=[fastcopy(c.supervisions[0], language="English",
                                                                   text=messy(c.supervisions[0].text), custom=None)])
                                for c in en)
    stripped.to_file(tmp_path / "cuts_en.jsonl.gz")
    de = CutSet.from_cuts(synth_cuts(tiny_corpus, "test", "de", 5))
    recordings, supervisions, _ = de.decompose()
    save_split(recordings, supervisions, tmp_path / "other", "dev", prefix="mycorpus")
    data = DataConfig(corpus="lhotse", root=str(tmp_path / "prepared"), languages=["en", "de"], parts=[
        CorpusPart(str(tmp_path / "cuts_en.jsonl.gz"), "train"),
        CorpusPart(str(tmp_path / "other/manifests/mycorpus_recordings_dev.jsonl.gz"), "dev", "de"),
    ])
    cuts = prepare_corpus(data, progress=False)
    assert {k: len(v) for k, v in cuts.items()} == {"train": 12, "dev": 5, "test": 0}
    by_id = {c.supervisions[0].id: c.supervisions[0] for c in cuts["train"]}
    for c in en:  # G2P of the normalised text gives the synthetic corpus's own labels
        sup = by_id[c.supervisions[0].id]
        assert (sup.language, sup.text) == ("en", c.supervisions[0].text)
        assert sup.custom["phonemes"] == c.supervisions[0].custom["phonemes"]

    lines = gzip.open(tmp_path / "cuts_en.jsonl.gz", "rt").read().splitlines()
    lines[2] = lines[2][:40]
    (tmp_path / "bad.jsonl").write_text("\n".join(lines) + "\n")
    data.parts = [CorpusPart(str(tmp_path / "bad.jsonl"), "train")]
    with pytest.raises(ManifestError, match=r"data.parts\[0\]: .*bad.jsonl:3: not valid JSON"):
        prepare_corpus(data, progress=False)
    data.parts = [CorpusPart(str(tmp_path / "cuts_en.jsonl.gz"))]
    with pytest.raises(ManifestError, match=r"data.parts\[0\].split: this part feeds one split"):
        prepare_corpus(data, progress=False)


def test_segments_of_an_hour_long_recording_are_read_alone(tiny_corpus, tmp_path, monkeypatch):
    """A long recording costs only its segments' audio; an over-long utterance is skipped unread."""
    import speechtl.data.dataset as dataset

    long_wav = write_tone(tmp_path / "hour.wav", 3600, rate=8000)
    kaldi = tmp_path / "kaldi"
    kaldi.mkdir()
    (kaldi / "wav.scp").write_text(f"rec {long_wav}\n")
    (kaldi / "segments").write_text("whole rec 0 -1\nseg1 rec 1800.0 1802.5\nseg2 rec 3590 3599.5\n")
    (kaldi / "text").write_text("whole hello world\nseg1 hello there\nseg2 good morning\n")
    (kaldi / "utt2spk").write_text("whole s\nseg1 s\nseg2 s\n")
    data = DataConfig(corpus="kaldi", root=str(tmp_path / "p"), languages=["en"],
                      parts=[CorpusPart(str(kaldi), "train", "en")])
    cuts = prepare_corpus(data, progress=False)["train"]
    read = []
    original = dataset.load_cut_audio
    monkeypatch.setattr(dataset, "load_cut_audio", lambda cut, sr, *rest: read.append(cut.duration) or original(cut, sr, *rest))
    utts, report = load_utterances(cuts, FeatureConfig(), max_duration=30.0)
    assert sorted(u.id for u in utts) == ["seg1", "seg2"]
    assert sorted(read) == [2.5, 9.5]  # the hour was never read
    assert [u.feats.shape[0] for u in sorted(utts, key=lambda u: u.id)] == [248, 948]
    assert report.skipped[0][0] == "whole" and "3600.0 s is longer than data.max_duration (30 s)" in report.skipped[0][1]
