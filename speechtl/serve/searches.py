"""Word searches for streams, built before they are needed and reused, so opening a stream never stalls the server.

torchaudio's decoder construction (flashlight's trie over the lexicon) keeps Python's GIL for
the whole call: 1.9 s for the 20,000-word shipped English lexicon on the 2-core VM, during which
the event loop (in another thread) answers nothing, ``/health`` included. A search runs one
stream at a time, so the server keeps idle searches by (model, language, word list, lexicon):

* each served language's default search (its shipped lexicon, for a stream without a word list)
  is built ``max_streams`` times at start-up, before the port accepts connections
  (:meth:`StreamSearches.prebuild`): at most ``max_streams`` streams are open, so one is always idle;
* a stream gives its search back when it ends (the next ``begin()`` resets it), and searches for
  other word lists are kept too, at most ``max_streams`` of them (least recently used dropped).

A stream with a word list or lexicon not seen before still builds its own search (in a worker
thread: short for a word list, about 0.1 ms per lexicon word, the GIL held throughout), and so
does a default one past :data:`PREBUILD_LIMIT` (a model of many languages: the first languages
are built ahead, at most 16 searches in all, about 400 MB).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from speechtl.decoding.decoders import Decoder
from speechtl.decoding.isolated import word_decoder
from speechtl.decoding.streaming import StreamingRecognizer
from speechtl.errors import SpeechtlError
from speechtl.text.lexicon import Lexicon

PREBUILD_LIMIT = 16  # default searches built at start-up, over every model and language (about 25 MB and 2 s each)


@dataclass
class Search:
    """A built word search and what the stream needs beside it."""

    lexicon: Lexicon  # the words it spells (the stream aligns its final words with it)
    notes: list[str]
    decoder: Decoder  # the decoding mode's (speechtl.decoding.decoders); one search at a time


def search_key(model: str, language: str, words: list[str] | None, lexicon_text: str | None,
               strict: bool = False) -> tuple:
    """What makes two streams' searches interchangeable (the language already resolved)."""
    return (model, language, None if words is None else tuple(words), (lexicon_text or None), strict)


class StreamSearches:
    """Idle searches by :func:`search_key`; the default ones are kept for good, the others bounded."""

    def __init__(self, others: int = 4) -> None:
        self.others = others
        self.idle: OrderedDict[tuple, list[Search]] = OrderedDict()
        self.defaults: set[tuple] = set()
        self.lock = threading.Lock()  # taken and given from worker threads

    def take(self, key: tuple) -> Search | None:
        with self.lock:
            free = self.idle.get(key)
            if not free:
                return None
            self.idle.move_to_end(key)
            return free.pop()

    def give(self, key: tuple, search: Search) -> None:
        with self.lock:
            self.idle.setdefault(key, []).append(search)
            self.idle.move_to_end(key)
            while sum(len(v) for k, v in self.idle.items() if k not in self.defaults) > self.others:
                oldest = next(k for k in self.idle if k not in self.defaults)
                self.idle[oldest].pop(0)
                if not self.idle[oldest]:
                    del self.idle[oldest]

    def prebuild(self, models, count: int, limit: int = PREBUILD_LIMIT) -> int:
        """Build ``count`` default searches for each language of each model in ``models`` that streams
        (``ServedModel`` objects), at most ``limit`` in all; the number built."""
        built = 0
        for served in models:
            if served.streaming:
                continue
            rec = served.recognizer
            for language in rec.languages:
                try:
                    prepared = rec.prepare(language)
                except SpeechtlError:  # a head without a shipped lexicon (a universal phoneme head): words needed
                    continue
                key = search_key(served.name, language, None, None)
                self.defaults.add(key)
                for _ in range(min(count, limit - built)):
                    decoder = word_decoder(rec.model.inventories[language].tokens, prepared.lexicon, rec.config)
                    self.give(key, Search(prepared.lexicon, list(prepared.notes), decoder))
                    built += 1
        return built


@dataclass
class PooledStream(StreamingRecognizer):
    """A :class:`StreamingRecognizer` whose word search comes ready-built (``search``) when one is idle."""

    search: Search | None = None

    def _search(self):
        if self.search is None:  # none idle: build one, and keep it for the pool
            notes, lexicon, decoder = super()._search()
            self.search = Search(lexicon, list(notes), decoder)
            return notes, lexicon, decoder
        return list(self.search.notes), self.search.lexicon, self.search.decoder
