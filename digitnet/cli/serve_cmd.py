"""`digitnet serve [MODEL] [--host HOST] [--port PORT]`: the drawing page and its API."""

from __future__ import annotations

import argparse
import copy
import errno
import socket
import sys

from digitnet.cli.models import add_model_arguments, chosen_model
from digitnet.errors import ConfigError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="draw digits in your browser and watch the network read them",
        description="Serve a web page where you draw a digit (or upload an image) and see the "
        "network's prediction and probabilities update as you draw, plus a JSON API "
        "(POST /api/predict, GET /api/model, GET /healthz). One log line per request on "
        "stderr; Ctrl-C stops the server.",
    )
    add_model_arguments(parser, "model file (.npz); default: the bundled model")
    parser.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"address to listen on (default {DEFAULT_HOST}: this computer only; "
        "0.0.0.0 exposes the server to your network)",
    )
    parser.add_argument(
        "--port",
        type=_port,
        default=DEFAULT_PORT,
        help=f"TCP port (default {DEFAULT_PORT}; 0 picks a free one and prints it)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import uvicorn  # imported here: other commands should not pay for the web stack

    from digitnet.artifacts.model_file import load_model
    from digitnet.predict import load_default_model
    from digitnet.web.app import create_app

    model_path = chosen_model(args.model, args.model_option)
    model_file = load_model(model_path) if model_path else load_default_model()
    app = create_app(model_file.model, model_file.meta)
    sock = listening_socket(args.host, args.port)
    config = uvicorn.Config(
        app,
        log_config=_stderr_logging(uvicorn.config.LOGGING_CONFIG),
        timeout_graceful_shutdown=3,  # open keep-alive connections must not delay Ctrl-C
    )
    port = sock.getsockname()[1]
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(
        f"digitnet: serving on http://{host}:{port} (Ctrl-C to stop)", file=sys.stderr, flush=True
    )
    with sock:
        uvicorn.Server(config).run(sockets=[sock])
    return 0


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to (host, port) and listening; ConfigError if that is impossible."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # restart right after Ctrl-C
        sock.bind((host, port))
        sock.listen(2048)  # accept connections from now on, before uvicorn has started
    except (OSError, OverflowError) as error:
        sock.close()
        reason = getattr(error, "strerror", None) or str(error)
        port_taken = getattr(error, "errno", None) in (errno.EADDRINUSE, errno.EACCES)
        hint = " (try another --port, or --port 0 for a free one)" if port_taken else ""
        raise ConfigError(f"cannot listen on {host}:{port}: {reason}{hint}") from None
    return sock


def _stderr_logging(config: dict) -> dict:
    """uvicorn's logging setup with the access log on stderr too: stdout is for data."""
    config = copy.deepcopy(config)
    config["handlers"]["access"]["stream"] = "ext://sys.stderr"
    return config


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0 to 65535, got {port}")
    return port
