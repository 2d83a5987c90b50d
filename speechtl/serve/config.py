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
    request_timeout: float = 60.0  # seconds to receive a body, and again to decode it (408 / 504 after)
    max_concurrent: int = 2  # decodes running at once (uploads and stream steps)
    max_queue: int = 8  # uploads waiting for a slot; more answer 503 at once
    max_streams: int = 4  # WebSocket streams open at once; more are closed with 1013 (try again later)
    stream_max_seconds: float = 600.0  # audio in one stream; more closes it (1009)
    stream_idle_seconds: float = 10.0  # a stream that sends nothing this long is closed (1008)
    stream_max_wall_seconds: float = 900.0  # a stream is closed after this long, whatever it sends (1008)
    max_message_kb: int = 512  # one WebSocket message
    max_words: int = 20000  # words in a request's word list
    partial_seconds: float = 0.25  # a stream answers with a partial after this much new audio

    def validate(self) -> None:
        positive = {k: v for k, v in vars(self).items() if k != "max_queue" and not v > 0}
        if positive:
            raise ServeError(f"server limits must be positive: {', '.join(f'{k}={v}' for k, v in positive.items())}")
        if self.max_queue < 0:
            raise ServeError("max_queue must be >= 0")

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)


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
