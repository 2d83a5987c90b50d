"""Uploads decoded in worker processes, so a long word search never holds the server's GIL.

torchaudio's CTC word search (flashlight) keeps Python's GIL for the whole of each call:
about 17 ms per second of audio here, 340 ms for a 20 s upload, during which a thread-based
server answers nothing, ``/health`` included. :class:`DecodeProcesses` runs each upload
(:func:`~speechtl.serve.upload.transcribe_upload`: form, lexicon, G2P, audio, decoding) in one
of ``max_concurrent`` processes that load the served models at start; the event loop only
receives bodies and sends answers. Streams stay in threads: each of their steps searches a
quarter of a second.

Only models loaded from a path can be served this way (each process loads its own copy).
"""

from __future__ import annotations

import ctypes
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor, wait

from starlette.datastructures import Headers

from speechtl.decoding.recognizer import Transcript
from speechtl.errors import SpeechtlError
from speechtl.serve.config import ServeLimits
from speechtl.serve.server import HTTPProblem, Server
from speechtl.serve.upload import transcribe_upload
from speechtl.serve.work import ServedModel

_SERVER = None  # the worker process's Server (models loaded by _load)


def _load(models: list[tuple[str, str, str]], limits: ServeLimits, threads: int) -> None:
    import torch

    global _SERVER
    if threads:
        torch.set_num_threads(threads)
    _SERVER = Server([ServedModel.load(path, name, device) for name, path, device in models], limits)


def _ready(seconds: float) -> bool:
    time.sleep(seconds)  # holds this worker, so that the next job starts (and loads) another
    return _SERVER is not None


def _trim() -> None:
    """Give the heap freed by a job back to the system (glibc keeps it, and the RSS would stay at its peak)."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


def _upload(body: bytes, headers: list[tuple[bytes, bytes]], query: dict, file_field: str, any_model: bool) -> tuple:
    """``("ok", model name, transcript, options)`` or ``("problem", status, message, headers)`` (both pickle)."""
    try:
        return _transcribe(body, headers, query, file_field, any_model)
    finally:
        del body
        _trim()


def _transcribe(body: bytes, headers: list[tuple[bytes, bytes]], query: dict, file_field: str,
                any_model: bool) -> tuple:
    try:
        served, transcript, options = transcribe_upload(_SERVER, body, Headers(raw=headers), query, file_field,
                                                        any_model)
    except HTTPProblem as err:
        return ("problem", err.status, err.message, err.headers)
    except SpeechtlError as err:  # bad language, lexicon line, audio content: the user's to fix
        return ("problem", 400, str(err)[:500], {})
    return ("ok", served.name, transcript, options)


class DecodeProcesses:
    """``count`` worker processes, each with its own copy of the served models."""

    def __init__(self, models: list[tuple[str, str, str]], limits: ServeLimits, count: int,
                 threads: int = 1) -> None:
        # spawn: a fork would copy the server's threads and event loop mid-flight
        self.count = count
        self.executor = ProcessPoolExecutor(count, mp_context=multiprocessing.get_context("spawn"),
                                            initializer=_load, initargs=(models, limits, threads))

    @classmethod
    def for_server(cls, server: Server, threads: int = 1) -> "DecodeProcesses":
        """``server.limits.max_concurrent`` processes serving ``server``'s models, started."""
        unloaded = [m.name for m in server.models.values() if m.path is None]
        if unloaded:
            raise SpeechtlError(f"models built in memory ({', '.join(unloaded)}) cannot be decoded in processes")
        pool = cls([(m.name, m.path, m.device) for m in server.models.values()], server.limits,
                   server.limits.max_concurrent, threads)
        pool.start()
        return pool

    async def transcribe(self, server: Server, body: bytes, headers: Headers, query: dict,
                         file_field: str, any_model: bool = False) -> tuple[ServedModel, Transcript, dict]:
        """:func:`~speechtl.serve.upload.transcribe_upload` in a process, within ``server``'s work slots."""
        answer = await server.slots.run(_upload, body, headers.raw, query, file_field, any_model,
                                        timeout=server.limits.request_timeout, executor=self.executor)
        if answer[0] == "problem":
            raise HTTPProblem(*answer[1:])
        return server.models[answer[1]], answer[2], answer[3]

    def start(self, timeout: float = 300) -> None:
        """Start every process and wait until each has loaded the models (a load error is raised here)."""
        jobs = [self.executor.submit(_ready, 0.5) for _ in range(self.count)]
        done, _ = wait(jobs, timeout)
        for job in done:
            job.result()

    def shutdown(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
