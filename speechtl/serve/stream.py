"""``WS /v1/stream``: 16-bit PCM in, partial words while it arrives, the final words at the end.

Protocol (JSON text messages, binary audio):

1. Connect with the options in the query string (``model``, ``language``, ``words``,
   ``sample_rate``: 8000 to 96000, by default the model's; other rates are resampled as they arrive,
   with the same result as resampling the whole recording), or send ``{"type": "start", "language": ...,
   "words": [...], "lexicon": "word p1 p2\\n..."}`` first. The server answers ``{"type": "ready", ...}``.
   When the server has an API key, send it in a header (``Authorization: Bearer KEY``) or, from a
   browser (which cannot set headers), as the first message ``{"type": "auth", "api_key": KEY}``;
   never in the URL (URLs are logged).
2. Send mono signed 16-bit little-endian PCM, in messages of any size. After each
   ``partial_seconds`` of audio the server answers ``{"type": "partial", "text", "words",
   "phonemes", "seconds", "decoded_seconds"}``.
3. Send ``{"type": "end"}``: the server answers ``{"type": "final", ...}`` (the transcript, as
   ``POST /v1/transcribe`` gives it) and closes with 1000.

Errors are ``{"type": "error", "message": ...}`` and a close: 1003 bad data (not PCM, bad
JSON, a rate out of range, an unknown language or a bad lexicon), 1008 a limit (idle for
``stream_idle_seconds``, open longer than ``stream_max_wall_seconds``, no API key), 1009 more
than ``stream_max_seconds`` of audio, 1011 an internal error, 1013 busy (too many streams or
decodes: try again later).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time

import numpy as np
import torch
from starlette.websockets import WebSocket, WebSocketDisconnect

from speechtl.data.resampling import StreamResampler
from speechtl.errors import SpeechtlError
from speechtl.serve.searches import PooledStream, search_key
from speechtl.serve.server import HTTPProblem, Server
from speechtl.serve.upload import parse_lexicon, parse_words
from speechtl.serve.work import Busy

log = logging.getLogger(__name__)


class StreamClosed(Exception):
    """End the stream with a close code and a message to the client."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def stream_endpoint(server: Server):
    """The WebSocket handler for ``server``."""

    async def endpoint(ws: WebSocket) -> None:
        await ws.accept()
        if "api_key" in ws.query_params:
            await _close(ws, 1008, "send the API key in a header or a first {\"type\": \"auth\"} message, "
                                   "never in the URL (URLs are logged)")
            return
        if not server.authorised(ws.headers) and not await _first_message_key(server, ws):
            await _close(ws, 1008, "a valid API key is required (Authorization header, or a first message "
                                   "{\"type\": \"auth\", \"api_key\": KEY})")
            return
        if server.streams >= server.limits.max_streams:
            await _close(ws, 1013, f"{server.limits.max_streams} streams are open; try again later")
            return
        server.streams += 1
        session = Session(server, ws)
        try:
            await session.run()
        except StreamClosed as err:
            await _close(ws, err.code, err.message)
        except WebSocketDisconnect:
            pass
        except Exception:
            log.exception("stream failed")
            await _close(ws, 1011, "internal error (logged on the server)")
        finally:
            server.streams -= 1
            session.give_back()

    return endpoint


async def _first_message_key(server: Server, ws: WebSocket) -> bool:
    """True when the first message, within ``stream_idle_seconds``, is ``{"type": "auth", "api_key": KEY}``."""
    try:
        message = await asyncio.wait_for(ws.receive(), server.limits.stream_idle_seconds)
        command = json.loads(message.get("text") or "null")
    except (asyncio.TimeoutError, ValueError, RecursionError, WebSocketDisconnect):
        return False
    return isinstance(command, dict) and command.get("type") == "auth" and server.key_matches(command.get("api_key"))


async def _close(ws: WebSocket, code: int, message: str) -> None:
    try:
        await ws.send_json({"type": "error", "message": message})
        await ws.close(code=code, reason=message[:120])
    except Exception:  # the client is already gone
        pass


class Session:
    """One stream's state: options, the recogniser, audio not yet decoded, and the clocks."""

    def __init__(self, server: Server, ws: WebSocket) -> None:
        self.server, self.ws, self.limits = server, ws, server.limits
        self.options = dict(ws.query_params)
        self.stream: PooledStream | None = None
        self.pending: list[bytes] = []  # PCM received, not yet decoded
        self.pending_samples = 0
        self.carry = b""  # an odd byte left over from the last message
        self.received = 0  # samples
        self.opened = time.monotonic()
        self.key: tuple | None = None  # the search's key in server.searches
        self.working = False  # a job of this stream's may still be running in a thread

    async def run(self) -> None:
        try:
            served = self.served = self.server.model(self.options.get("model"))
        except HTTPProblem as err:
            raise StreamClosed(1008 if err.status == 404 else 1003, err.message) from None
        rate = served.recognizer.sample_rate
        asked = self.options.get("sample_rate", str(rate))
        if not asked.isdigit() or not 8000 <= int(asked) <= 96000:
            raise StreamClosed(1003, f"sample_rate must be a number of Hz from 8000 to 96000, got {asked[:10]!r}")
        self.input_rate = int(asked)
        self.resampler = StreamResampler(self.input_rate, rate)
        if served.streaming:
            raise StreamClosed(1003, served.streaming)
        await self.ws.send_json({"type": "ready", "model": served.name, "sample_rate": self.input_rate,
                                 "partial_seconds": self.limits.partial_seconds})
        while True:
            message = await self._receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("bytes") is not None:
                await self._audio(message["bytes"])
            elif message.get("text") is not None:
                if await self._command(message["text"]):
                    return

    async def _receive(self) -> dict:
        left = self.limits.stream_max_wall_seconds - (time.monotonic() - self.opened)
        if left <= 0:
            raise StreamClosed(1008, f"the stream was open longer than {self.limits.stream_max_wall_seconds:g} s")
        try:
            return await asyncio.wait_for(self.ws.receive(), min(left, self.limits.stream_idle_seconds))
        except asyncio.TimeoutError:
            if left <= self.limits.stream_idle_seconds:
                raise StreamClosed(1008, f"the stream was open longer than "
                                         f"{self.limits.stream_max_wall_seconds:g} s") from None
            raise StreamClosed(1008, f"nothing received for {self.limits.stream_idle_seconds:g} s") from None

    async def _command(self, text: str) -> bool:
        """Handle a text message; True when the stream is over."""
        try:
            command = json.loads(text)
        except (ValueError, RecursionError):  # not JSON, or nested past the parser's depth
            command = {"type": text.strip()[:10]}  # a bare "end" is accepted
        if not isinstance(command, dict) or command.get("type") not in ("start", "end"):
            raise StreamClosed(1003, "expected a JSON message {\"type\": \"start\"} or {\"type\": \"end\"}, "
                                     "or binary 16-bit PCM")
        if command["type"] == "start":
            if self.stream is not None:
                raise StreamClosed(1003, "'start' must come before the audio")
            words = command.get("words")
            if isinstance(words, list):
                command["words"] = " ".join(str(w) for w in words)
            self.options.update({k: str(v) for k, v in command.items() if k in ("language", "words", "lexicon")})
            await self._start()
            return False
        await self._decode(final=True)
        return True

    async def _start(self) -> None:
        try:  # the word list and lexicon are parsed (and G2P run) in a worker thread
            self.key, self.stream = await self._work(_open, self.server, self.served, self.options, self.limits)
        except HTTPProblem as err:
            raise StreamClosed(1003, err.message) from None
        except SpeechtlError as err:
            raise StreamClosed(1003, str(err)[:300]) from None

    async def _audio(self, data: bytes) -> None:
        if self.stream is None:
            await self._start()
        data = self.carry + data
        self.carry = data[len(data) // 2 * 2:]
        whole = data[: len(data) // 2 * 2]
        self.received += len(whole) // 2
        if self.received / self.input_rate > self.limits.stream_max_seconds:
            raise StreamClosed(1009, f"more than {self.limits.stream_max_seconds:g} s of audio in one stream")
        self.pending.append(whole)  # converted and resampled in the decoding job, off the event loop
        self.pending_samples += len(whole) // 2
        if self.pending_samples >= self.limits.partial_seconds * self.input_rate:
            await self._decode(final=False)

    async def _decode(self, final: bool) -> None:
        if self.stream is None:
            await self._start()
        data = b"".join(self.pending)
        self.pending, self.pending_samples = [], 0
        result = await self._work(_step, self.stream, self.resampler, data, final)
        await self.ws.send_json(result)
        if final:
            await self.ws.close(code=1000)

    def give_back(self) -> None:
        """Return the stream's search to the server's idle ones (unless a step may still be using it)."""
        if self.stream is not None and not self.working:
            self.server.searches.give(self.key, self.stream.search)

    async def _work(self, fn, *args):
        self.working = True  # until the job is known to be over (after a timeout it may still be running)
        try:
            result = await self.server.slots.run(fn, *args, timeout=self.limits.request_timeout)
        except Busy:
            self.working = False  # never started
            raise StreamClosed(1013, "the server is busy; try again later") from None
        except asyncio.TimeoutError:
            raise StreamClosed(1011, f"decoding took longer than {self.limits.request_timeout:g} s") from None
        except Exception:
            self.working = False  # the job raised: it is over
            raise
        self.working = False
        return result


def _open(server: Server, served, options: dict, limits) -> tuple[tuple, PooledStream]:
    """``(search key, stream)``: an idle search for the same words when there is one, else a new one."""
    words = parse_words(options.get("words"), limits.max_words)
    lexicon = parse_lexicon(options.get("lexicon"), limits.max_lexicon_kb)
    with served.lock:  # language() may add a head, prepare() shares the recogniser's lexicon cache
        language = served.recognizer.language(options.get("language") or None)
        key = search_key(served.name, language, words, options.get("lexicon") if lexicon is not None else None)
        search = server.searches.take(key)
        return key, PooledStream(served.recognizer, language, lexicon, words, search=search)


def _step(stream: PooledStream, resampler: StreamResampler, data: bytes, final: bool) -> dict:
    """Decode the PCM received since the last step (at the stream's rate); the final result when ``final``."""
    samples = torch.from_numpy(np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0)
    samples = resampler.accept(samples)  # at the model's rate
    if final:
        samples = torch.cat([samples, resampler.finish()])
    samples = samples.numpy()
    partial = stream.accept(samples) if samples.size else stream.partial()
    if not final:
        return partial.as_dict()
    return {"type": "final", **stream.finish().as_dict()}
