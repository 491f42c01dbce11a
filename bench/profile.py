"""Profile the daemon from outside with py-spy while it is under load, and put each sample's
cost where a change would go: JSON encoding (and which encode), decoding, shaping, parameter
binding, jsonrpcserver, logging, aiohttp client/server, the request core, the transports.

py-spy runs in its default (blocking) mode: it pauses the daemon for each sample, which slows
it a little but gives whole stacks. Shares are of the non-idle samples; µs per call are those
shares of the daemon's CPU time per call, measured from /proc over the same load.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

IDLE = "idle (epoll wait, waiting threads)"
LOOP = "event loop and socket syscalls (asyncio)"
_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")
_GENERIC = (
    "asyncio/",
    "<frozen",
    "<string>",
    "contextlib.py",
    "threading.py",
    "functools.py",
    "typing.py",
    "selectors.py",
    "_weakrefset.py",
    "urllib/",
    "json/__init__.py",
    "mastod/daemon.py",
    "mastod/cli/",
    "mastod/__main__.py",
    "mastod/app.py",
)


@dataclass(frozen=True, slots=True)
class Frame:
    func: str
    file: str

    @classmethod
    def parse(cls, text: str) -> Frame:
        match = _FRAME.match(text.strip())
        if match is None:
            return cls(text.strip(), "")
        return cls(match["func"], match["file"])

    def __str__(self) -> str:
        return f"{self.func} ({self.file})"


def py_spy() -> str | None:
    """The py-spy next to this interpreter (the venv's), else on PATH."""
    here = str(Path(sys.executable).parent)
    return shutil.which("py-spy", path=os.pathsep.join([here, os.environ.get("PATH", "")]))


def record(pid: int, seconds: float, output: Path, rate: int = 250) -> subprocess.Popen[bytes]:
    """Start py-spy on `pid` (a process we started); the caller waits for it."""
    exe = py_spy()
    if exe is None:
        raise FileNotFoundError("py-spy is not installed (pip install -e '.[bench]')")
    return subprocess.Popen(
        [
            exe,
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(max(1, round(seconds))),
            "--rate",
            str(rate),
            "--format",
            "raw",
            "--output",
            str(output),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def read_raw(path: Path) -> list[tuple[list[Frame], int]]:
    """py-spy's raw (collapsed) output: `root;...;leaf count` per line."""
    stacks: list[tuple[list[Frame], int]] = []
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            stacks.append(([Frame.parse(f) for f in stack.split(";")], int(count)))
    return stacks


def _under(stack: Sequence[Frame], index: int, files: tuple[str, ...]) -> bool:
    return any(f.file.startswith(files) for f in stack[:index])


def _mastod_caller(stack: Sequence[Frame], index: int) -> Frame | None:
    """The nearest mastod frame above stack[index]."""
    for i in range(index - 1, -1, -1):
        if stack[i].file.startswith("mastod/"):
            return stack[i]
    return None


_IDLE_LEAVES = {
    ("_worker", "concurrent/futures/thread.py"),  # a pool thread waiting for work
    ("wait", "threading.py"),
    ("get", "queue.py"),
}


def classify(stack: Sequence[Frame]) -> str:
    """The category one sample's cost belongs to (stack is root first)."""
    if not stack or (stack[-1].func, stack[-1].file) in _IDLE_LEAVES:
        return IDLE
    if any(
        f.file.startswith(("structlog/", "logging/", "aiohttp/web_log.py"))
        or f.file == "mastod/logs.py"
        for f in stack
    ):
        return "logging (structlog + stdlib handler)"
    for i in range(len(stack) - 1, -1, -1):
        frame = stack[i]
        file = frame.file
        if file in ("json/encoder.py", "mastod/jsontext.py") or (
            file == "json/__init__.py" and frame.func == "dumps"
        ):
            return "JSON encode (orjson, the stdlib where they differ)"
        if file == "mastod/mastodon/shaping.py" or (
            file == "json/decoder.py" and _under(stack, i, ("mastod/mastodon/shaping.py",))
        ):
            return "JSON decode of upstream bodies, with the Status renames"
        if file == "json/decoder.py" or (file == "json/__init__.py" and frame.func == "loads"):
            owner = _mastod_caller(stack, i)
            if owner is not None and owner.file == "mastod/rpc/dispatch.py":
                return "JSON decode: request frame"
            return "JSON decode: other"
        if file in ("mastod/rpc/params.py", "inspect.py") or (
            file == "mastod/rpc/registry.py" and frame.func.endswith("check")
        ):
            return "parameter binding and checks (inspect.bind, params.check)"
        if file.startswith(("jsonrpcserver/", "oslash/")):
            return "jsonrpcserver dispatch (Either, Request/Response, validate_args)"
        if file.startswith("aiohttp/"):
            # an HTTP call runs in aiohttp's task for its request: the request core's frames
            # say the upstream request is under way
            if _under(stack, i, ("mastod/mastodon/",)):
                return "aiohttp client (request to upstream)"
            web = ("aiohttp/web", "aiohttp/_websocket", "aiohttp/http_websocket")
            if file.startswith(web) or _under(stack, i, ("aiohttp/web",)):
                return "aiohttp server (HTTP/WebSocket transport)"
            return "aiohttp client (request to upstream)"
        if file == "asyncio/streams.py" or file == "mastod/rpc/unix.py":
            return "Unix socket transport (asyncio streams, framing)"
        if file in ("mastod/rpc/http.py", "mastod/rpc/ws.py"):
            return "HTTP/WebSocket transport glue (mastod)"
        if file.startswith("mastod/mastodon/"):
            return "request core (URL, headers, lease, retry loop, Link)"
        if file.startswith(("mastod/rpc/", "mastod/tasks.py", "mastod/actions/")):
            return "dispatch glue (tasks, contextvars, adapters)"
        if file.startswith(("yarl/", "multidict/")):
            return "yarl/multidict (URLs, headers)"
        if file == "selectors.py" and frame.func.endswith("select") and i == len(stack) - 1:
            return IDLE
        if file.startswith(_GENERIC) or not file:
            continue
        return f"other: {file}"
    return LOOP


def analyse(
    stacks: list[tuple[list[Frame], int]], cpu_us_per_call: float | None, top: int = 15
) -> dict[str, Any]:
    categories: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for stack, count in stacks:
        category = classify(stack)
        categories[category] += count
        if category == IDLE:
            continue
        leaves[str(stack[-1])] += count
        for frame in {str(f) for f in stack if f.file.startswith("mastod/")}:
            inclusive[frame] += count
    idle = categories.pop(IDLE, 0)
    busy = sum(categories.values())

    def share(n: int) -> float:
        return n / busy if busy else 0.0

    def us(n: int) -> float | None:
        return None if cpu_us_per_call is None else share(n) * cpu_us_per_call

    return {
        "samples": busy + idle,
        "idle_samples": idle,
        "cpu_us_per_call": cpu_us_per_call,
        "categories": [
            {"name": name, "share": share(n), "us_per_call": us(n)}
            for name, n in categories.most_common()
        ],
        "top_self": [{"frame": f, "share": share(n)} for f, n in leaves.most_common(top)],
        "top_mastod_inclusive": [
            {"frame": f, "share": share(n)} for f, n in inclusive.most_common(top)
        ],
    }


# -- the push pipeline ----------------------------------------------------------------------

_PUSH_PLACES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("structlog/", "logging/", "mastod/logs.py"), "logging"),
    (("json/encoder.py",), "JSON encode (once per notification)"),
    (("json/decoder.py",), "JSON decode (the fetched page)"),
    (("mastod/push/vapid.py",), "VAPID check (ES256 verify, claims)"),
    (("mastod/push/decrypt.py", "http_ece/"), "decryption (ECDH, HKDF, AES-GCM: http_ece)"),
    (("mastod/notify/store.py", "sqlite3/"), "store (SQLite)"),
    (
        ("mastod/notify/hub.py", "mastod/notify/frames.py", "mastod/rpc/unix.py"),
        "fan-out (frames, socket writes)",
    ),
    (("mastod/notify/intake.py",), "intake (checks)"),
    (
        ("mastod/notify/backfill.py", "mastod/notify/sources.py", "mastod/mastodon/"),
        "fetch (backfill, request core, aiohttp client)",
    ),
    (("mastod/push/webhook.py", "mastod/push/receiver.py"), "webhook handler and receiver"),
    (("aiohttp/web",), "webhook HTTP server (aiohttp)"),
)


def classify_push(stack: Sequence[Frame]) -> str:
    """The push pipeline's category of one sample: the nearest frame to the leaf that
    belongs to a known place; the event loop otherwise."""
    if not stack or (stack[-1].func, stack[-1].file) in _IDLE_LEAVES:
        return IDLE
    leaf = stack[-1]
    if leaf.file == "selectors.py" and leaf.func.endswith("select"):
        return IDLE
    for frame in reversed(stack):
        for prefixes, name in _PUSH_PLACES:
            if frame.file.startswith(prefixes):
                return name
    if any(f.file.startswith("aiohttp/") for f in stack):
        return "fetch (backfill, request core, aiohttp client)"
    return LOOP


def analyse_push(stacks: list[tuple[list[Frame], int]], cpu_us_per_push: float) -> dict[str, Any]:
    """Shares of the daemon's busy samples by place, as µs per push."""
    categories: Counter[str] = Counter()
    for stack, count in stacks:
        categories[classify_push(stack)] += count
    idle = categories.pop(IDLE, 0)
    busy = sum(categories.values())
    return {
        "samples": busy + idle,
        "idle_samples": idle,
        "cpu_us_per_push": cpu_us_per_push,
        "categories": [
            {"name": name, "share": n / busy, "us_per_push": n / busy * cpu_us_per_push}
            for name, n in categories.most_common()
        ]
        if busy
        else [],
    }
