"""Every decode path on a Hugging Face CTC checkpoint: --lang restriction, lexicon, isolated, stream, serve, formats, export.

The checkpoint is a tiny random ``Wav2Vec2ForCTC`` (``tests/ctc_checkpoints.py``): the tests show each path
ends in a transcript or a model, not that the words are right (random weights).
"""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import soundfile as sf
import torch

from ctc_checkpoints import make_ctc_checkpoint, write_noise
from speechtl.cli import main
from speechtl.decoding.chunked import ChunkedEncoder
from speechtl.decoding.config import DecodeConfig
from speechtl.decoding.recognizer import Recognizer
from speechtl.decoding.streaming import stream_file
from speechtl.models.ctc_checkpoint import UNIVERSAL
from speechtl.text.g2p_lexicon import shipped_lexicon

pytest.importorskip("transformers")
WORDS = ["one", "two", "three", "four", "five"]


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ctc") / "ckpt"
    make_ctc_checkpoint(folder, "xlsr", seed=5)
    return folder


@pytest.fixture(scope="module")
def audio(tmp_path_factory):
    folder = tmp_path_factory.mktemp("audio")
    for i, seconds in enumerate((1.2, 2.0)):
        write_noise(folder / f"{i}.wav", seconds, seed=i)
    return sorted(folder.glob("*.wav"))


def test_lang_restricts_the_universal_head_to_the_language(ckpt):
    rec = Recognizer.load(ckpt)
    assert rec.language("en") == "en" and set(rec.languages) == {UNIVERSAL, "en"}
    universal, en = rec.model.inventories[UNIVERSAL], rec.model.inventories["en"]
    assert set(en.phonemes) == shipped_lexicon("en").symbols()
    heads = rec.model.heads
    for symbol in ("t", "s", "aɪ", "ð"):  # the language's phonemes the checkpoint has: their own rows
        assert torch.equal(heads.head("en").weight[en.index[symbol]], heads.head(UNIVERSAL).weight[universal.index[symbol]])
    assert "ɲ" in universal and "ɲ" not in en and "β" not in en  # Spanish ɲ, β are masked for English
    missing = [p for p in en.phonemes if p not in universal]
    assert missing  # e.g. ɚ, ɐ: the nearest output's row
    for symbol in missing:
        row = heads.head("en").weight[en.index[symbol]]
        assert any(torch.equal(row, heads.head(UNIVERSAL).weight[i]) for i in range(2, len(universal)))


def test_words_without_a_language_are_refused_on_the_universal_head(ckpt, audio, capsys):
    assert main(["decode", "--model", str(ckpt), str(audio[0])]) == 2
    assert "universal phoneme head, of no one language: name the words' language (--lang)" in capsys.readouterr().err
    assert main(["decode", "--model", str(ckpt), "--lang", "xx", str(audio[0])]) == 2
    assert "unknown language 'xx'" in capsys.readouterr().err


def test_lexicon_decode_in_every_batch_format(ckpt, audio, tmp_path, capsys):
    words = tmp_path / "words.txt"
    words.write_text("\n".join(WORDS) + "\n")
    common = ["decode", "--model", str(ckpt), "--lang", "en", "--words", str(words)]
    assert main(common + ["--format", "jsonl", *map(str, audio)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["language"] for line in lines] == ["en", "en"] and all(line["phonemes"] for line in lines)
    assert all(set(line["text"].split()) <= set(WORDS) for line in lines)
    assert main(common + ["--format", "ctm", *map(str, audio)]) == 0
    ctm = capsys.readouterr().out.splitlines()
    assert all(line.split()[4] in WORDS for line in ctm)
    assert main(common + ["--format", "srt", "-o", str(tmp_path / "srt"), *map(str, audio)]) == 0
    assert len(list((tmp_path / "srt").glob("*.srt"))) == 2
    assert main(common + ["--batch-seconds", "0", "--workers", "2", "--format", "jsonl", *map(str, audio)]) == 0
    assert [json.loads(line)["phonemes"] for line in capsys.readouterr().out.splitlines()] == \
        [line["phonemes"] for line in lines]


def test_isolated_gives_one_word_of_the_list(ckpt, audio):
    rec = Recognizer(Recognizer.load(ckpt).model, DecodeConfig(isolated=True))
    for path in audio:
        out = rec.transcribe(path, "en", words=WORDS)
        assert len(out.words) == 1 and out.words[0].word in WORDS


def test_stream_in_chunks_with_left_context(ckpt, audio, capsys):
    rec = Recognizer.load(ckpt)
    language = rec.language("en")
    wave = rec.read_samples(audio[1])[1]
    offline = rec._log_probs(wave, language)
    whole = ChunkedEncoder(rec.model, language, chunk_seconds=10.0)  # one window: offline exactly
    torch.testing.assert_close(torch.cat([whole.accept(wave), whole.finish()]), offline, atol=1e-5, rtol=0)
    chunked = ChunkedEncoder(rec.model, language, chunk_seconds=0.4, left_seconds=0.8, right_seconds=0.2)
    pieces = [chunked.accept(wave[a: a + 1000]) for a in range(0, wave.numel(), 1000)] + [chunked.finish()]
    assert sum(p.shape[0] > 0 for p in pieces) >= 4  # frames came out while the audio arrived
    streamed = torch.cat(pieces)
    assert streamed.shape == offline.shape
    first = chunked.chunk  # the first chunk's window starts at the recording's start, as offline
    assert (streamed[:first] - offline[:first]).abs().max() < 0.5
    final = list(stream_file(rec, audio[1], 0.2, language="en", words=WORDS))[-1]
    assert final.phonemes and set(final.text.split()) <= set(WORDS)
    assert main(["decode", "--model", str(ckpt), "--lang", "en", "--stream", "--chunk-ms", "300",
                 "--format", "jsonl", str(audio[1])]) == 0
    assert json.loads(capsys.readouterr().out)["language"] == "en"


def test_served_upload_and_stream(ckpt, audio):
    from starlette.testclient import TestClient

    from speechtl.serve.app import create_app
    from speechtl.serve.server import Server
    from speechtl.serve.work import ServedModel

    served = ServedModel.load(ckpt, "xlsr-phonemes")
    data = audio[0].read_bytes()
    with TestClient(create_app(Server([served]))) as c:
        [model] = c.get("/v1/models").json()["models"]
        assert model["languages"] == [UNIVERSAL]
        raw = c.post("/v1/transcribe", params={"language": "en", "words": ",".join(WORDS)}, content=data,
                     headers={"content-type": "audio/wav"})
        assert raw.status_code == 200, raw.text
        assert raw.json()["language"] == "en" and raw.json()["phonemes"]
        pcm = sf.read(io.BytesIO(data), dtype="float32")[0]
        messages = []
        with c.websocket_connect("/v1/stream?language=en") as ws:
            assert ws.receive_json()["type"] == "ready"
            ws.send_text(json.dumps({"type": "start", "words": WORDS}))
            ws.send_bytes((np.clip(pcm, -1, 1) * 32767).astype("<i2").tobytes())
            ws.send_text("end")
            while not messages or messages[-1]["type"] != "final":
                messages.append(ws.receive_json())
        assert messages[-1]["type"] == "final" and set(w["word"] for w in messages[-1]["words"]) <= set(WORDS)


@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated")
def test_export_onnx_and_torchscript(ckpt, tmp_path, capsys):
    assert main(["export", "--model", str(ckpt), "--format", "torchscript", "-o", str(tmp_path / "m.pt")]) == 0
    assert f"log_probs_{UNIVERSAL}" in capsys.readouterr().out
    rec = Recognizer.load(ckpt)
    frames = torch.randn(1, 120, 160)
    with torch.no_grad():
        hidden, lengths = rec.model(frames, torch.tensor([120]))
        want = rec.model.log_probs(hidden, UNIVERSAL)
        got = torch.jit.load(str(tmp_path / "m.pt"))(frames, torch.tensor([120]))
    torch.testing.assert_close(got[0], want, atol=1e-4, rtol=0)
    ort = pytest.importorskip("onnxruntime")
    assert main(["export", "--model", str(ckpt), "-o", str(tmp_path / "m.onnx")]) == 0
    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    for frames in (torch.randn(1, 120, 160), torch.randn(1, 77, 160)):  # dynamic length
        with torch.no_grad():
            hidden, _ = rec.model(frames, torch.tensor([frames.shape[1]]))
        got = session.run(None, {"feats": frames.numpy(), "lengths": np.array([frames.shape[1]])})[0]
        np.testing.assert_allclose(got, rec.model.log_probs(hidden, UNIVERSAL).detach().numpy(), atol=1e-4, rtol=0)
