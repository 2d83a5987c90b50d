"""The server's limits against hostile clients (issue 27): connection guards, bounded resampling,
per-request limits with their 4xx answers, WebSocket abuse, flag validation and key handling."""

import io
import json
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile as sf
import torch
from starlette.websockets import WebSocketDisconnect

from speechtl.cli import main
from speechtl.data.resampling import MAX_KERNEL, StreamResampler, kernel_size, plan, resample
from speechtl.serve.app import create_app
from speechtl.serve.protocol import RedactKeys, guarded_protocol
from speechtl.serve.server import Server
from serving import app_client, live_uvicorn


def wav(seconds: float, rate: int, channels: int = 1, fmt: str = "WAV") -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    buffer = io.BytesIO()
    sf.write(buffer, np.stack([tone] * channels, 1) if channels > 1 else tone, rate, format=fmt)
    return buffer.getvalue()


# ------------------------------------------------------------------ resampling at bounded memory
def test_every_accepted_rate_resamples_through_small_kernels():
    worst = max(kernel_size(a, b) for rate in range(4000, 192001) for kind, a, b in plan(rate, 16000).steps
                if kind == "sinc" and a != b)
    assert worst <= MAX_KERNEL
    assert kernel_size(16001, 16000) > 200 * MAX_KERNEL  # what one torchaudio step would have built
    assert plan(44100, 16000).steps == [("sinc", 44100, 16000)]  # common rates: one step, as before


@pytest.mark.parametrize("rate", [16001, 95999, 8001, 12345, 44100])
def test_odd_rates_resample_accurately_and_in_pieces(rate):
    t = torch.arange(rate * 2, dtype=torch.float64) / rate
    tone = lambda t: (torch.sin(2 * torch.pi * 500 * t) + 0.5 * torch.sin(2 * torch.pi * 3000 * t)).float()  # noqa: E731
    whole = resample(tone(t), rate, 16000)
    assert whole.numel() == int(np.ceil(rate * 2 * 16000 / rate))
    want = tone(torch.arange(whole.numel(), dtype=torch.float64) / 16000)
    assert (whole - want)[800:-800].abs().max() < 0.05  # a band-limited tone survives (edges aside)
    stream = StreamResampler(rate, 16000)
    parts = [stream.accept(tone(t)[a: a + 3001]) for a in range(0, t.numel(), 3001)] + [stream.finish()]
    torch.testing.assert_close(torch.cat(parts), whole, atol=1e-5, rtol=0)
    assert stream.buffer.numel() < rate  # a margin, not the whole signal


def test_resampling_an_odd_rate_costs_little_memory():
    """The probe's case: 16001 Hz took 4 GB; here 10 s at 16001 and 95999 Hz cost < 150 MB above the baseline."""
    script = ("import resource, torch\nfrom speechtl.data.resampling import resample\n"
              "x = torch.zeros(10)\nresample(torch.zeros(48000), 48000, 16000)\n"
              "base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
              "for rate in (16001, 95999, 8001):\n    resample(torch.randn(rate * 10), rate, 16000)\n"
              "print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) // 1024)")
    grown = int(subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout)
    assert grown < 150, f"{grown} MB"


# ------------------------------------------------------------------ limits of one request
def test_words_and_lexicon_limits_answer_413_naming_the_option(served):
    data = wav(0.5, 16000)
    with app_client(served, max_words=50, max_lexicon_kb=4)[1] as c:
        words = c.post("/v1/transcribe", files={"audio": ("a.wav", data, "audio/wav")},
                       data={"words": " ".join(f"w{i}" for i in range(60))})
        lexicon = c.post("/v1/transcribe", files={"audio": ("a.wav", data, "audio/wav")},
                         data={"lexicon": "word a b\n" * 1000})
        field = c.post("/v1/transcribe", files={"audio": ("a.wav", data, "audio/wav")}, data={"lexicon": "x" * 10**6})
        query = c.post("/v1/transcribe", params={"words": ",".join(f"w{i}" for i in range(60))}, content=data,
                       headers={"content-type": "audio/wav"})
        rate = c.post("/v1/transcribe", content=wav(0.1, 2000), headers={"content-type": "audio/wav"})
    assert words.status_code == 413 and "60 words given; at most 50 per request (--max-words)" in words.json()["error"]
    assert lexicon.status_code == 413 and "at most 4 kB per request (--max-lexicon-kb)" in lexicon.json()["error"]
    assert field.status_code == 413 and "--max-lexicon-kb" in field.json()["error"]
    assert query.status_code == 413 and "--max-words" in query.json()["error"]
    assert rate.status_code == 400 and "2000 Hz" in rate.json()["error"]


def test_uploads_at_odd_rates_and_many_channels(served):
    with app_client(served)[1] as c:
        for rate, channels, fmt in ((16001, 1, "WAV"), (95999, 1, "WAV"), (8001, 2, "WAV"), (48000, 6, "FLAC")):
            answer = c.post("/v1/transcribe", content=wav(0.5, rate, channels, fmt),
                            headers={"content-type": f"audio/{fmt.lower()}"})
            assert answer.status_code == 200, (rate, answer.text)
            assert answer.json()["duration"] == pytest.approx(0.5, abs=0.01)


def test_stream_survives_a_deeply_nested_text_frame_and_odd_rates(served):
    with app_client(served)[1] as c:
        with c.websocket_connect("/v1/stream") as ws:
            assert ws.receive_json()["type"] == "ready"
            ws.send_text("[" * 100_000)
            message = ws.receive_json()
            with pytest.raises(WebSocketDisconnect) as closed:
                ws.receive_json()
        assert closed.value.code == 1003 and "expected a JSON message" in message["message"]
        for rate in (16001, 95999):
            with c.websocket_connect(f"/v1/stream?sample_rate={rate}") as ws:
                assert ws.receive_json()["sample_rate"] == rate
                ws.send_bytes((np.sin(np.arange(rate) / 10) * 3000).astype("<i2").tobytes())
                ws.send_text("end")
                while (message := ws.receive_json())["type"] != "final":
                    pass
                assert message["duration"] == pytest.approx(1.0, abs=0.01)


def _final(c, words: str = "") -> dict:
    with c.websocket_connect("/v1/stream" + (f"?words={words}" if words else "")) as ws:
        assert ws.receive_json()["type"] == "ready"
        ws.send_bytes((np.sin(np.arange(16000) / 7) * 3000).astype("<i2").tobytes())
        ws.send_text("end")
        while (message := ws.receive_json())["type"] != "final":
            pass
    return message


def test_streams_reuse_searches_built_at_start(served, monkeypatch):
    """A stream without a word list takes a search built before serving, and gives it back at its end."""
    import speechtl.serve.searches as searches

    server, c = app_client(served, max_streams=2)
    assert server.searches.prebuild([served], 2) == 2
    built = []
    monkeypatch.setattr(searches.StreamingRecognizer, "_search",
                        lambda self: built.append(self) or pytest.fail("a search was built while serving"))
    key = searches.search_key(served.name, "en", None, None)
    with c:
        first, second = _final(c), _final(c)
        assert first == second and not built
        assert len(server.searches.idle[key]) == 2  # both given back
        monkeypatch.undo()
        for words in ("yes+no", "one+two", "yes+no", "three", "four"):  # built once, reused, max_streams kept
            _final(c, words)
    others = {k: len(v) for k, v in server.searches.idle.items() if k != key}
    assert sum(others.values()) == 2 and list(others)[-1][2] == ("four",)


# ------------------------------------------------------------------ flags and keys
@pytest.mark.parametrize("flags, message", [
    (["--max-upload-mb", "inf"], "--max-upload-mb must be a finite number"),
    (["--max-upload-mb", "nan"], "--max-upload-mb must be a finite number"),
    (["--max-upload-mb", "5000"], "--max-upload-mb must be at most 1024"),
    (["--max-concurrent", "0"], "--max-concurrent must be positive"),
    (["--max-queue", "-1"], "--max-queue must be >= 0"),
    (["--header-timeout", "-2"], "--header-timeout must be positive"),
    (["--port", "70000"], "--port must be from 1 to 65535, got 70000"),
    (["--cors-origin", "*"], "'*' is refused"),
])
def test_serve_flags_are_checked_before_anything_starts(tdnn_en_model, capsys, flags, message):
    assert main(["serve", "--model", str(tdnn_en_model), *flags]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_serve_refuses_a_port_in_use_and_reads_the_key_from_a_file(tdnn_en_model, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("SPEECHTL_API_KEY", raising=False)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--model", str(tdnn_en_model), "--port", str(port)]) == 2
        err = capsys.readouterr().err
        assert f"cannot listen on 127.0.0.1:{port}" in err and "Traceback" not in err
    empty = tmp_path / "empty"
    empty.write_text("\n")
    assert main(["serve", "--model", str(tdnn_en_model), "--api-key-file", str(empty)]) == 2
    assert "expected the key alone on one line" in capsys.readouterr().err
    assert main(["serve", "--model", str(tdnn_en_model), "--api-key-file", str(tmp_path / "none")]) == 2
    assert "cannot read it" in capsys.readouterr().err
    assert main(["serve", "--model", str(tdnn_en_model), "--host", "0.0.0.0", "--api-key", "s" * 20,
                 "--port", "70000"]) == 2
    assert "visible to every user of this machine" in capsys.readouterr().err


def test_keys_in_urls_are_redacted_from_log_records():
    import logging

    record = logging.LogRecord("uvicorn.access", logging.INFO, "", 0, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5", "GET", "/v1/models?x=1&api_key=SECRET123&y=2", "1.1", 401), None)
    RedactKeys().filter(record)
    assert "SECRET123" not in record.getMessage() and "api_key=[redacted]&y=2" in record.getMessage()


# ------------------------------------------------------------------ the connection guards (in-process uvicorn)
@pytest.fixture
def guarded(served):
    with live_uvicorn(create_app(Server([served])), http=guarded_protocol(max_connections=20, header_timeout=0.5)) as port:
        yield port


def read_all(s: socket.socket) -> bytes:
    chunks = []
    while chunk := s.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def test_idle_and_slow_header_connections_are_closed_and_capped(guarded):
    started = time.monotonic()
    idle = [socket.create_connection(("127.0.0.1", guarded), timeout=5) for _ in range(20)]
    slow = idle.pop()
    slow.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # headers never finished
    time.sleep(0.05)
    with socket.create_connection(("127.0.0.1", guarded), timeout=5) as extra:  # the 20th: over the cap
        extra.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        refused = read_all(extra)
    assert refused.startswith(b"HTTP/1.1 503") and b"Retry-After: 1" in refused
    assert json.loads(refused.split(b"\r\n\r\n", 1)[1])["error"].startswith("the server holds 20 connections")
    assert read_all(idle[0]) == b""  # closed by the server after the header timeout, nothing said
    answer = read_all(slow)
    assert answer.startswith(b"HTTP/1.1 408") and b"did not arrive within 0.5 s" in answer
    assert 0.4 < time.monotonic() - started < 3
    for s in idle + [slow]:
        s.close()
    with socket.create_connection(("127.0.0.1", guarded), timeout=5) as s:  # room again; a kept-alive request works
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        assert s.recv(65536).startswith(b"HTTP/1.1 200")
