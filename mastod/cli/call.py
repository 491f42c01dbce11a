"""`mastod call METHOD [name=value ...] [--json '{...}']`: one RPC call over the Unix socket."""

from __future__ import annotations

import argparse
import base64
import json
import mimetypes
import sys
from pathlib import Path
from typing import Any

from mastod.cli.client import (
    StdoutClosed,
    connect,
    connect_error,
    print_line,
    read_line,
    silence_stdout,
    socket_args,
    socket_path,
)

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2

# The daemon's file parameters; `name=@path` sends the file's content inline, read here with
# the caller's own rights (the daemon reads paths only inside `media.upload_dirs`).
FILE_PARAMS = frozenset({"file", "thumbnail", "avatar", "header"})

DESCRIPTION = """\
Call METHOD with params given as name=value (a string), name:=JSON (a number, true/false,
null, a list or an object: limit:=5, sensitive:=true, media_ids:='["1","2"]') or
name=@PATH for a file parameter (file, thumbnail, avatar, header: the file is read here and
sent inline). --json gives params as a JSON object (by name) or array (by position); with an
object, name=value pairs are merged into it and win. Prints the result as JSON on stdout; on
error prints the JSON-RPC error to stderr and exits 1 (2 for a usage error)."""


class UsageError(Exception):
    pass


def add_parser(sub: Any) -> None:
    call = sub.add_parser(
        "call",
        help="call one RPC method over the Unix socket",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    call.add_argument("method")
    call.add_argument("params", nargs="*", metavar="name=value|name:=json|name=@file")
    call.add_argument(
        "--json",
        dest="json_params",
        metavar="JSON",
        help="params as a JSON object (name=value pairs are merged over it) or array",
    )
    socket_args(call)
    call.add_argument("--timeout", type=float, default=120.0, help="seconds (default 120)")
    call.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        params = parse_params(args.params, args.json_params)
        path = socket_path(args)
    except (UsageError, ValueError) as exc:
        print(f"mastod call: {exc}", file=sys.stderr)
        return EXIT_USAGE
    request: dict[str, Any] = {"jsonrpc": "2.0", "id": 1, "method": args.method}
    if params is not None:
        request["params"] = params
    try:
        with connect(path, args.timeout) as sock:
            sock.sendall(json.dumps(request).encode() + b"\n")
            reply = json.loads(read_line(sock))
    except OSError as exc:
        print(f"mastod call: {connect_error(path, exc)}", file=sys.stderr)
        return EXIT_ERROR
    if "error" in reply:
        print(json.dumps(reply["error"], ensure_ascii=False), file=sys.stderr)
        hint = string_hint(reply["error"], args.params)
        if hint:
            print(f"mastod call: hint: {hint}", file=sys.stderr)
        return EXIT_ERROR
    indent = 2 if sys.stdout.isatty() else None
    try:
        print_line(json.dumps(reply.get("result"), ensure_ascii=False, indent=indent))
    except StdoutClosed:
        silence_stdout()
    return EXIT_OK


def parse_params(pairs: list[str], raw: str | None) -> dict[str, Any] | list[Any] | None:
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
        elif name in FILE_PARAMS and value.startswith("@"):
            named[name] = inline_file(name, Path(value[1:]).expanduser())
        else:
            named[name] = value
    return named


def inline_file(name: str, path: Path) -> dict[str, str]:
    """The daemon's inline form of a file parameter: base64 content, name and MIME type."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"{name}: cannot read {path}: {exc.strerror or exc}") from None
    inline = {"data": base64.b64encode(data).decode("ascii"), "filename": path.name}
    mime_type, _ = mimetypes.guess_type(path.name)
    if mime_type:
        inline["mime_type"] = mime_type
    return inline


def string_hint(error: Any, pairs: list[str]) -> str | None:
    """When the daemon refused a value given as name=value (a string) where a number, a
    boolean or null was wanted, how to send it as JSON instead."""
    if not isinstance(error, dict) or error.get("code") != -32602:
        return None
    message = error.get("message")
    if not isinstance(message, str):
        return None
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or name.endswith(":") or f"{name}: must be" not in message:
            continue
        try:
            json.loads(value)
        except ValueError:
            continue
        return f"{name}={value} sends a string; send JSON with {name}:={value}"
    return None
