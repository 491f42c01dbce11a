"""`mastod listen`: subscribe and print one notification per line (JSON), across daemon
restarts (reconnecting with backoff, resuming after the last notification printed)."""

from __future__ import annotations

import argparse
import json
import signal
import socket
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

from mastod.cli.client import (
    StdoutClosed,
    connect,
    connect_error,
    print_line,
    silence_stdout,
    socket_args,
    socket_path,
)
from mastod.net import backoff_delay  # standard library only, as the CLI must stay

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2
BACKOFF_CAP = 5.0  # seconds between reconnection attempts, at most: a local connect is cheap


def add_parser(sub: Any) -> None:
    listen = sub.add_parser(
        "listen",
        help="subscribe to notifications and print one JSON object per line",
        description="Print each notification as one JSON line until interrupted. When the "
        "daemon restarts, reconnect (with backoff) and resume after the last notification "
        "printed, so none is missed or repeated; --once exits instead.",
    )
    listen.add_argument("--types", help="comma-separated notification types (default: all)")
    listen.add_argument(
        "--since",
        metavar="ID",
        help="first replay stored notifications after ID ('' or 0: all that are stored)",
    )
    listen.add_argument(
        "--once", action="store_true", help="exit when the daemon closes the connection"
    )
    socket_args(listen)
    listen.set_defaults(run=run)


class _Terminated(Exception):
    pass


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise _Terminated


def run(args: argparse.Namespace) -> int:
    # A background job of a non-interactive shell starts with SIGINT ignored, and Python then
    # installs no handler of its own: without these, listen could only be killed.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _terminate)
    try:
        types = parse_types(args.types)
        path = socket_path(args)
    except ValueError as exc:
        print(f"mastod listen: {exc}", file=sys.stderr)
        return EXIT_USAGE
    # "" and 0 both mean "from the oldest stored one": the daemon's since_id "" replays all
    since = "" if args.since == "0" else args.since
    try:
        return _listen(path, types, since, once=args.once)
    except StdoutClosed:
        silence_stdout()
        return EXIT_OK
    except _Terminated:
        return 128 + signal.SIGTERM


def parse_types(text: str | None) -> list[str] | None:
    """The --types list, refused (before connecting) when it names an unknown type."""
    from mastod.config.model import NOTIFICATION_TYPES

    if text is None:
        return None
    types = [t.strip() for t in text.split(",") if t.strip()]
    if not types:
        raise ValueError("--types: name at least one type (leave it out for every type)")
    unknown = [t for t in types if t not in NOTIFICATION_TYPES]
    if unknown:
        valid = ", ".join(sorted(NOTIFICATION_TYPES))
        raise ValueError(f"--types: unknown type {unknown[0]!r} (valid: {valid})")
    return types


def _listen(path: Path, types: list[str] | None, since: str | None, *, once: bool) -> int:
    failures = 0
    resume = since
    connected = False
    while True:
        try:
            sock = connect(path, None)
        except OSError as exc:
            if not connected:
                # never connected: a wrong path or no daemon, not a restart to wait out
                print(f"mastod listen: {connect_error(path, exc)}", file=sys.stderr)
                return EXIT_ERROR
            failures += 1
            time.sleep(_delay(failures))
            continue
        if connected:
            print("mastod listen: reconnected", file=sys.stderr, flush=True)
        connected, failures = True, 0
        with sock:
            follower = _Follower(sock, types)
            outcome = follower.follow(resume)
        resume = follower.position if follower.position is not None else resume
        if outcome is not None:
            return outcome
        if once:
            print("mastod listen: the daemon closed the connection", file=sys.stderr)
            return EXIT_ERROR
        print(
            "mastod listen: the daemon closed the connection; reconnecting",
            file=sys.stderr,
            flush=True,
        )
        failures = 1
        time.sleep(_delay(failures))


def _delay(failures: int) -> float:
    return backoff_delay(failures, base=0.25, cap=BACKOFF_CAP)


class _Follower:
    """One connection: subscribe, print each notification as one JSON line; after `dropped`,
    subscribe again from the `since_id` it names, so nothing is missed and nothing repeated.

    `position` is where a new connection resumes: the last notification printed, else the
    position the daemon's answer named (the log's end when a subscription without `since_id`
    began), so what arrives while the daemon restarts is replayed, even to a listener that
    had printed nothing yet."""

    def __init__(self, sock: socket.socket, types: list[str] | None) -> None:
        self.sock = sock
        self.types = types
        self.request_id = 0
        self.position: str | None = None

    def subscribe(self, since_id: str | None) -> None:
        self.request_id += 1
        params: dict[str, Any] = {}
        if self.types:
            params["types"] = self.types
        if since_id is not None:
            params["since_id"] = since_id
        request = {"jsonrpc": "2.0", "id": self.request_id, "method": "subscribe", "params": params}
        self.sock.sendall(json.dumps(request).encode() + b"\n")

    def follow(self, since: str | None) -> int | None:
        """An exit code, or None when the connection ended (the daemon went away)."""
        try:
            self.subscribe(since)
            for line in self.sock.makefile("rb"):
                outcome = self._frame(json.loads(line))
                if outcome is not None:
                    return outcome
        except (ConnectionError, ValueError):
            pass  # a restart cuts the connection, maybe mid-frame
        return None

    def _frame(self, frame: dict[str, Any]) -> int | None:
        if "error" in frame:
            print(json.dumps(frame["error"], ensure_ascii=False), file=sys.stderr)
            return EXIT_ERROR
        result = frame.get("result")
        if isinstance(result, dict) and isinstance(result.get("since_id"), str):
            self.position = result["since_id"]  # (an older daemon names none: resume stands)
        method = frame.get("method")
        if method == "notification":
            notification = frame["params"]["notification"]
            print_line(json.dumps(notification, ensure_ascii=False))
            if isinstance(notification, dict) and notification.get("id") is not None:
                self.position = str(notification["id"])
        elif method == "dropped":
            resume = frame["params"].get("since_id")
            print(
                f"mastod listen: fell behind; resubscribing after {resume!r}",
                file=sys.stderr,
                flush=True,
            )
            self.subscribe(resume)
        return None
