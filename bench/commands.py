"""The stdin/stdout protocol of the bench's helper processes (driven by `context.Worker`):
one JSON command per line in, one JSON answer per line out, until stdin closes."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

Command = dict[str, Any]
Handler = Callable[[Command], Awaitable[dict[str, Any]]]


async def serve_commands(handlers: Mapping[str, Handler]) -> None:
    """Answer each command with `handlers[command["op"]]`; a failure is answered as
    `{"error": ...}` (the harness raises it) and the next command is served."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=64 * 1024 * 1024)  # a `collect` carries every t0
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        command: Command = json.loads(line)
        handler = handlers.get(command.get("op", ""))
        try:
            if handler is None:
                raise ValueError(f"unknown op {command.get('op')!r}")
            result = await handler(command)
        except Exception as exc:  # report it to the harness, keep serving
            result = {"error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(result), flush=True)
