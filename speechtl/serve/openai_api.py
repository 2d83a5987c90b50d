"""``POST /v1/audio/transcriptions``, compatible with OpenAI's (and whisper.cpp's, vLLM's) route.

A multipart form: ``file`` (the audio), ``model`` (a served model's name; any other name, such
as ``whisper-1``, means the only served model), ``language``, ``response_format`` (``json``,
the default, ``text``, ``srt``, ``vtt`` or ``verbose_json`` with segments and words), and
speechtl's own ``words`` / ``lexicon`` fields. ``prompt``, ``temperature`` and
``timestamp_granularities[]`` are accepted and ignored (there is no language model to prompt;
``verbose_json`` always holds both segments and words), which the ``verbose_json`` answer notes.
Errors follow OpenAI's shape: ``{"error": {"message", "type", "code"}}``. Existing SDKs work:
``OpenAI(base_url="http://127.0.0.1:8000/v1", api_key=KEY).audio.transcriptions.create(...)``.

:data:`OPENAPI` is the OpenAPI 3.1 document served at ``/openapi.json``.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from speechtl.decoding.formats import srt
from speechtl.serve.server import HTTPProblem, Server
from speechtl.serve.upload import run_upload

log = logging.getLogger(__name__)

FORMATS = ("json", "text", "srt", "vtt", "verbose_json")
IGNORED = ("prompt", "temperature", "timestamp_granularities[]")


def openai_error(status: int, message: str, headers: dict | None = None) -> JSONResponse:
    kind = "invalid_request_error" if status < 500 else "server_error"
    return JSONResponse({"error": {"message": message, "type": kind, "code": status}}, status, headers=headers)


def segments(transcript, max_words: int = 8, max_gap: float = 1.0) -> list[dict]:
    """Word groups as OpenAI's ``verbose_json`` segments (the same groups as the SRT cues)."""
    groups: list[list] = []
    for w in transcript.words:
        if not groups or len(groups[-1]) >= max_words or w.start - groups[-1][-1].end > max_gap:
            groups.append([])
        groups[-1].append(w)
    return [{"id": i, "seek": 0, "start": round(g[0].start, 3), "end": round(g[-1].end, 3),
             "text": " ".join(w.word for w in g), "tokens": [], "temperature": 0.0,
             "avg_logprob": 0.0, "compression_ratio": 1.0, "no_speech_prob": 0.0,
             "confidence": round(sum(w.confidence for w in g) / len(g), 3)} for i, g in enumerate(groups)]


def vtt(transcript) -> str:
    """WebVTT: the SRT cues with ``.`` before the milliseconds and a header."""
    cues = srt(transcript).split("\n\n")
    body = "\n\n".join("\n".join(line.replace(",", ".") if "-->" in line else line for line in cue.splitlines()[1:])
                       for cue in cues if cue.strip())
    return "WEBVTT\n\n" + body + ("\n" if body else "")


def render(transcript, response_format: str, ignored: list[str]) -> Response:
    """The answer in ``response_format``."""
    if response_format == "text":
        return PlainTextResponse(transcript.text + "\n")
    if response_format == "srt":
        return PlainTextResponse(srt(transcript))
    if response_format == "vtt":
        return Response(vtt(transcript), media_type="text/vtt")
    if response_format == "json":
        return JSONResponse({"text": transcript.text})
    notes = list(transcript.notes) + [f"{name} ignored (no language model to condition)" for name in ignored]
    return JSONResponse({"task": "transcribe", "language": transcript.language,
                         "duration": round(transcript.duration, 3), "text": transcript.text,
                         "segments": segments(transcript),
                         "words": [{"word": w.word, "start": round(w.start, 3), "end": round(w.end, 3)}
                                   for w in transcript.words], "notes": notes})


def transcriptions_endpoint(server: Server):
    """The route's handler for ``server``."""

    async def transcriptions(request: Request) -> Response:
        if "api_key" in request.query_params or not server.authorised(request.headers):
            return openai_error(401, "a valid API key is required (Authorization: Bearer KEY), never in the URL")
        try:
            _, transcript, options = await run_upload(server, request, file_field="file",
                                                      accepted=("multipart/form-data",), any_model=True)
            response_format = options.get("response_format") or "json"
            if response_format not in FORMATS:
                raise HTTPProblem(400, f"response_format {response_format[:40]!r}: expected one of {', '.join(FORMATS)}")
        except HTTPProblem as err:
            return openai_error(err.status, err.message, err.headers)
        except Exception:
            log.exception("transcriptions failed")
            return openai_error(500, "internal error (logged on the server)")
        return render(transcript, response_format, [k for k in IGNORED if options.get(k)])

    return transcriptions


def _op(summary: str, body: dict | None = None, answer: str = "application/json") -> dict:
    op = {"summary": summary, "responses": {"200": {"description": "OK", "content": {answer: {}}},
                                            "4XX": {"description": "a JSON error naming the problem"}}}
    if body:
        op["requestBody"] = {"required": True, "content": body}
    return op


_FORM = {"type": "object", "properties": {"language": {"type": "string"}, "words": {"type": "string"},
                                          "lexicon": {"type": "string"}, "model": {"type": "string"}}}
OPENAPI = {
    "openapi": "3.1.0",
    "info": {"title": "speechtl serve", "version": "1"},
    "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    "security": [{"bearer": []}],
    "paths": {
        "/health": {"get": _op("liveness, open jobs and streams")},
        "/v1/models": {"get": _op("served models: languages, inventories, streaming")},
        "/v1/transcribe": {"post": _op("words with times, phonemes and confidences", {
            "audio/*": {"schema": {"type": "string", "format": "binary"}},
            "multipart/form-data": {"schema": {**_FORM, "properties": {
                **_FORM["properties"], "audio": {"type": "string", "format": "binary"}}, "required": ["audio"]}}})},
        "/v1/audio/transcriptions": {"post": _op("OpenAI-compatible transcription", {
            "multipart/form-data": {"schema": {**_FORM, "properties": {
                **_FORM["properties"], "file": {"type": "string", "format": "binary"},
                "response_format": {"type": "string", "enum": list(FORMATS)},
                "prompt": {"type": "string", "description": "ignored"}}, "required": ["file"]}}})},
        "/v1/stream": {"get": _op("WebSocket: 16-bit PCM in, partial and final words out (see speechtl.serve.stream)")},
    },
}
