"""The recognition server: each endpoint, each limit and each kind of bad input (ASGI test client and uvicorn)."""

import asyncio
import io
import json
import socket
import threading
import time

import numpy as np
import pytest
import soundfile as sf
import torch
from starlette.websockets import WebSocketDisconnect

from speechtl.cli import main
from speechtl.data.cmvn import UtteranceCMVN
from speechtl.decoding.recognizer import Recognizer
from speechtl.serve.app import create_app
from speechtl.serve.config import ServeError, ServeLimits, check_bind
from speechtl.serve.server import Server
from speechtl.serve.work import Busy, ServedModel, WorkSlots
from serving import app_client, live_uvicorn

KEY = "k" * 24


def post_wav(c, data, words=None, **params):
    if words:
        params["words"] = ",".join(words)
    return c.post("/v1/transcribe", params=params, content=data, headers={"content-type": "audio/wav"})


def test_health_models_and_the_page(served):
    _, c = app_client(served)
    with c:
        assert c.get("/health").json()["status"] == "ok"
        [model] = c.get("/v1/models").json()["models"]
        assert model["name"] == "en-tdnn" and model["languages"] == ["en"] and model["streaming"]
        assert "|" not in model["inventories"]["en"] and len(model["inventories"]["en"]) > 10
        page = c.get("/")
        assert page.status_code == 200 and '<script src="/app.js">' in page.text
        script = c.get("/app.js").text
        for text in (page.text, script):  # nothing from a CDN or any other host
            assert "http://" not in text and "https://" not in text and "//cdn" not in text
        assert "/v1/stream" in script and "/v1/transcribe" in script


def test_transcribe_equals_the_recogniser(served, wav_phrase):
    vocabulary, pcm, data = wav_phrase
    want = served.recognizer.transcribe(pcm, "en", words=vocabulary, sample_rate=16000)
    _, c = app_client(served)
    with c:
        raw = post_wav(c, data, vocabulary, language="en")
        form = c.post("/v1/transcribe", files={"audio": ("a.wav", data, "audio/wav")},
                      data={"words": "\n".join(vocabulary), "language": "en"})
    assert raw.status_code == 200 and form.status_code == 200
    assert len(want.words) >= 2
    for answer in (raw.json(), form.json()):
        assert answer["model"] == "en-tdnn"
        assert answer["words"] == [w.as_dict() for w in want.words]
        assert set(answer["words"][0]) == {"word", "start", "end", "phonemes", "confidence"}


def test_lexicon_text_and_its_errors(served, wav_phrase):
    _, pcm, data = wav_phrase
    inventory = served.recognizer.model.inventories["en"].phonemes
    lexicon = f"alpha {inventory[0]} {inventory[1]}\nbeta {inventory[2]}\n"
    _, c = app_client(served)
    with c:
        good = c.post("/v1/transcribe", files={"audio": ("a.wav", data, "audio/wav")}, data={"lexicon": lexicon})
        bad = c.post("/v1/transcribe", files={"audio": ("a.wav", data, "audio/wav")},
                     data={"lexicon": lexicon + "gamma ʘʘ\n", "strict": "true"})
    assert good.status_code == 200 and {w["word"] for w in good.json()["words"]} <= {"alpha", "beta"}
    assert bad.status_code == 400 and "lexicon:3" in bad.json()["error"] and "ʘʘ" in bad.json()["error"]


def test_bad_requests_get_clear_4xx(served, wav_phrase):
    vocabulary, _, data = wav_phrase
    _, c = app_client(served, max_upload_mb=0.05, max_audio_seconds=1.0)
    short = io.BytesIO()
    sf.write(short, np.zeros(8000, np.float32), 16000, format="WAV")
    long = io.BytesIO()
    sf.write(long, np.zeros(8000 * 3, np.float32), 8000, format="FLAC")
    with c:
        cases = {
            "wrong type": c.post("/v1/transcribe", content=b"{}", headers={"content-type": "application/json"}),
            "not audio": c.post("/v1/transcribe", content=b"RIFF....WAVEjunk", headers={"content-type": "audio/wav"}),
            "empty": c.post("/v1/transcribe", content=b"", headers={"content-type": "audio/wav"}),
            "too large": post_wav(c, data + bytes(60000)),
            "too long": c.post("/v1/transcribe", content=long.getvalue(), headers={"content-type": "audio/flac"}),
            "no model": post_wav(c, short.getvalue(), model="nope"),
            "no language": post_wav(c, short.getvalue(), language="fr"),
            "form without audio": c.post("/v1/transcribe", files={"other": ("x", b"1")}),
            "truncated form": c.post("/v1/transcribe", content=b"--xx\r\nContent-Disposition: form-data; name=",
                                     headers={"content-type": "multipart/form-data; boundary=xx"}),
        }
        assert c.get("/health").status_code == 200  # still serving
    status = {name: r.status_code for name, r in cases.items()}
    assert status == {"wrong type": 415, "not audio": 400, "empty": 400, "too large": 413, "too long": 413,
                      "no model": 404, "no language": 400, "form without audio": 400, "truncated form": 400}
    assert "no head for language 'fr'" in cases["no language"].json()["error"]
    assert "3.0 s of audio; at most 1 s" in cases["too long"].json()["error"]
    assert all("error" in r.json() for r in cases.values())


def test_api_key(served, wav_phrase):
    _, c = app_client(served, api_key=KEY)
    with c:
        assert c.get("/v1/models").status_code == 401
        assert c.get("/v1/models", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert c.get("/v1/models", headers={"Authorization": f"Bearer {KEY}"}).status_code == 200
        assert c.get("/v1/models", headers={"X-API-Key": KEY}).status_code == 200
        assert c.get("/health").status_code == 200 and c.get("/").status_code == 200  # nothing secret there
        assert c.get(f"/v1/models?api_key={KEY}").status_code == 401  # never from the URL
        for first in ("end", json.dumps({"type": "auth", "api_key": "wrong"})):
            messages, code = stream_close(c, send=[first])
            assert code == 1008 and "API key is required" in messages[-1]["message"]
        messages, code = stream_close(c, f"/v1/stream?api_key={KEY}")
        assert code == 1008 and "never in the URL" in messages[-1]["message"]
        with c.websocket_connect("/v1/stream") as ws:  # a browser: the key as the first message
            ws.send_text(json.dumps({"type": "auth", "api_key": KEY}))
            assert ws.receive_json()["type"] == "ready"
        with c.websocket_connect("/v1/stream", headers={"Authorization": f"Bearer {KEY}"}) as ws:
            assert ws.receive_json()["type"] == "ready"


def test_binding_beyond_loopback_needs_a_key():
    check_bind("127.0.0.1", None)
    check_bind("::1", None)
    check_bind("0.0.0.0", KEY)
    with pytest.raises(ServeError, match="without --api-key"):
        check_bind("0.0.0.0", None)
    with pytest.raises(ServeError, match="at least 16"):
        check_bind("127.0.0.1", "short")
    with pytest.raises(ServeError, match="positive"):
        ServeLimits(max_concurrent=0).validate()


def test_serve_cli_refuses_a_public_address_without_a_key(tdnn_en_model, capsys, monkeypatch):
    monkeypatch.delenv("SPEECHTL_API_KEY", raising=False)
    assert main(["serve", "--model", str(tdnn_en_model), "--host", "0.0.0.0"]) == 2
    assert "without --api-key" in capsys.readouterr().err


def test_busy_server_answers_503_and_work_slots_hold_their_bound(served, wav_phrase):
    server, c = app_client(served, max_concurrent=1, max_queue=0)
    with c:
        server.slots.active = 1  # as if a decode were running
        busy = post_wav(c, wav_phrase[2])
        server.slots.active = 0
        assert busy.status_code == 503 and busy.headers["retry-after"] == "1"
        assert post_wav(c, wav_phrase[2]).status_code == 200

    async def scenario():
        slots = WorkSlots(running=1, waiting=1)
        gate = threading.Event()
        first = asyncio.ensure_future(slots.run(gate.wait, 5, timeout=5))
        await asyncio.sleep(0.05)
        second = asyncio.ensure_future(slots.run(lambda: "queued", timeout=0.2))
        await asyncio.sleep(0.01)
        with pytest.raises(Busy):
            await slots.run(lambda: None, timeout=1)
        with pytest.raises(asyncio.TimeoutError):  # waited in line past its timeout: dropped
            await second
        gate.set()
        assert await first is True
        slots.shutdown()

        slots = WorkSlots(running=1, waiting=0)  # a running job outlives its caller's timeout...
        gate = threading.Event()
        with pytest.raises(asyncio.TimeoutError):
            await slots.run(gate.wait, 5, timeout=0.1)
        assert slots.active == 1  # ...and keeps its slot until its thread ends
        with pytest.raises(Busy):
            await slots.run(lambda: None, timeout=1)
        gate.set()
        await asyncio.sleep(0.1)
        assert slots.active == 0 and await slots.run(lambda: 7, timeout=1) == 7
        slots.shutdown()

    asyncio.run(scenario())


def pcm16(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()


def test_stream_partials_and_final_equal_the_upload(served, wav_phrase):
    vocabulary, pcm, _ = wav_phrase
    data = pcm16(pcm)
    samples = np.frombuffer(data, "<i2").astype(np.float32) / 32768.0
    want = served.recognizer.transcribe(samples, "en", words=vocabulary, sample_rate=16000)
    _, c = app_client(served)
    messages = []
    with c, c.websocket_connect("/v1/stream?language=en") as ws:
        assert ws.receive_json()["type"] == "ready"
        ws.send_text(json.dumps({"type": "start", "words": vocabulary}))
        for a in range(0, len(data), 3201):  # odd sizes: a sample may be split across messages
            ws.send_bytes(data[a: a + 3201])
        ws.send_text("end")
        while not messages or messages[-1]["type"] != "final":
            messages.append(ws.receive_json())
    partials, final = messages[:-1], messages[-1]
    assert len(partials) >= int(len(samples) / 16000 / 0.25) - 1  # one per 0.25 s of audio
    assert [p["seconds"] for p in partials] == sorted(p["seconds"] for p in partials)
    assert final["words"] == [w.as_dict() for w in want.words] and final["words"]
    assert any(p["words"] for p in partials)  # words before the end


def stream_close(c, url="/v1/stream", send=(), wait=True):
    """``(messages, close code)`` of a stream given ``send`` (bytes or text)."""
    messages = []
    with c.websocket_connect(url) as ws:
        try:
            for item in send:
                ws.send_bytes(item) if isinstance(item, bytes) else ws.send_text(item)
            while True:
                messages.append(ws.receive_json())
        except WebSocketDisconnect as closed:
            return messages, closed.code
    return messages, None


def test_stream_limits_and_bad_messages(served):
    _, c = app_client(served, stream_idle_seconds=0.3, stream_max_seconds=0.5, max_streams=1)
    second = bytes(32000)  # one second of silence
    with c:
        messages, code = stream_close(c, send=[b"\x00\x00" * 100])  # then silence on the line: idle
        assert code == 1008 and "nothing received for 0.3 s" in messages[-1]["message"]
        messages, code = stream_close(c, send=[second])
        assert code == 1009 and "more than 0.5 s of audio" in messages[-1]["message"]
        messages, code = stream_close(c, send=["{not json"])
        assert code == 1003 and "expected a JSON message" in messages[-1]["message"]
        messages, code = stream_close(c, "/v1/stream?sample_rate=4000")
        assert code == 1003 and "from 8000 to 96000" in messages[-1]["message"]
        messages, code = stream_close(c, send=[json.dumps({"type": "start", "language": "fr"})])
        assert code == 1003 and "no head for language 'fr'" in messages[-1]["message"]
        messages, code = stream_close(c, "/v1/stream?model=other")
        assert code == 1008 and "no model 'other'" in messages[-1]["message"]
        with c.websocket_connect("/v1/stream") as first:
            assert first.receive_json()["type"] == "ready"
            messages, code = stream_close(c)
            assert code == 1013 and "try again later" in messages[-1]["message"]
        assert c.get("/health").json()["streams"] == 0


def test_stream_that_never_closes_is_closed(served):
    _, c = app_client(served, stream_idle_seconds=5, stream_max_wall_seconds=0.6)
    with c, c.websocket_connect("/v1/stream") as ws:
        assert ws.receive_json()["type"] == "ready"
        for _ in range(20):  # keeps sending for a second, never ends
            ws.send_bytes(bytes(320))
            time.sleep(0.05)
        message = ws.receive_json()
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert "open longer than 0.6 s" in message["message"] and closed.value.code == 1008


def test_streaming_refused_for_a_model_that_cannot(tdnn_en_model, served):
    from speechtl.models.io import load_model_and_meta

    model, _ = load_model_and_meta(tdnn_en_model)
    model.frontend.normalizer = UtteranceCMVN()
    model.config.features.cmvn = "utterance"
    other = ServedModel("utterance-cmvn", Recognizer(model))
    assert not other.describe()["streaming"]
    with app_client(other)[1] as c:
        messages, code = stream_close(c)
    assert code == 1003 and "CMVN" in messages[-1]["message"]


# ------------------------------------------------------------------ a real uvicorn on loopback
@pytest.fixture
def live_server(served):
    with live_uvicorn(create_app(Server([served], ServeLimits(request_timeout=1.0))), timeout_keep_alive=2) as port:
        yield port


def raw_request(port: int, head: bytes, body_parts=(), pause: float = 0.0, read: bool = True) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(head)
        for part in body_parts:
            time.sleep(pause)
            try:
                s.sendall(part)
            except OSError:
                break
        if not read:
            return b""
        chunks = []
        while True:
            try:
                chunk = s.recv(65536)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)


def test_slow_and_truncated_uploads_on_a_real_server(live_server, wav_phrase):
    import httpx

    data = wav_phrase[2]
    head = (f"POST /v1/transcribe HTTP/1.1\r\nHost: x\r\nContent-Type: audio/wav\r\n"
            f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n").encode()
    slow = raw_request(live_server, head, [data[i: i + 1] for i in range(40)], pause=0.05)  # 20 bytes a second
    assert slow.startswith(b"HTTP/1.1 408") and b"did not arrive within 1 s" in slow
    raw_request(live_server, head, [data[:1000]], read=False)  # truncated: the client hangs up
    ok = httpx.post(f"http://127.0.0.1:{live_server}/v1/transcribe", content=data,
                    headers={"content-type": "audio/wav"}, timeout=30)
    assert ok.status_code == 200 and ok.json()["words"]  # the server is unharmed


def test_several_models_are_named(served, wav_phrase):
    from speechtl.cli.serve import model_name

    other = ServedModel("other", served.recognizer)
    with app_client(served, other)[1] as c:
        names = [m["name"] for m in c.get("/v1/models").json()["models"]]
        unnamed = post_wav(c, wav_phrase[2])
        named = post_wav(c, wav_phrase[2], model="other")
    assert names == ["en-tdnn", "other"]
    assert unnamed.status_code == 400 and "name one with model=" in unnamed.json()["error"]
    assert named.status_code == 200 and named.json()["model"] == "other"
    with pytest.raises(Exception, match="share a name"):
        Server([served, served])
    assert model_name("de=exp/b/model") == ("de", "exp/b/model")
    assert model_name("exp/run-7/model") == ("run-7", "exp/run-7/model")
    assert model_name("models/small.safetensors") == ("small", "models/small.safetensors")


def test_stream_at_another_rate_equals_the_upload_at_that_rate(served, wav_phrase):
    vocabulary, pcm, _ = wav_phrase
    from speechtl.data.audio import resample

    wave = resample(torch.from_numpy(pcm), 16000, 44100).numpy()
    data = pcm16(wave)
    samples = np.frombuffer(data, "<i2").astype(np.float32) / 32768.0
    want = served.recognizer.transcribe(samples, "en", words=vocabulary, sample_rate=44100)
    _, c = app_client(served)
    with c, c.websocket_connect("/v1/stream?sample_rate=44100&language=en") as ws:
        assert ws.receive_json()["sample_rate"] == 44100
        ws.send_text(json.dumps({"type": "start", "words": vocabulary}))
        for a in range(0, len(data), 8820):
            ws.send_bytes(data[a: a + 8820])
        ws.send_text("end")
        while (message := ws.receive_json())["type"] != "final":
            pass
    # resampled in pieces as they come rather than in one go: the same words, times and phonemes;
    # a confidence may round apart in its third decimal
    got, expected = message["words"], [w.as_dict() for w in want.words]
    assert got and [{**w, "confidence": None} for w in got] == [{**w, "confidence": None} for w in expected]
    assert all(abs(a["confidence"] - b["confidence"]) <= 0.002 for a, b in zip(got, expected))
