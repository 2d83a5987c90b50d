"""uvicorn's HTTP/1.1 protocol with the two guards a server facing hostile clients needs.

uvicorn times out a kept-alive connection only after a response; one that connects and
sends nothing, or sends its headers a byte at a time (slowloris), is held for good, and its
``limit_concurrency`` turns every request away with a plain-text 503 once that many are
open. Here:

* a connection has ``header_timeout`` seconds, from its opening or from the first byte of
  its next request, to send complete request headers; then it is closed (with a JSON 408
  when it had sent part of a request);
* past ``max_connections`` open connections (HTTP and WebSocket), a new one is answered a
  JSON 503 with ``Retry-After`` and closed, so the cap holds without uvicorn's own.

The cap on work (decodes running and waiting) is the application's, well below this one
(:class:`~speechtl.serve.work.WorkSlots`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol


def _raw_response(status: int, reason: str, message: str, retry_after: int | None = None) -> bytes:
    body = json.dumps({"error": message}).encode()
    head = [f"HTTP/1.1 {status} {reason}", "Content-Type: application/json", f"Content-Length: {len(body)}",
            "Connection: close"] + ([f"Retry-After: {retry_after}"] if retry_after is not None else [])
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def guarded_protocol(max_connections: int, header_timeout: float) -> type:
    """An :class:`H11Protocol` subclass enforcing ``max_connections`` and ``header_timeout``."""
    busy = _raw_response(503, "Service Unavailable", f"the server holds {max_connections} connections; "
                         "try again shortly", retry_after=1)
    slow = _raw_response(408, "Request Timeout", f"the request headers did not arrive within {header_timeout:g} s")

    class GuardedH11Protocol(H11Protocol):
        """uvicorn's h11 protocol with a deadline for request headers and a cap on connections."""

        deadline: asyncio.TimerHandle | None = None
        partial = False  # bytes of the next request have arrived
        refused = False  # answered 503 (over the cap): what it sends is read and dropped

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            if len(self.connections) >= max_connections:
                # answer, end our side, and read what the client sends until it hangs up (a second
                # at most): closing with its request unread would reset the line before it reads the 503
                self.transport, self.refused = transport, True
                transport.write(busy)
                if transport.can_write_eof():
                    transport.write_eof()
                self.deadline = self.loop.call_later(1.0, transport.close)
                return
            super().connection_made(transport)
            self._watch()

        def data_received(self, data: bytes) -> None:
            if self.refused:
                return
            self.partial = True
            super().data_received(data)
            self._watch()

        def on_response_complete(self) -> None:
            self.partial = False
            super().on_response_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _watch(self) -> None:
            """Arm the deadline while the next request's headers are awaited; disarm once they are in."""
            waiting = self.conn.their_state is h11.IDLE and not self.transport.is_closing()
            if waiting and self.deadline is None:
                self.deadline = self.loop.call_later(header_timeout, self._expire)
            elif not waiting:
                self._disarm()

        def _disarm(self) -> None:
            if self.deadline is not None:
                self.deadline.cancel()
                self.deadline = None

        def _expire(self) -> None:
            self.deadline = None
            if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
                if self.partial and self.conn.our_state is h11.IDLE:
                    self.transport.write(slow)
                self.transport.close()

    return GuardedH11Protocol


class RedactKeys(logging.Filter):
    """Blanks ``api_key=...`` in logged request paths: a client that puts its key in a URL is refused,
    and its key still never reaches the log (uvicorn's access log records paths with their query)."""

    PATTERN = re.compile(r"(api_key=)[^&\s\"]*", re.IGNORECASE)

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(self.PATTERN.sub(r"\1[redacted]", a) if isinstance(a, str) else a
                                for a in record.args)
        if isinstance(record.msg, str):
            record.msg = self.PATTERN.sub(r"\1[redacted]", record.msg)
        return True


def redact_keys_in_logs() -> None:
    """Install :class:`RedactKeys` on uvicorn's loggers (access log, and its WebSocket lines)."""
    for name in ("uvicorn.access", "uvicorn.error"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactKeys) for f in logger.filters):
            logger.addFilter(RedactKeys())
