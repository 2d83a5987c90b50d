"""One upload, from its bytes to its transcript: the part of a request that costs CPU.

The event loop only receives the body (:func:`read_body`, bounded in size and time); the
rest (parsing the form, the word list and the lexicon, reading and resampling the audio,
G2P and decoding) is :func:`transcribe_upload`, run in a work slot
(:class:`~speechtl.serve.work.WorkSlots`), so a large form or a long word list never stalls
``/health`` or another client, and counts against the same bound as decoding. Each input has
its own limit, named in the 4xx answer past it.
"""

from __future__ import annotations

import asyncio
import io
import re

import numpy as np
import soundfile as sf
import torch
from starlette.datastructures import Headers
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import ClientDisconnect, Request

from speechtl.data.audio import MAX_CHANNELS, to_mono
from speechtl.data.features import check_bandwidth
from speechtl.data.resampling import resample
from speechtl.decoding.recognizer import Transcript
from speechtl.errors import SpeechtlError
from speechtl.serve.config import ServeLimits
from speechtl.serve.server import HTTPProblem, Server
from speechtl.serve.work import Busy, ServedModel
from speechtl.text.lexicon import Lexicon

MIN_RATE, MAX_RATE = 4000, 192000  # upload sample rates (each resampled at bounded memory)
_BLOCK = 1 << 16  # frames read (and downmixed) at a time: a many-channel file is never whole in memory


async def read_body(request: Request, limits: ServeLimits) -> bytes:
    """The whole body, refused past ``max_upload_bytes`` (413) or ``request_timeout`` (408)."""
    size = request.headers.get("content-length")
    if size is not None and not size.isdigit():
        raise HTTPProblem(400, f"Content-Length {size[:20]!r} is not a number")
    if size is not None and int(size) > limits.max_upload_bytes:
        raise HTTPProblem(413, f"the upload is larger than {limits.max_upload_mb:g} MB (--max-upload-mb)")

    async def collect() -> bytes:
        chunks, total = [], 0
        async for chunk in request.stream():
            total += len(chunk)
            if total > limits.max_upload_bytes:
                raise HTTPProblem(413, f"the upload is larger than {limits.max_upload_mb:g} MB (--max-upload-mb)")
            chunks.append(chunk)
        return b"".join(chunks)

    try:
        return await asyncio.wait_for(collect(), limits.request_timeout)
    except asyncio.TimeoutError:
        raise HTTPProblem(408, f"the upload did not arrive within {limits.request_timeout:g} s") from None


def parse_form(body: bytes, headers: Headers, limits: ServeLimits, file_field: str) -> tuple[bytes, dict]:
    """``(file bytes, text fields)`` of a multipart form (in a worker thread: its own event loop)."""
    # twice the larger text limit: enough for the checks that name each limit, small enough to hold
    field_bytes = 2 * max(limits.max_lexicon_kb * 1024, limits.max_words * 101) + 4096

    async def stream():
        yield body

    async def parse():
        form = await MultiPartParser(headers, stream(), max_files=1, max_fields=10,
                                     max_part_size=field_bytes).parse()
        upload = form.get(file_field)
        if upload is None or isinstance(upload, str):
            raise HTTPProblem(400, f"the form has no {file_field!r} file field")
        return await upload.read(), {k: v for k, v in form.items() if isinstance(v, str)}

    try:
        return asyncio.run(parse())
    except MultiPartException as err:
        if "maximum size" in str(err):
            raise HTTPProblem(413, f"a form field is larger than {field_bytes // 1024} kB "
                                   "(--max-lexicon-kb, --max-words)") from None
        raise HTTPProblem(400, f"malformed form: {str(err)[:200]}") from None


def parse_words(text: str | None, limit: int) -> list[str] | None:
    """A word list from ``text`` (spaces, commas or newlines between words); ``None`` for none."""
    if text is None or not text.strip():
        return None
    if len(text) > limit * 101:
        raise HTTPProblem(413, f"the word list is longer than {limit * 101} characters; at most {limit} words "
                               "per request (--max-words)")
    words = list(dict.fromkeys(w for w in re.split(r"[\s,]+", text) if w))
    if len(words) > limit:
        raise HTTPProblem(413, f"{len(words)} words given; at most {limit} per request (--max-words)")
    if any(len(w) > 100 for w in words):
        raise HTTPProblem(400, "a word longer than 100 characters")
    return words


def parse_lexicon(text: str | None, limit_kb: int) -> Lexicon | None:
    """A lexicon from its text (``word p1 p2 ...`` per line), at most ``limit_kb`` kB."""
    if text is None or not text.strip():
        return None
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > limit_kb * 1024:
        raise HTTPProblem(413, f"the lexicon is {size // 1024} kB; at most {limit_kb} kB per request "
                               "(--max-lexicon-kb)")
    return Lexicon.parse(text.splitlines(), "lexicon")


def read_audio(data: bytes, limits: ServeLimits) -> tuple[np.ndarray, int]:
    """Mono float32 samples ``(samples,)`` and rate of an uploaded file, within the limits.

    Read in blocks, each downmixed as it comes, so a many-channel file costs its mono size.
    """
    if not data:
        raise HTTPProblem(400, "no audio in the request")
    try:
        info = sf.info(io.BytesIO(data))
        if info.frames / info.samplerate > limits.max_audio_seconds:
            raise HTTPProblem(413, f"{info.frames / info.samplerate:.1f} s of audio; at most "
                                   f"{limits.max_audio_seconds:g} s per request (--max-audio-seconds; "
                                   "stream longer audio)")
        if not MIN_RATE <= info.samplerate <= MAX_RATE:
            raise HTTPProblem(400, f"audio at {info.samplerate} Hz; accepted rates are {MIN_RATE} to {MAX_RATE} Hz")
        if info.channels > MAX_CHANNELS:
            raise HTTPProblem(400, f"{info.channels} channels; at most {MAX_CHANNELS}")
        blocks = [to_mono(b) for b in sf.blocks(io.BytesIO(data), blocksize=_BLOCK, dtype="float32")]
    except HTTPProblem:
        raise
    except Exception as err:  # libsndfile's errors for bytes that are not audio
        reason = str(err).rsplit(": ", 1)[-1]  # without the repr of the in-memory file
        raise HTTPProblem(400, f"not audio that libsndfile reads (WAV, FLAC, OGG, MP3...): {reason[:200]}") from None
    samples = np.concatenate(blocks) if blocks else np.zeros(0, np.float32)
    if samples.size == 0:
        raise HTTPProblem(400, "the audio holds no samples")
    return samples, info.samplerate


def to_model_rate(samples: np.ndarray, rate: int, served: ServedModel) -> np.ndarray:
    """``samples`` at ``rate`` resampled to the model's rate at bounded memory (whatever the rate pair)."""
    check_bandwidth("upload", rate, served.recognizer.features)
    target = served.recognizer.sample_rate
    if rate == target:
        return samples
    return resample(torch.from_numpy(samples), rate, target).numpy()


def transcribe_upload(server: Server, body: bytes, headers: Headers, query: dict, file_field: str = "audio",
                      any_model: bool = False) -> tuple[ServedModel, Transcript, dict]:
    """``(model, transcript, options)`` of one upload: a raw audio body or a multipart form.

    ``any_model``: a ``model`` that is not served means the default one (OpenAI clients send ``whisper-1``).

    Runs in a worker thread. Raises :class:`HTTPProblem` (or a ``SpeechtlError``) for the client.
    """
    limits = server.limits
    if headers.get("content-type", "").split(";")[0].strip().lower() == "multipart/form-data":
        data, options = parse_form(body, headers, limits, file_field)
    else:
        data, options = body, dict(query)
    name = options.get("model")
    served = server.model(None if any_model and name not in server.models else name)
    words = parse_words(options.get("words"), limits.max_words)
    lexicon = parse_lexicon(options.get("lexicon"), limits.max_lexicon_kb)
    samples, rate = read_audio(data, limits)
    samples = to_model_rate(samples, rate, served)
    language = options.get("language") or None
    strict = str(options.get("strict", "")).lower() in ("1", "true", "yes")
    with served.lock:  # the recogniser's searches run one utterance at a time
        transcript = served.recognizer.transcribe(samples, language, lexicon, words,
                                                  sample_rate=served.recognizer.sample_rate, strict=strict)
    return served, transcript, options


async def run_upload(server: Server, request: Request, file_field: str = "audio",
                     accepted: tuple[str, ...] = ("audio/", "application/octet-stream", "multipart/form-data"),
                     any_model: bool = False) -> tuple[ServedModel, Transcript, dict]:
    """Receive ``request``'s body and transcribe it in a work slot; every failure as :class:`HTTPProblem`."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if not kind.startswith(accepted):
        raise HTTPProblem(415, f"expected {' or '.join(accepted)} (an audio file, or a form with a "
                               f"{file_field!r} file field), got {kind[:60]!r}")
    try:
        body = await read_body(request, server.limits)
        if server.processes is None:
            return await server.slots.run(transcribe_upload, server, body, request.headers, dict(request.query_params),
                                          file_field, any_model, timeout=server.limits.request_timeout)
        return await server.processes.transcribe(server, body, request.headers, dict(request.query_params),
                                                 file_field, any_model)
    except ClientDisconnect:
        raise HTTPProblem(400, "the client went away before the upload was complete") from None
    except Busy:
        raise HTTPProblem(503, f"the server is busy ({server.limits.max_concurrent} running, "
                               f"{server.limits.max_queue} waiting); try again shortly", {"Retry-After": "1"}) from None
    except asyncio.TimeoutError:
        raise HTTPProblem(504, f"the request waited and decoded longer than {server.limits.request_timeout:g} s "
                               "(--request-timeout)", {"Retry-After": "5"}) from None
    except SpeechtlError as err:  # bad language, lexicon line, audio content: the user's to fix
        raise HTTPProblem(400, str(err)[:500]) from None
