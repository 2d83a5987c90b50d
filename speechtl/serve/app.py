"""The HTTP API and the web page (Starlette).

Routes:

* ``GET /``: the web page (``static/index.html``, with its script and style; nothing from elsewhere).
* ``GET /health``: ``{"status": "ok", ...}``.
* ``GET /v1/models``: each model's name, languages, phoneme inventories and whether it streams.
* ``POST /v1/transcribe``: audio as the raw body (``Content-Type: audio/*`` or
  ``application/octet-stream``, options in the query string) or as ``multipart/form-data``
  (an ``audio`` file and the options as fields). Options: ``model`` (optional with one model),
  ``language``, ``strict`` (true: a lexicon phoneme the model lacks is refused instead of mapped to
  the nearest), ``words`` (separated by spaces, commas or newlines) and ``lexicon`` (its text,
  ``word p1 p2 ...`` per line). Answers the transcript: words with ``start``/``end`` seconds,
  ``phonemes`` and ``confidence``.
* ``WS /v1/stream``: see :mod:`speechtl.serve.stream`.

Errors are JSON ``{"error": message}`` with a 4xx status: 400 bad audio or options, 401 a
missing or wrong API key, 404 an unknown model, 408 a body that arrives too slowly, 413 too
large or too long, 415 a content type that is not audio, 503 busy (with ``Retry-After``),
504 decoding past the request timeout. Anything unexpected is logged and answers 500; the
server keeps running.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
from importlib import resources

import numpy as np
import soundfile as sf
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute

from speechtl.errors import SpeechtlError
from speechtl.serve.config import ServeLimits
from speechtl.serve.server import HTTPProblem, Server, parse_lexicon, parse_words
from speechtl.serve.stream import stream_endpoint
from speechtl.serve.work import Busy, ServedModel

log = logging.getLogger(__name__)

AUDIO_TYPES = ("audio/", "application/octet-stream")


def problem(status: int, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status, headers=headers)


def read_audio(data: bytes, limits: ServeLimits) -> tuple[np.ndarray, int]:
    """Samples ``(samples,)`` or ``(samples, channels)`` and rate of an uploaded file, within the limits."""
    if not data:
        raise HTTPProblem(400, "no audio in the request")
    try:
        info = sf.info(io.BytesIO(data))
        if info.frames / info.samplerate > limits.max_audio_seconds:
            raise HTTPProblem(413, f"{info.frames / info.samplerate:.1f} s of audio; at most "
                                   f"{limits.max_audio_seconds:g} s per request (stream longer audio)")
        samples, rate = sf.read(io.BytesIO(data), dtype="float32")
    except HTTPProblem:
        raise
    except Exception as err:  # libsndfile's errors for bytes that are not audio
        reason = str(err).rsplit(": ", 1)[-1]  # without the repr of the in-memory file
        raise HTTPProblem(400, f"not audio that libsndfile reads (WAV, FLAC, OGG, MP3...): {reason[:200]}") from None
    if samples.size == 0:
        raise HTTPProblem(400, "the audio holds no samples")
    return samples, rate


async def read_body(request: Request, limits: ServeLimits) -> bytes:
    """The whole body, refused past ``max_upload_bytes`` (413) or ``request_timeout`` (408)."""
    size = request.headers.get("content-length")
    if size is not None and not size.isdigit():
        raise HTTPProblem(400, f"Content-Length {size[:20]!r} is not a number")
    if size is not None and int(size) > limits.max_upload_bytes:
        raise HTTPProblem(413, f"the upload is larger than {limits.max_upload_mb:g} MB")

    async def collect() -> bytes:
        chunks, total = [], 0
        async for chunk in request.stream():
            total += len(chunk)
            if total > limits.max_upload_bytes:
                raise HTTPProblem(413, f"the upload is larger than {limits.max_upload_mb:g} MB")
            chunks.append(chunk)
        return b"".join(chunks)

    try:
        return await asyncio.wait_for(collect(), limits.request_timeout)
    except asyncio.TimeoutError:
        raise HTTPProblem(408, f"the upload did not arrive within {limits.request_timeout:g} s") from None


async def form_fields(request: Request, body: bytes, limits: ServeLimits) -> tuple[bytes, dict]:
    """``(audio bytes, options)`` of a multipart form whose body was already read."""
    async def replay():
        return {"type": "http.request", "body": body, "more_body": False}

    form = await Request(request.scope, replay).form(max_files=1, max_fields=10,
                                                     max_part_size=limits.max_upload_bytes)
    upload = form.get("audio")
    if upload is None or isinstance(upload, str):
        raise HTTPProblem(400, "the form has no 'audio' file field")
    data = await upload.read()
    return data, {k: v for k, v in form.items() if isinstance(v, str)}


def create_app(server: Server) -> Starlette:
    """The ASGI application serving ``server``'s models."""
    async def transcribe(request: Request) -> Response:
        if not server.authorised(request.headers, request.query_params):
            return problem(401, "a valid API key is required (Authorization: Bearer KEY)")
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind != "multipart/form-data" and not kind.startswith(AUDIO_TYPES):
            return problem(415, f"expected an audio file (audio/*, application/octet-stream or multipart/form-data "
                                f"with an 'audio' field), got {kind[:60]!r}")
        try:
            body = await read_body(request, server.limits)
            if kind == "multipart/form-data":
                data, options = await form_fields(request, body, server.limits)
            else:
                data, options = body, dict(request.query_params)
            served = server.model(options.get("model"))
            words = parse_words(options.get("words"), server.limits.max_words)
            lexicon = parse_lexicon(options.get("lexicon"))
            samples, rate = read_audio(data, server.limits)
            language = options.get("language") or None
            strict = str(options.get("strict", "")).lower() in ("1", "true", "yes")
            result = await server.slots.run(_transcribe, served, samples, rate, language, lexicon, words, strict,
                                            timeout=server.limits.request_timeout)
        except HTTPProblem as err:
            return problem(err.status, err.message, err.headers)
        except ClientDisconnect:
            return problem(400, "the client went away before the upload was complete")
        except Busy:
            return problem(503, "the server is busy; try again shortly", {"Retry-After": "1"})
        except asyncio.TimeoutError:
            return problem(504, f"decoding took longer than {server.limits.request_timeout:g} s")
        except SpeechtlError as err:  # bad language, lexicon line, audio content: the user's to fix
            return problem(400, str(err)[:500])
        except (MultiPartException, HTTPException) as err:  # starlette's form parser on a malformed form
            return problem(400, f"malformed form: {str(getattr(err, 'detail', err))[:200]}")
        except Exception:
            log.exception("transcribe failed")
            return problem(500, "internal error (logged on the server)")
        return JSONResponse({"model": served.name, **result})

    async def models(request: Request) -> Response:
        if not server.authorised(request.headers, request.query_params):
            return problem(401, "a valid API key is required (Authorization: Bearer KEY)")
        return JSONResponse({"models": [m.describe() for m in server.models.values()]})

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "models": len(server.models), "jobs": server.slots.active,
                             "streams": server.streams})

    async def page(request: Request) -> Response:
        return _static("index.html", "text/html; charset=utf-8")

    async def script(request: Request) -> Response:
        return _static("app.js", "text/javascript; charset=utf-8")

    async def style(request: Request) -> Response:
        return _static("app.css", "text/css; charset=utf-8")

    routes = [Route("/", page), Route("/app.js", script), Route("/app.css", style), Route("/health", health),
              Route("/v1/models", models), Route("/v1/transcribe", transcribe, methods=["POST"]),
              WebSocketRoute("/v1/stream", stream_endpoint(server))]
    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        server.slots.shutdown()

    return Starlette(routes=routes, lifespan=lifespan)


def _transcribe(served: ServedModel, samples: np.ndarray, rate: int, language, lexicon, words,
                strict: bool = False) -> dict:
    with served.lock:  # the recogniser's searches run one utterance at a time
        return served.recognizer.transcribe(samples, language, lexicon, words, sample_rate=rate,
                                            strict=strict).as_dict()


def _static(name: str, media_type: str) -> Response:
    text = resources.files("speechtl.serve").joinpath("static", name).read_text(encoding="utf-8")
    return Response(text, media_type=media_type, headers={"Cache-Control": "no-cache",
                                                          "Content-Security-Policy": "default-src 'self'; "
                                                          "media-src 'self' blob:; connect-src 'self'"})
