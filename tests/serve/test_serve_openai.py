"""The OpenAI-compatible route, driven by the ``openai`` Python client against a real server on loopback;
``/openapi.json`` and the CORS allow-list."""

import pytest

from speechtl.serve.app import create_app
from speechtl.serve.server import Server
from serving import app_client, live_uvicorn

KEY = "o" * 24


@pytest.fixture(scope="module")
def base_url(served):
    with live_uvicorn(create_app(Server([served], api_key=KEY))) as port:
        yield f"http://127.0.0.1:{port}/v1"


def test_the_openai_client_gets_every_response_format(base_url, served, wav_phrase):
    from openai import OpenAI

    vocabulary, pcm, data = wav_phrase
    want = served.recognizer.transcribe(pcm, "en", words=vocabulary, sample_rate=16000)
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


def test_openai_errors_keep_their_shape(base_url, wav_phrase):
    from openai import AuthenticationError, BadRequestError, OpenAI

    client = OpenAI(base_url=base_url, api_key="wrong" * 5, max_retries=0)
    with pytest.raises(AuthenticationError):
        client.audio.transcriptions.create(model="whisper-1", file=("a.wav", wav_phrase[2], "audio/wav"))
    client = OpenAI(base_url=base_url, api_key=KEY, max_retries=0)
    with pytest.raises(BadRequestError) as bad:
        client.audio.transcriptions.create(model="whisper-1", file=("a.wav", b"not audio", "audio/wav"))
    assert "not audio" in bad.value.body["message"]
    with pytest.raises(BadRequestError) as bad:
        client.audio.transcriptions.create(model="whisper-1", file=("a.wav", wav_phrase[2], "audio/wav"),
                                           response_format="xml")
    assert "expected one of json, text" in bad.value.body["message"]


def test_openapi_document_and_cors_allow_list(served):
    with app_client(served, cors_origins=("https://app.example",))[1] as c:
        paths = c.get("/openapi.json").json()["paths"]
        allowed = c.options("/v1/transcribe", headers={"Origin": "https://app.example",
                                                       "Access-Control-Request-Method": "POST"})
        other = c.get("/health", headers={"Origin": "https://evil.example"})
    assert {"/v1/transcribe", "/v1/audio/transcriptions", "/v1/models", "/health"} <= set(paths)
    assert allowed.headers["access-control-allow-origin"] == "https://app.example"
    assert "access-control-allow-origin" not in other.headers
    with app_client(served)[1] as c:  # no origins: no CORS headers at all
        assert "access-control-allow-origin" not in c.get("/health", headers={"Origin": "https://app.example"}).headers
