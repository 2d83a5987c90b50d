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
* ``POST /v1/audio/transcriptions``: OpenAI's route (:mod:`speechtl.serve.openai_api`); ``GET /openapi.json``.

Errors are JSON ``{"error": message}`` with a 4xx status: 400 bad audio or options, 401 a
missing or wrong API key (or one in the URL: keys go in headers only), 404 an unknown model,
408 a body (or request headers) that arrive too slowly, 413 past a limit (upload size,
seconds, words, lexicon size: the message names the option), 415 a content type that is not
audio, 503 busy (past the queue or the connection cap, with ``Retry-After``), 504 past the
request timeout. Parsing, G2P and decoding run in worker threads (:mod:`speechtl.serve.upload`). Anything unexpected is logged and answers 500; the
server keeps running.
"""

from __future__ import annotations

import contextlib
import logging
from importlib import resources

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute

from speechtl.serve.openai_api import OPENAPI, transcriptions_endpoint
from speechtl.serve.server import HTTPProblem, Server
from speechtl.serve.stream import stream_endpoint
from speechtl.serve.upload import run_upload

log = logging.getLogger(__name__)

KEY_IN_URL = "the API key belongs in a header (Authorization: Bearer KEY), never in the URL (URLs are logged)"


def problem(status: int, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status, headers=headers)


def unauthorised(server: Server, request: Request) -> JSONResponse | None:
    """The 401 answer for a request without the key (or with it in the URL); ``None`` when authorised."""
    if "api_key" in request.query_params:
        return problem(401, KEY_IN_URL)
    if not server.authorised(request.headers):
        return problem(401, "a valid API key is required (Authorization: Bearer KEY)",
                       {"WWW-Authenticate": "Bearer"})
    return None


def create_app(server: Server, cors_origins: list[str] | tuple[str, ...] = ()) -> Starlette:
    """The ASGI application serving ``server``'s models.

    Args:
        cors_origins: web origins (``https://app.example``) whose pages may call the API; none by default.
    """
    async def transcribe(request: Request) -> Response:
        if (refused := unauthorised(server, request)) is not None:
            return refused
        try:
            served, transcript, _ = await run_upload(server, request)
        except HTTPProblem as err:
            return problem(err.status, err.message, err.headers)
        except Exception:
            log.exception("transcribe failed")
            return problem(500, "internal error (logged on the server)")
        return JSONResponse({"model": served.name, **transcript.as_dict()})

    async def models(request: Request) -> Response:
        if (refused := unauthorised(server, request)) is not None:
            return refused
        return JSONResponse({"models": [m.describe() for m in server.models.values()]})

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "models": len(server.models), "jobs": server.slots.active,
                             "streams": server.streams})

    async def openapi(request: Request) -> Response:
        return JSONResponse(OPENAPI)

    async def page(request: Request) -> Response:
        return _static("index.html", "text/html; charset=utf-8")

    async def script(request: Request) -> Response:
        return _static("app.js", "text/javascript; charset=utf-8")

    async def style(request: Request) -> Response:
        return _static("app.css", "text/css; charset=utf-8")

    routes = [Route("/", page), Route("/app.js", script), Route("/app.css", style), Route("/health", health),
              Route("/v1/models", models), Route("/v1/transcribe", transcribe, methods=["POST"]),
              WebSocketRoute("/v1/stream", stream_endpoint(server)),
              Route("/v1/audio/transcriptions", transcriptions_endpoint(server), methods=["POST"]),
              Route("/openapi.json", openapi)]
    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        server.shutdown()

    middleware = [Middleware(CORSMiddleware, allow_origins=list(cors_origins), allow_methods=["GET", "POST"],
                             allow_headers=["Authorization", "Content-Type", "X-API-Key"])] if cors_origins else []
    return Starlette(routes=routes, lifespan=lifespan, middleware=middleware)


def _static(name: str, media_type: str) -> Response:
    text = resources.files("speechtl.serve").joinpath("static", name).read_text(encoding="utf-8")
    return Response(text, media_type=media_type, headers={"Cache-Control": "no-cache",
                                                          "Content-Security-Policy": "default-src 'self'; "
                                                          "media-src 'self' blob:; connect-src 'self'"})
