"""The `mastod` command: serve, check-config, call, listen.

`call` and `listen` are what shell scripts run many times: they import only the standard
library (and PyYAML when a config file names the socket), never the daemon's stack.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
from pathlib import Path
from typing import Any

from mastod import __version__
from mastod.paths import default_socket_path, socket_candidates

EXIT_OK, EXIT_ERROR, EXIT_CONFIG = 0, 1, 2


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return int(args.run(args))
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mastod", description="Drive a Mastodon account through a local JSON-RPC daemon."
    )
    parser.add_argument("--version", action="version", version=f"mastod {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the daemon")
    serve.add_argument(
        "--config",
        type=Path,
        help="config file (default: $MASTOD_CONFIG, else ./config/mastod.yaml)",
    )
    serve.add_argument(
        "--sandbox",
        action="store_true",
        help="run against the built-in in-memory Mastodon (no config needed)",
    )
    serve.set_defaults(run=_serve)

    check = sub.add_parser("check-config", help="validate the config file and exit")
    check.add_argument("--config", type=Path)
    check.set_defaults(run=_check_config)

    call = sub.add_parser(
        "call",
        help="call one RPC method over the Unix socket",
        description="Call METHOD with name=value (string) or name:=JSON params, or --json. "
        "Prints the result as JSON; on error prints the JSON-RPC error to stderr, exits 1.",
    )
    call.add_argument("method")
    call.add_argument("params", nargs="*", metavar="name=value|name:=json")
    call.add_argument(
        "--json",
        dest="json_params",
        metavar="JSON",
        help="all params as a JSON object (by name) or array (by position)",
    )
    _socket_args(call)
    call.add_argument("--timeout", type=float, default=120.0, help="seconds (default 120)")
    call.set_defaults(run=_call)

    listen = sub.add_parser(
        "listen", help="subscribe to notifications and print one JSON object per line"
    )
    listen.add_argument("--types", help="comma-separated notification types (default: all)")
    listen.add_argument("--since", metavar="ID", help="first replay stored notifications after ID")
    _socket_args(listen)
    listen.set_defaults(run=_listen)
    return parser


def _socket_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--socket", type=Path, help="the daemon's Unix socket")
    parser.add_argument("--config", type=Path, help="find the socket in this config file")


# -- serve / check-config ------------------------------------------------------------------


def _serve(args: argparse.Namespace) -> int:
    from mastod.daemon import run

    return run(config_path=args.config, sandbox=args.sandbox)


def _check_config(args: argparse.Namespace) -> int:
    from mastod.config import ConfigError, default_config_path, load_config

    path = args.config or default_config_path(os.environ)
    try:
        load_config(path)
    except ConfigError as exc:
        print(f"mastod: {path}: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    print(f"{path}: ok")
    return EXIT_OK


# -- call / listen -------------------------------------------------------------------------


class UsageError(Exception):
    pass


def _call(args: argparse.Namespace) -> int:
    try:
        params = _params(args.params, args.json_params)
    except UsageError as exc:
        print(f"mastod call: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    request: dict[str, Any] = {"jsonrpc": "2.0", "id": 1, "method": args.method}
    if params is not None:
        request["params"] = params
    path = _socket_path(args)
    try:
        with _connect(path, args.timeout) as sock:
            sock.sendall(json.dumps(request).encode() + b"\n")
            reply = json.loads(_read_line(sock))
    except OSError as exc:
        print(
            f"mastod call: cannot talk to {path}: {exc.strerror or exc} "
            "(is `mastod serve` running?)",
            file=sys.stderr,
        )
        return EXIT_ERROR
    if "error" in reply:
        print(json.dumps(reply["error"], ensure_ascii=False), file=sys.stderr)
        return EXIT_ERROR
    indent = 2 if sys.stdout.isatty() else None
    print(json.dumps(reply.get("result"), ensure_ascii=False, indent=indent))
    return EXIT_OK


def _listen(args: argparse.Namespace) -> int:
    types = [t.strip() for t in args.types.split(",") if t.strip()] if args.types else None
    path = _socket_path(args)
    try:
        with _connect(path, None) as sock:
            return _follow(sock, types, args.since)
    except _StdoutClosed:
        # `mastod listen | head -1`: the reader has gone, which is no error; keep the
        # interpreter from complaining when it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except OSError as exc:
        print(f"mastod listen: cannot talk to {path}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_ERROR


class _StdoutClosed(Exception):
    pass


def _follow(sock: socket.socket, types: list[str] | None, since: str | None) -> int:
    """Subscribe and print each notification as one JSON line; after `dropped`, subscribe
    again from the `since_id` it names, so nothing is missed and nothing repeated."""
    request_id = 0

    def subscribe(since_id: str | None) -> None:
        nonlocal request_id
        request_id += 1
        params: dict[str, Any] = {}
        if types:
            params["types"] = types
        if since_id is not None:
            params["since_id"] = since_id
        request = {"jsonrpc": "2.0", "id": request_id, "method": "subscribe", "params": params}
        sock.sendall(json.dumps(request).encode() + b"\n")

    subscribe(since or None)
    for line in sock.makefile("rb"):
        frame = json.loads(line)
        if "error" in frame:
            print(json.dumps(frame["error"], ensure_ascii=False), file=sys.stderr)
            return EXIT_ERROR
        method = frame.get("method")
        if method == "notification":
            _print_line(json.dumps(frame["params"]["notification"], ensure_ascii=False))
        elif method == "dropped":
            resume = frame["params"].get("since_id")
            print(
                f"mastod listen: fell behind; resubscribing after {resume!r}",
                file=sys.stderr,
                flush=True,
            )
            subscribe(resume)
    print("mastod listen: the daemon closed the connection", file=sys.stderr)
    return EXIT_ERROR


def _print_line(text: str) -> None:
    try:
        print(text, flush=True)
    except BrokenPipeError:
        raise _StdoutClosed from None


def _params(pairs: list[str], raw: str | None) -> dict[str, Any] | list[Any] | None:
    params: dict[str, Any] | list[Any] | None = None
    if raw is not None:
        try:
            params = json.loads(raw)
        except ValueError as exc:
            raise UsageError(f"--json is not valid JSON: {exc}") from None
        if not isinstance(params, dict | list):
            raise UsageError("--json must be an object or an array")
    if not pairs:
        return params
    if isinstance(params, list):
        raise UsageError("name=value params cannot be combined with a --json array")
    named: dict[str, Any] = dict(params or {})
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise UsageError(f"expected name=value or name:=json, got {pair!r}")
        if name.endswith(":"):
            try:
                named[name[:-1]] = json.loads(value)
            except ValueError:
                # the value is not echoed: it may be a token typed with := by mistake
                raise UsageError(
                    f"{name[:-1]}: not valid JSON (use {name[:-1]}=value for a string)"
                ) from None
        else:
            named[name] = value
    return named


def _socket_path(args: argparse.Namespace) -> Path:
    if args.socket is not None:
        return Path(args.socket)
    config = args.config or os.environ.get("MASTOD_CONFIG") or "config/mastod.yaml"
    from_config = _socket_from_config(Path(config))
    if from_config is not None:
        return from_config
    for candidate in socket_candidates():
        if candidate.exists():
            return candidate
    return default_socket_path()


def _socket_from_config(path: Path) -> Path | None:
    """`rpc.unix_socket` from a config file, read without validating (or reading) the rest."""
    try:
        text = path.read_text()
    except OSError:
        return None
    import yaml

    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    rpc = doc.get("rpc") if isinstance(doc, dict) else None
    value = rpc.get("unix_socket") if isinstance(rpc, dict) else None
    return Path(value).expanduser() if isinstance(value, str) else None


def _connect(path: Path, timeout: float | None) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(str(path))
    except OSError:
        sock.close()
        raise
    return sock


def _read_line(sock: socket.socket) -> bytes:
    chunks: list[bytes] = []
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionResetError(0, "connection closed before the answer")
        newline = chunk.find(b"\n")
        if newline >= 0:
            chunks.append(chunk[:newline])
            return b"".join(chunks)
        chunks.append(chunk)
