"""The server's limits: what one request or stream may cost, and how much work runs at once."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from speechtl.errors import SpeechtlError


class ServeError(SpeechtlError):
    """A server setting a user gave is out of range or unsafe."""


@dataclass
class ServeLimits:
    """Every bound the server enforces (``speechtl serve --help`` names the options that set them)."""

    max_upload_mb: float = 20.0  # request body size; more answers 413
    max_audio_seconds: float = 300.0  # audio in one upload; more answers 413
    request_timeout: float = 60.0  # seconds to receive a body, to wait in the queue and to decode (408 / 504 after)
    max_concurrent: int = 2  # jobs running at once (parsing, G2P and decoding of uploads, stream steps)
    max_queue: int = 32  # uploads waiting for a slot (up to request_timeout); more answer 503 at once
    max_streams: int = 4  # WebSocket streams open at once; more are closed with 1013 (try again later)
    stream_max_seconds: float = 600.0  # audio in one stream; more closes it (1009)
    stream_idle_seconds: float = 10.0  # a stream that sends nothing this long is closed (1008)
    stream_max_wall_seconds: float = 900.0  # a stream is closed after this long, whatever it sends (1008)
    max_message_kb: int = 512  # one WebSocket message
    max_words: int = 2000  # words in a request's word list (each may need G2P)
    max_lexicon_kb: int = 512  # a request's lexicon text
    max_connections: int = 1000  # open TCP connections (idle, slow or busy); more get 503 at once
    header_timeout: float = 10.0  # seconds for a connection to send a request's headers; then it is closed
    partial_seconds: float = 0.25  # a stream answers with a partial after this much new audio

    def validate(self) -> None:
        """Refuse values out of range (each message names the option), before anything starts."""
        for key, value in vars(self).items():
            low = 0 if key == "max_queue" else None
            high = UPPER.get(key)
            if not isinstance(value, (int, float)) or value != value or value in (float("inf"), float("-inf")):
                raise ServeError(f"--{key.replace('_', '-')} must be a finite number, got {value!r}")
            if (value < low) if low is not None else not value > 0:
                raise ServeError(f"--{key.replace('_', '-')} must be {'>= 0' if low is not None else 'positive'}, "
                                 f"got {value!r}")
            if high is not None and value > high:
                raise ServeError(f"--{key.replace('_', '-')} must be at most {high:g}, got {value!r}")

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)


# Upper bounds: past these a value is a typo or a way to exhaust memory, not a setting
UPPER = {"max_upload_mb": 1024, "max_audio_seconds": 4 * 3600, "request_timeout": 3600, "max_concurrent": 256,
         "max_queue": 10000, "max_streams": 1000, "stream_max_seconds": 24 * 3600,
         "stream_max_wall_seconds": 24 * 3600, "stream_idle_seconds": 3600, "max_message_kb": 64 * 1024,
         "max_words": 1_000_000, "max_lexicon_kb": 64 * 1024, "max_connections": 100_000, "header_timeout": 3600,
         "partial_seconds": 60}


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, api_key: str | None) -> None:
    """Refuse to listen beyond this machine without an API key (and refuse a key too short to matter)."""
    if api_key is not None and len(api_key) < 16:
        raise ServeError("--api-key must be at least 16 characters")
    if not is_loopback(host) and not api_key:
        raise ServeError(f"refusing to listen on {host!r} (reachable from other machines) without --api-key; "
                         "the default 127.0.0.1 is this machine only")
