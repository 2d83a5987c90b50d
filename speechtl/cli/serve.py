"""``speechtl serve --model M [--model M2] [--host 127.0.0.1] [--port 8000] [--api-key KEY]``.

Serves the HTTP API, the streaming WebSocket and the web page (:mod:`speechtl.serve`) on
uvicorn. It listens on this machine only unless ``--host`` says otherwise, and then only
with an API key (``--api-key`` or the ``SPEECHTL_API_KEY`` environment variable).
"""

from __future__ import annotations

import os
from pathlib import Path

from speechtl.cli import add_device_args, command, set_threads


def add_parser(sub) -> None:
    from speechtl.serve.config import ServeLimits

    p = command(sub, "serve", "serve models over HTTP and WebSocket, with a web page")
    p.add_argument("--model", action="append", required=True, metavar="[NAME=]PATH",
                   help="a model to serve (repeatable); NAME defaults to the file's (or its experiment's) name")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (not loopback: needs --api-key)")
    p.add_argument("--port", type=int, default=8000, help="port to listen on")
    p.add_argument("--api-key", help="key clients must send (Authorization: Bearer KEY); "
                                     "None: $SPEECHTL_API_KEY if set")
    limits = ServeLimits()
    for name, help in (("max_upload_mb", "largest upload (MB)"), ("max_audio_seconds", "longest upload (s)"),
                       ("request_timeout", "seconds to receive an upload, and to decode it"),
                       ("max_concurrent", "decodes running at once"), ("max_queue", "uploads waiting; more get 503"),
                       ("max_streams", "WebSocket streams open at once"),
                       ("stream_max_seconds", "audio in one stream (s)"),
                       ("stream_idle_seconds", "close a stream silent this long (s)")):
        default = getattr(limits, name)
        p.add_argument(f"--{name.replace('_', '-')}", type=type(default), default=default, help=help)
    add_device_args(p)
    p.set_defaults(func=run)


def model_name(spec: str) -> tuple[str, str]:
    """``(name, path)`` of a ``--model`` value: ``NAME=PATH``, or the name taken from the path."""
    if "=" in spec and not Path(spec).exists():
        name, path = spec.split("=", 1)
        return name, path
    path = Path(spec)
    stem = path.name.removesuffix(".safetensors").removesuffix(".json")
    return (path.resolve().parent.name if stem == "model" else stem), spec


def run(args) -> int:
    import dataclasses

    import uvicorn

    from speechtl.serve.app import create_app
    from speechtl.serve.config import ServeLimits, check_bind
    from speechtl.serve.server import Server
    from speechtl.serve.work import ServedModel

    api_key = args.api_key or os.environ.get("SPEECHTL_API_KEY") or None
    check_bind(args.host, api_key)
    set_threads(args)
    limits = ServeLimits(**{f.name: getattr(args, f.name) for f in dataclasses.fields(ServeLimits)
                            if hasattr(args, f.name)})
    limits.validate()
    models = [ServedModel.load(path, name, args.device or "cpu") for name, path in map(model_name, args.model)]
    server = Server(models, limits, api_key)
    print(f"speechtl serve: {', '.join(server.models)} on http://{args.host}:{args.port}/", flush=True)
    uvicorn.run(create_app(server), host=args.host, port=args.port, log_level="info",
                limit_concurrency=limits.max_concurrent + limits.max_queue + limits.max_streams + 16,
                timeout_keep_alive=5, ws_max_size=limits.max_message_kb * 1024, ws_ping_interval=20,
                ws_ping_timeout=20)
    return 0
