"""Batch decoding: packed signal processing equals per-file, batches equal single files, inputs and formats."""

import json

import numpy as np
import pytest
import soundfile as sf
import torch

from speechtl.cli import main
from speechtl.data.audio import resample
from speechtl.data.config import FeatureConfig
from speechtl.data.features import fbank
from speechtl.data.inputs import audio_inputs
from speechtl.data.packing import StreamResampler, fbank_packed, resample_packed
from speechtl.decoding.batch import BatchSettings, decode_files
from speechtl.decoding.recognizer import Recognizer
from speechtl.errors import AudioError, ManifestError


@pytest.mark.parametrize("rates", [(8000, 16000), (22050, 16000), (44100, 16000), (16000, 8000)])
def test_packed_resampling_equals_one_call_per_file(rates):
    waves = [torch.randn(n) * 0.1 for n in (4000, 3333, 401, 12345, 1)]
    for packed, alone in zip(resample_packed(waves, *rates), [resample(w, *rates) for w in waves]):
        assert packed.shape == alone.shape
        torch.testing.assert_close(packed, alone, atol=1e-5, rtol=0)


@pytest.mark.parametrize("rates", [(8000, 16000), (44100, 16000), (48000, 16000), (16000, 16000)])
@pytest.mark.parametrize("piece", [100, 4410, 100000])
def test_resampling_in_pieces_equals_resampling_the_whole(rates, piece):
    wave = torch.randn(rates[0] * 2 + 77) * 0.1
    stream = StreamResampler(*rates)
    parts = [stream.accept(wave[a: a + piece]) for a in range(0, wave.numel(), piece)] + [stream.finish()]
    whole = resample(wave, *rates)
    assert torch.cat(parts).shape == whole.shape
    torch.testing.assert_close(torch.cat(parts), whole, atol=1e-5, rtol=0)
    assert stream.buffer.numel() < rates[0] // 10 + piece  # only a margin is kept


def test_packed_filterbanks_equal_one_call_per_file():
    cfg = FeatureConfig()
    waves = [torch.randn(n) * 0.1 for n in (400, 401, 16000, 5555, 999)]
    for packed, alone in zip(fbank_packed(waves, 16000, cfg), [fbank(w, 16000, cfg) for w in waves]):
        assert packed.shape == alone.shape
        torch.testing.assert_close(packed, alone, atol=1e-4, rtol=1e-5)
    with pytest.raises(ValueError, match="at least one analysis frame"):
        fbank_packed([torch.zeros(100)], 16000, cfg)


def test_inputs_from_folders_scp_and_manifests(tmp_path):
    from lhotse import Recording, RecordingSet, SupervisionSegment, SupervisionSet

    (tmp_path / "corpus" / "b").mkdir(parents=True)
    for name in ("corpus/a.wav", "corpus/b/c.flac"):
        sf.write(tmp_path / name, np.zeros(1600, np.float32), 16000)
    (tmp_path / "corpus" / "notes.txt").write_text("not audio")
    assert audio_inputs([str(tmp_path / "corpus")]) == [("a", str(tmp_path / "corpus/a.wav")),
                                                          ("b/c", str(tmp_path / "corpus/b/c.flac"))]
    scp = tmp_path / "wav.scp"
    scp.write_text(f"utt1 corpus/a.wav\n\nutt2 {tmp_path / 'corpus/b/c.flac'}\n")
    assert audio_inputs([str(scp)]) == [("utt1", str(tmp_path / "corpus/a.wav")),
                                        ("utt2", str(tmp_path / "corpus/b/c.flac"))]
    scp.write_text("utt1 corpus/a.wav\nutt2 sox x.wav -t wav - |\n")
    with pytest.raises(ManifestError, match="wav.scp:2: piped commands are not run"):
        audio_inputs([str(scp)])
    scp.write_text("lonely\n")
    with pytest.raises(ManifestError, match="wav.scp:1: expected 'ID PATH'"):
        audio_inputs([str(scp)])
    recording = Recording.from_file(tmp_path / "corpus/a.wav", recording_id="rec-a")
    RecordingSet.from_recordings([recording]).to_file(tmp_path / "recs.jsonl.gz")
    assert audio_inputs([str(tmp_path / "recs.jsonl.gz")]) == [("rec-a", str(tmp_path / "corpus/a.wav"))]
    SupervisionSet.from_segments([SupervisionSegment("s", "rec-a", 0, 0.1)]).to_file(tmp_path / "sups.jsonl.gz")
    with pytest.raises(ManifestError, match="supervisions manifest has no audio"):
        audio_inputs([str(tmp_path / "sups.jsonl.gz")])
    missing = str(tmp_path / "missing.wav")  # reported when it is read, the others decoded
    assert audio_inputs([missing]) == [(missing, missing)]


@pytest.fixture(scope="module")
def recognizer(tdnn_en_model):
    return Recognizer.load(tdnn_en_model)


@pytest.fixture(scope="module")
def corpus(en_phrases, tmp_path_factory):
    """The 6 phrases as files at 3 rates (one stereo), a silent one, a too-short one and a broken one."""
    vocabulary, phrases = en_phrases
    folder = tmp_path_factory.mktemp("batch")
    for i, (samples, _) in enumerate(phrases):
        rate = (8000, 16000, 22050)[i % 3]
        wave = resample(samples, 16000, rate).numpy()
        sf.write(folder / f"p{i}.wav", np.stack([wave, wave], 1) if i == 1 else wave, rate)
    sf.write(folder / "q-silent.wav", np.zeros(8000, np.float32), 16000)
    sf.write(folder / "r-tiny.wav", np.zeros(100, np.float32), 16000)
    (folder / "s-broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    return vocabulary, folder


def test_batches_equal_one_file_at_a_time(recognizer, corpus):
    vocabulary, folder = corpus
    inputs = audio_inputs([str(folder), str(folder / "t-missing.wav")])
    batched = list(decode_files(recognizer, inputs, "en", words=vocabulary,
                                settings=BatchSettings(batch_seconds=4.0, window=5)))
    assert [uid for uid, _ in batched] == [uid for uid, _ in inputs]  # input order
    results = dict(batched)
    assert isinstance(results["s-broken"], AudioError) and "s-broken.wav" in str(results["s-broken"])
    assert "t-missing.wav: no such audio file" in str(results[str(folder / "t-missing.wav")])
    assert "shorter than one analysis frame" in results["r-tiny"].notes[0]
    found = 0
    for uid, path in [*inputs[:6], ("q-silent", folder / "q-silent.wav")]:
        alone = recognizer.transcribe(path, "en", words=vocabulary)
        assert results[uid].as_dict() == alone.as_dict()
        found += len(alone.words)
    assert found >= 6  # the comparison is between real answers


def test_decode_cli_formats_and_workers(tdnn_en_model, corpus, tmp_path, capsys):
    vocabulary, folder = corpus
    words = tmp_path / "words.txt"
    words.write_text("\n".join(vocabulary) + "\n", encoding="utf-8")
    base = ["decode", "--model", str(tdnn_en_model), "--words", str(words)]
    assert main(base + ["--format", "jsonl", str(folder)]) == 2  # the broken file
    out, err = capsys.readouterr()
    assert "s-broken.wav: cannot read audio" in err
    assert "skipped 1 of 9 recordings that could not be read" in err  # skipped and counted
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["id"] for r in records] == ["p0", "p1", "p2", "p3", "p4", "p5", "q-silent", "r-tiny"]
    assert main(base + ["--format", "jsonl", "--workers", "2", "--batch-seconds", "3", str(folder)]) == 2
    assert capsys.readouterr().out == out  # two processes, smaller batches: the same answers
    assert main(base + ["--format", "ctm", "-o", str(tmp_path / "out.ctm"), str(folder)]) == 2
    ctm = (tmp_path / "out.ctm").read_text().splitlines()
    assert len(ctm) == sum(len(r["words"]) for r in records)
    first = ctm[0].split()
    assert first[0] == "p0" and first[1] == "1" and first[4] == records[0]["words"][0]["word"]
    assert main(base + ["--format", "srt", "-o", str(tmp_path / "srt"), str(folder)]) == 2
    srt = (tmp_path / "srt" / "p0.srt").read_text()
    assert srt.startswith("1\n00:00:0") and " --> " in srt
    assert main(base + ["--format", "srt", str(folder)]) == 2
    assert "needs -o FOLDER" in capsys.readouterr().err


def test_a_folder_with_audio_too_narrowband_for_the_model_names_the_file_and_rates(recognizer, corpus, caplog,
                                                                                   monkeypatch):
    from speechtl.data import features

    monkeypatch.setattr(features, "_WARNED_RATES", set())
    vocabulary, folder = corpus
    assert recognizer.features.top_frequency == 8000  # a 16 kHz full-band model
    with caplog.at_level("WARNING"):
        list(decode_files(recognizer, audio_inputs([str(folder)]), "en", words=vocabulary))
    assert "p0.wav: recorded at 8000 Hz" in caplog.text and "reach 8000 Hz" in caplog.text
    assert "22050" not in caplog.text  # 22.05 kHz audio fills the band: no warning
