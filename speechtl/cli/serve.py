"""``speechtl serve --model M [--model M2] [--host 127.0.0.1] [--port 8000] [--api-key-file F]``.

Serves the HTTP API, the streaming WebSocket and the web page (:mod:`speechtl.serve`) on
uvicorn. It listens on this machine only unless ``--host`` says otherwise, and then only
with an API key: from ``--api-key-file`` (best), ``$SPEECHTL_API_KEY``, or ``--api-key``
(shown to every user of the machine by ``ps``; a warning says so). Every option is checked
before anything loads, and the port is bound before the models load, so a mistake is one
line and not a traceback.
"""

from __future__ import annotations

import gc
import os
import socket
import sys
from pathlib import Path

from speechtl.cli import add_device_args, command, set_threads

# the option name and help of each server limit (speechtl.serve.config.ServeLimits)
LIMIT_OPTIONS = (
    ("max_upload_mb", "largest upload (MB)"), ("max_audio_seconds", "longest upload (s)"),
    ("request_timeout", "seconds to receive an upload, and again to wait for and finish its decoding"),
    ("max_concurrent", "jobs (parsing, G2P, decoding) running at once"),
    ("max_queue", "uploads waiting for a job slot; more get 503 with Retry-After"),
    ("max_streams", "WebSocket streams open at once"), ("stream_max_seconds", "audio in one stream (s)"),
    ("stream_idle_seconds", "close a stream silent this long (s)"),
    ("stream_max_wall_seconds", "close a stream open this long (s)"),
    ("max_message_kb", "largest WebSocket message (kB)"), ("max_words", "words in one request's word list"),
    ("max_lexicon_kb", "size of one request's lexicon (kB)"),
    ("max_connections", "open connections (idle ones included); more get 503 with Retry-After"),
    ("header_timeout", "seconds a connection has to send a request's headers"))


def add_parser(sub) -> None:
    from speechtl.serve.config import ServeLimits

    p = command(sub, "serve", "serve models over HTTP and WebSocket, with a web page")
    p.add_argument("--model", action="append", required=True, metavar="[NAME=]PATH",
                   help="a model to serve (repeatable); NAME defaults to the file's (or its experiment's) name")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (not loopback: needs an API key)")
    p.add_argument("--port", type=int, default=8000, help="port to listen on (1-65535)")
    p.add_argument("--api-key-file", type=Path, help="a file holding the key clients must send "
                                                     "(Authorization: Bearer KEY); else $SPEECHTL_API_KEY")
    p.add_argument("--api-key", help="the key itself (visible to other users in `ps`: prefer --api-key-file)")
    limits = ServeLimits()
    for name, help in LIMIT_OPTIONS:
        default = getattr(limits, name)
        p.add_argument(f"--{name.replace('_', '-')}", type=type(default), default=default, help=help)
    p.add_argument("--cors-origin", action="append", default=[], metavar="ORIGIN",
                   help="a web origin (https://app.example) whose pages may call the API (repeatable; none by default)")
    p.add_argument("--decode-threads", action="store_true",
                   help="decode uploads in threads of the server's process rather than in --max-concurrent worker "
                        "processes (less memory; a long word search then holds up every other request)")
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


def api_key(args) -> str | None:
    """The key from ``--api-key-file``, ``--api-key`` or ``$SPEECHTL_API_KEY`` (one source only)."""
    from speechtl.serve.config import ServeError

    if args.api_key_file and args.api_key:
        raise ServeError("give --api-key-file or --api-key, not both")
    if args.api_key_file:
        try:
            key = args.api_key_file.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as err:
            raise ServeError(f"--api-key-file {args.api_key_file}: cannot read it "
                             f"({getattr(err, 'strerror', None) or err})") from None
        if not key or "\n" in key:
            raise ServeError(f"--api-key-file {args.api_key_file}: expected the key alone on one line")
        return key
    if args.api_key:
        print("speechtl serve: warning: --api-key is visible to every user of this machine (ps, /proc); "
              "use --api-key-file or $SPEECHTL_API_KEY", file=sys.stderr)
        return args.api_key
    return os.environ.get("SPEECHTL_API_KEY") or None


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` (refused with one line when the port is bad or taken)."""
    from speechtl.serve.config import ServeError

    if not 1 <= port <= 65535:
        raise ServeError(f"--port must be from 1 to 65535, got {port}")
    try:
        info = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(info[0], socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(info[4])
    except OSError as err:
        raise ServeError(f"cannot listen on {host}:{port}: {err.strerror or err}") from None
    return sock


def run(args) -> int:
    import dataclasses

    import uvicorn

    from speechtl.serve.app import create_app
    from speechtl.serve.config import ServeError, ServeLimits, check_bind
    from speechtl.serve.processes import DecodeProcesses
    from speechtl.serve.protocol import guarded_protocol, redact_keys_in_logs
    from speechtl.serve.server import Server
    from speechtl.serve.work import ServedModel

    key = api_key(args)
    check_bind(args.host, key)
    limits = ServeLimits(**{f.name: getattr(args, f.name) for f in dataclasses.fields(ServeLimits)
                            if hasattr(args, f.name)})
    limits.validate()
    for origin in args.cors_origin:
        if origin == "*" or not origin.startswith(("http://", "https://")) or origin.rstrip("/") != origin:
            raise ServeError(f"--cors-origin {origin[:80]!r}: give an origin like https://app.example "
                             "(scheme and host, no path; '*' is refused)")
    sock = listen(args.host, args.port)
    set_threads(args)
    models = [ServedModel.load(path, name, args.device or "cpu") for name, path in map(model_name, args.model)]
    server = Server(models, limits, key)
    if args.decode_threads:
        print("speechtl serve: uploads decode in threads (--decode-threads)", flush=True)
    else:  # each process loads the models once; a long word search then never stalls the event loop
        server.processes = DecodeProcesses.for_server(server, threads=max(args.threads, 1))
    # a stream without a word list searches the shipped lexicon: its searches are built now, not while serving
    server.searches.prebuild(server.models.values(), limits.max_streams)
    print(f"speechtl serve: {', '.join(server.models)} on http://{args.host}:{args.port}/", flush=True)
    config = uvicorn.Config(create_app(server, args.cors_origin), log_level="info", http=guarded_protocol(limits.max_connections,
                                                                                       limits.header_timeout),
                            timeout_keep_alive=5, ws_max_size=limits.max_message_kb * 1024, ws_ping_interval=20,
                            ws_ping_timeout=20)
    # the event loop asks for the GIL back after 1 ms rather than 5 while stream steps run in threads
    sys.setswitchinterval(0.001)
    # the models and libraries loaded so far live as long as the server: kept out of the collector's full
    # passes, which otherwise walk them all (a pause of the whole process) as requests allocate
    gc.collect()
    gc.freeze()
    server_ = uvicorn.Server(config)
    redact_keys_in_logs()  # after uvicorn's logging set-up
    server_.run(sockets=[sock])
    return 0
