"""The fan-out floor of the push benchmark (`python -m bench.fanout`): the least a process can
do to hand notifications to Unix-socket subscribers.

It listens on a Unix socket, answers `subscribe`, and on command writes the same frames the
daemon writes (the same notification JSON, one line per subscriber with its subscription id)
to every connection with `transport.write`, one write per notification and subscriber. No
webhook, no crypto, no fetch, no store: what remains is the kernel's copy into each socket
and the subscribers reading it, which no daemon can avoid. The same `bench.subscribers`
process measures it as it measures the daemon.

Prints `{"ready": true}` once listening; then one JSON command per line on stdin, one JSON
answer line on stdout:

    {"op": "publish", "count": N, "rate": 100 | null}  -> {"sent": N, "t0": {"<id>": ns}}
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import sys
import time
from typing import Any, Protocol

from bench.commands import Command, serve_commands
from bench.fixtures import encoded
from bench.pushsender import notification

FIRST_ID = 700_000


def now_ns() -> int:
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC)


class Subscribed(Protocol):
    """Where a Connection adds itself once subscribed (Fanout, bench.pushproxy's Pipeline)."""

    connections: set[Connection]


class Connection(asyncio.Protocol):
    def __init__(self, hub: Subscribed) -> None:
        self.hub = hub
        self.buffer = b""
        self.prefix = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.hub.connections.discard(self)

    def data_received(self, data: bytes) -> None:
        *lines, self.buffer = (self.buffer + data).split(b"\n")
        for line in lines:
            request = json.loads(line)
            sub_id = secrets.token_hex(8)
            self.prefix = (
                b'{"jsonrpc":"2.0","method":"notification","params":{"subscription":"'
                + sub_id.encode()
                + b'","notification":'
            )
            answer = {"jsonrpc": "2.0", "id": request["id"], "result": {"subscription": sub_id}}
            assert self.transport is not None
            self.transport.write(json.dumps(answer).encode() + b"\n")
            self.hub.connections.add(self)


class Fanout:
    def __init__(self) -> None:
        self.connections: set[Connection] = set()
        self.next_id = FIRST_ID

    async def publish(self, count: int, rate: float | None) -> dict[str, Any]:
        bodies = []
        for _ in range(count):
            bodies.append((self.next_id, encoded(notification(self.next_id)) + b"}}\n"))
            self.next_id += 1
        t0: dict[str, int] = {}
        started = time.perf_counter()
        for i, (ident, body) in enumerate(bodies):
            if rate:
                delay = started + i / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            t0[str(ident)] = now_ns()
            for conn in self.connections:
                assert conn.transport is not None
                conn.transport.write(conn.prefix + body)
            if not rate:
                await asyncio.sleep(0)
        return {"sent": count, "t0": t0}


async def serve(path: str) -> None:
    loop = asyncio.get_running_loop()
    hub = Fanout()
    server = await loop.create_unix_server(lambda: Connection(hub), path, backlog=1024)
    print(json.dumps({"ready": True}), flush=True)

    async def publish(cmd: Command) -> dict[str, Any]:
        rate = cmd.get("rate")
        return await hub.publish(int(cmd["count"]), float(rate) if rate else None)

    try:
        await serve_commands({"publish": publish})
    finally:
        server.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fanout")
    parser.add_argument("--socket", required=True)
    asyncio.run(serve(parser.parse_args(argv).socket))
    return 0


if __name__ == "__main__":
    sys.exit(main())
