"""Set-up shared by the server tests: an in-process ASGI client and a real uvicorn on loopback."""

from __future__ import annotations

import socket
import threading
import time
from contextlib import contextmanager
from typing import Iterator

from starlette.applications import Starlette
from starlette.testclient import TestClient

from speechtl.serve.app import create_app
from speechtl.serve.config import ServeLimits
from speechtl.serve.server import Server
from speechtl.serve.work import ServedModel


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def app_client(*models: ServedModel, api_key: str | None = None, cors_origins: tuple[str, ...] = (),
               **limits) -> tuple[Server, TestClient]:
    """A server for ``models`` with these :class:`ServeLimits` and a test client calling its app in-process."""
    server = Server(list(models), ServeLimits(**limits), api_key=api_key)
    return server, TestClient(create_app(server, cors_origins))


@contextmanager
def live_uvicorn(app: Starlette, **config) -> Iterator[int]:
    """``app`` served by uvicorn (in a thread of this process) on a free loopback port; yields the port.

    ``config``: more ``uvicorn.Config`` arguments (``http=``, ``timeout_keep_alive=``...).
    """
    import uvicorn

    runner = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning", **config))
    thread = threading.Thread(target=runner.run, daemon=True)
    thread.start()
    while not runner.started:
        if not thread.is_alive():  # e.g. the port was taken in between: say so rather than wait forever
            raise RuntimeError(f"uvicorn did not start on port {runner.config.port}")
        time.sleep(0.02)
    try:
        yield runner.config.port
    finally:
        runner.should_exit = True
        thread.join(5)
