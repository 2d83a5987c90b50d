"""The server's state: the served models, its limits, the API key and the work slots."""

from __future__ import annotations

import hmac

from speechtl.errors import SpeechtlError
from speechtl.serve.config import ServeLimits
from speechtl.serve.searches import StreamSearches
from speechtl.serve.work import ServedModel, WorkSlots


class HTTPProblem(Exception):
    """An answer with a 4xx/5xx status and a message for the client."""

    def __init__(self, status: int, message: str, headers: dict | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


class Server:
    """The state behind the routes: models, limits, key and the work slots."""

    def __init__(self, models: list[ServedModel], limits: ServeLimits | None = None,
                 api_key: str | None = None) -> None:
        if not models:
            raise SpeechtlError("serve at least one model")
        names = [m.name for m in models]
        if len(set(names)) != len(names):
            raise SpeechtlError(f"two models share a name: {names}; give each a distinct name")
        self.models = {m.name: m for m in models}
        self.limits = limits or ServeLimits()
        self.limits.validate()
        self.api_key = api_key
        self.slots = WorkSlots(self.limits.max_concurrent, self.limits.max_queue)
        self.streams = 0  # open WebSocket streams
        self.searches = StreamSearches(self.limits.max_streams)  # idle word searches for streams
        self.processes = None  # a DecodeProcesses running the uploads (None: worker threads)

    def shutdown(self) -> None:
        self.slots.shutdown()
        if self.processes is not None:
            self.processes.shutdown()

    def model(self, name: str | None) -> ServedModel:
        if not name:
            if len(self.models) == 1:
                return next(iter(self.models.values()))
            raise HTTPProblem(400, f"several models are served ({', '.join(self.models)}): name one with model=")
        if name not in self.models:
            raise HTTPProblem(404, f"no model {name[:60]!r}; served: {', '.join(self.models)}")
        return self.models[name]

    def authorised(self, headers) -> bool:
        """True when no key is set or the headers carry it (``Authorization: Bearer KEY`` or ``X-API-Key``).

        Never from the URL: query strings land in access logs and browser histories.
        """
        if not self.api_key:
            return True
        auth = headers.get("authorization", "")
        return self.key_matches(auth[7:] if auth.lower().startswith("bearer ") else headers.get("x-api-key", ""))

    def key_matches(self, given) -> bool:
        """True when no key is set or ``given`` is it (compared in constant time)."""
        if not self.api_key:
            return True
        return isinstance(given, str) and hmac.compare_digest(given.encode("utf-8", "replace"),
                                                              self.api_key.encode())
