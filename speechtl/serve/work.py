"""The served models and the bounded pool of decoding threads.

A :class:`Recognizer` keeps one search per word set, and a search runs one
utterance at a time, so uploads to one model take its lock; streams build their
own search (:class:`~speechtl.decoding.streaming.StreamingRecognizer`). All
decoding runs in worker threads behind :class:`WorkSlots`: at most
``max_concurrent`` jobs run, at most ``max_queue`` wait, and the rest are told
at once that the server is busy. A job that outlives its caller's timeout keeps
its slot until it ends, so the bound holds.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from speechtl.decoding.recognizer import Recognizer
from speechtl.decoding.streaming import stream_refusal


@dataclass
class ServedModel:
    """One loaded model, by the name the API uses for it."""

    name: str
    recognizer: Recognizer
    lock: threading.Lock = field(default_factory=threading.Lock)
    path: str | None = None  # where it was loaded from (worker processes load it again)
    device: str = "cpu"

    @classmethod
    def load(cls, path: str | Path, name: str | None = None, device: str = "cpu") -> "ServedModel":
        return cls(name or Path(path).name, Recognizer.load(path, device=device), path=str(path), device=device)

    @property
    def streaming(self) -> str:
        """``""`` when the model can stream, else why not."""
        return stream_refusal(self.recognizer.model)

    def describe(self) -> dict:
        rec = self.recognizer
        return {"name": self.name, "languages": rec.languages, "sample_rate": rec.sample_rate,
                "frame_seconds": rec.frame_seconds,
                "inventories": {lang: inv.phonemes for lang, inv in rec.model.inventories.items()},
                "streaming": not self.streaming, "streaming_note": self.streaming}


class Busy(Exception):
    """Every slot is taken and the queue is full."""


class WorkSlots:
    """At most ``running`` jobs in threads, ``waiting`` more in line; beyond that :class:`Busy`."""

    def __init__(self, running: int, waiting: int) -> None:
        self.running, self.waiting = running, waiting
        self.executor = ThreadPoolExecutor(running, thread_name_prefix="speechtl-decode")
        self.active = 0  # jobs admitted and not finished (running or waiting)

    async def run(self, fn, *args, timeout: float, executor=None):
        """``fn(*args)`` in a worker thread (or ``executor``'s process); :class:`Busy` when full,
        :class:`TimeoutError` after ``timeout``.

        A job still waiting at its timeout is dropped; one already running finishes and frees its slot then.
        """
        if self.active >= self.running + self.waiting:
            raise Busy()
        loop = asyncio.get_running_loop()
        job = (executor or self.executor).submit(fn, *args)
        self.active += 1
        job.add_done_callback(lambda _: loop.call_soon_threadsafe(self._release))
        try:
            return await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(job)), timeout)
        except (asyncio.TimeoutError, asyncio.CancelledError):
            job.cancel()  # only succeeds while it waits
            raise

    def _release(self) -> None:
        self.active -= 1

    def shutdown(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
