"""The OpenAI-compatible route, driven by the ``openai`` Python client against a real server on loopback;
``/openapi.json`` and the CORS allow-list."""

import io
import socket
import threading
import time

import pytest
import soundfile as sf
import torch
from starlette.testclient import TestClient

from speechtl.serve.app import create_app
from speechtl.serve.server import Server
from speechtl.serve.work import ServedModel

KEY = "o" * 24


@pytest.fixture(scope="module")
def served(tdnn_en_model):
    return ServedModel.load(tdnn_en_model, "en-tdnn")


@pytest.fixture(scope="module")
def phrase(en_phrases):
    vocabulary, phrases = en_phrases
    wave = torch.cat([phrases[0][0], torch.zeros(3200), phrases[1][0]]).numpy()
    buffer = io.BytesIO()
    sf.write(buffer, wave, 16000, format="WAV", subtype="PCM_16")
    return vocabulary, buffer.getvalue()


@pytest.fixture(scope="module")
def base_url(served):
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    runner = uvicorn.Server(uvicorn.Config(create_app(Server([served], api_key=KEY)), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=runner.run, daemon=True)
    thread.start()
    while not runner.started:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}/v1"
    runner.should_exit = True
    thread.join(5)


def test_the_openai_client_gets_every_response_format(base_url, served, phrase):
    from openai import OpenAI

    vocabulary, data = phrase
    want = served.recognizer.transcribe(sf.read(io.BytesIO(data), dtype="float32")[0], "en", words=vocabulary,
                                        sample_rate=16000)
    assert len(want.words) >= 2
    client = OpenAI(base_url=base_url, api_key=KEY, max_retries=0)
    extra = {"words": " ".join(vocabulary)}

    def create(fmt: str, **kw):
        return client.audio.transcriptions.create(model="whisper-1", file=("talk.wav", data, "audio/wav"),
                                                  language="en", response_format=fmt, extra_body=extra, **kw)

    assert create("json").text == want.text
    assert create("text").strip() == want.text
    srt = create("srt")
    assert srt.startswith("1\n00:00:") and " --> " in srt and want.words[0].word in srt
    vtt = create("vtt")
    assert vtt.startswith("WEBVTT\n\n00:00:") and "." in vtt.splitlines()[2]
    verbose = create("verbose_json", prompt="ignored", timestamp_granularities=["word", "segment"])
    assert verbose.text == want.text and verbose.language == "en"
    assert [w.word for w in verbose.words] == [w.word for w in want.words]
    assert verbose.words[0].start == pytest.approx(want.words[0].start, abs=1e-3)
    assert verbose.segments and verbose.segments[0].start == pytest.approx(want.words[0].start, abs=1e-3)
    assert any("prompt ignored" in n for n in verbose.model_extra["notes"])


def test_openai_errors_keep_their_shape(base_url, phrase):
    from openai import AuthenticationError, BadRequestError, OpenAI

    client = OpenAI(base_url=base_url, api_key="wrong" * 5, max_retries=0)
    with pytest.raises(AuthenticationError):
        client.audio.transcriptions.create(model="whisper-1", file=("a.wav", phrase[1], "audio/wav"))
    client = OpenAI(base_url=base_url, api_key=KEY, max_retries=0)
    with pytest.raises(BadRequestError) as bad:
        client.audio.transcriptions.create(model="whisper-1", file=("a.wav", b"not audio", "audio/wav"))
    assert "not audio" in bad.value.body["message"]
    with pytest.raises(BadRequestError) as bad:
        client.audio.transcriptions.create(model="whisper-1", file=("a.wav", phrase[1], "audio/wav"),
                                           response_format="xml")
    assert "expected one of json, text" in bad.value.body["message"]


def test_openapi_document_and_cors_allow_list(served):
    with TestClient(create_app(Server([served]), cors_origins=["https://app.example"])) as c:
        paths = c.get("/openapi.json").json()["paths"]
        allowed = c.options("/v1/transcribe", headers={"Origin": "https://app.example",
                                                       "Access-Control-Request-Method": "POST"})
        other = c.get("/health", headers={"Origin": "https://evil.example"})
    assert {"/v1/transcribe", "/v1/audio/transcriptions", "/v1/models", "/health"} <= set(paths)
    assert allowed.headers["access-control-allow-origin"] == "https://app.example"
    assert "access-control-allow-origin" not in other.headers
    with TestClient(create_app(Server([served]))) as c:  # no origins: no CORS headers at all
        assert "access-control-allow-origin" not in c.get("/health", headers={"Origin": "https://app.example"}).headers
