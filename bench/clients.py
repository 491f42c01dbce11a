"""The load clients, run in a process of their own (`python -m bench.clients`) so that they
never share the daemon's interpreter.

The worker reads one JSON command per line on stdin and answers one JSON line on stdout:

    {"target": "unix", "op": "get_status", "clients": 16, "warmup": 0.25, "duration": 1.0,
     "min_calls": 32, "max_duration": 4.0,
     "upstream": "http://127.0.0.1:N", "socket": "...", "http_url": "...", "rpc_token": "..."}
    -> {"calls": ..., "window_s": ..., "total_calls": ..., "errors": ..., "error": ...,
        "lat_us": [...], "cpu_s": ...}

Targets: `direct` (bare aiohttp to the upstream: the floor), `mastodonpy` (Mastodon.py, one
thread and one instance per client), and the daemon's `unix`, `http` and `websocket`
transports. Every client keeps one persistent connection and has one call in flight, and
every reply is decoded and checked. The measuring window opens after the warm-up and closes
after `duration`, or later (up to `max_duration`) until `min_calls` calls have completed in
it, so that slow targets still give a sample; a call counts when it completes in the window.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bench.fixtures import ACCESS_TOKEN, STATUS_ID, TIMELINE_LIMIT

OPS = ("get_status", "get_home_timeline")
TARGETS = ("direct", "mastodonpy", "unix", "http", "websocket")
READ_LIMIT = 16 * 1024 * 1024

Call = Callable[[], Awaitable[None]]


class BadReply(Exception):
    pass


@dataclass
class Tally:
    """What one cell measured: latencies (µs) of the calls completed in the window."""

    start: float
    end: float  # the window closes here once min_calls calls are in it...
    hard_end: float  # ...and here at the latest
    min_calls: int
    lat_us: list[int] = field(default_factory=list)
    total_calls: int = 0
    errors: int = 0
    error: str | None = None
    closed_at: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def for_command(cls, cmd: dict[str, Any]) -> Tally:
        now = time.perf_counter()
        start = now + float(cmd["warmup"])
        duration = float(cmd["duration"])
        return cls(
            start=start,
            end=start + duration,
            hard_end=start + max(duration, float(cmd.get("max_duration", duration))),
            min_calls=int(cmd.get("min_calls", 0)),
        )

    def open(self, now: float) -> bool:
        """Whether a client may start another call."""
        if self.closed_at is not None:
            return False
        if now >= self.hard_end or (now >= self.end and len(self.lat_us) >= self.min_calls):
            self.closed_at = now
            return False
        return True

    def record(self, began: float, finished: float) -> None:
        self.total_calls += 1
        if finished >= self.start and (self.closed_at is None or finished <= self.closed_at):
            self.lat_us.append(int((finished - began) * 1e6))

    def failed(self, exc: BaseException) -> None:
        self.errors += 1
        if self.error is None:
            self.error = f"{type(exc).__name__}: {str(exc)[:200]}"

    @property
    def window_s(self) -> float:
        return (self.closed_at or self.hard_end) - self.start


def rpc_request(op: str, id_: int) -> dict[str, Any]:
    params: dict[str, Any] = (
        {"status_id": STATUS_ID} if op == "get_status" else {"limit": TIMELINE_LIMIT}
    )
    return {"jsonrpc": "2.0", "id": id_, "method": op, "params": params}


def check_result(op: str, result: Any) -> None:
    if op == "get_status":
        ok = isinstance(result, dict) and result.get("id") == STATUS_ID
    else:
        ok = isinstance(result, list) and len(result) == TIMELINE_LIMIT
    if not ok:
        raise BadReply(f"unexpected {op} result: {str(result)[:120]}")


def check_reply(op: str, reply: Any, id_: int) -> None:
    if not isinstance(reply, dict) or reply.get("id") != id_ or "result" not in reply:
        raise BadReply(f"unexpected reply: {str(reply)[:200]}")
    check_result(op, reply["result"])


# -- asyncio clients -----------------------------------------------------------------------


async def _loop(call: Call, tally: Tally) -> None:
    while tally.open(began := time.perf_counter()):
        try:
            await call()
        except Exception as exc:
            tally.failed(exc)
            await asyncio.sleep(0.01)  # a broken target must not spin
            continue
        tally.record(began, time.perf_counter())


async def _direct(cmd: dict[str, Any], n: int) -> tuple[list[Call], Callable[[], Awaitable[Any]]]:
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=n),
        headers={"Authorization": f"Bearer {ACCESS_TOKEN}", "Accept": "application/json"},
    )
    op = cmd["op"]
    if op == "get_status":
        url = f"{cmd['upstream']}/api/v1/statuses/{STATUS_ID}"
    else:
        url = f"{cmd['upstream']}/api/v1/timelines/home?limit={TIMELINE_LIMIT}"

    async def call() -> None:
        async with session.get(url) as resp:
            body = await resp.read()
            if resp.status != 200:
                raise BadReply(f"HTTP {resp.status}")
        check_result(op, json.loads(body))

    return [call] * n, session.close


async def _http(cmd: dict[str, Any], n: int) -> tuple[list[Call], Callable[[], Awaitable[Any]]]:
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=n),
        headers={
            "Authorization": f"Bearer {cmd['rpc_token']}",
            "Content-Type": "application/json",
        },
    )
    url = f"{cmd['http_url']}/rpc"
    op = cmd["op"]
    ids = iter(range(1, 1 << 62))

    async def call() -> None:
        id_ = next(ids)
        async with session.post(url, data=json.dumps(rpc_request(op, id_))) as resp:
            body = await resp.read()
            if resp.status != 200:
                raise BadReply(f"HTTP {resp.status}")
        check_reply(op, json.loads(body), id_)

    return [call] * n, session.close


async def _unix(cmd: dict[str, Any], n: int) -> tuple[list[Call], Callable[[], Awaitable[Any]]]:
    op = cmd["op"]
    writers: list[asyncio.StreamWriter] = []
    calls: list[Call] = []
    for _ in range(n):
        reader, writer = await asyncio.open_unix_connection(cmd["socket"], limit=READ_LIMIT)
        writers.append(writer)
        calls.append(_unix_call(op, reader, writer))

    async def close() -> None:
        for writer in writers:
            writer.close()
        for writer in writers:
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()

    return calls, close


def _unix_call(op: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> Call:
    ids = iter(range(1, 1 << 62))

    async def call() -> None:
        id_ = next(ids)
        writer.write(json.dumps(rpc_request(op, id_)).encode() + b"\n")
        line = await reader.readline()
        if not line:
            raise BadReply("the daemon closed the connection")
        check_reply(op, json.loads(line), id_)

    return call


async def _websocket(
    cmd: dict[str, Any], n: int
) -> tuple[list[Call], Callable[[], Awaitable[Any]]]:
    op = cmd["op"]
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=n))
    sockets = [
        await session.ws_connect(
            f"{cmd['http_url']}/rpc",
            headers={"Authorization": f"Bearer {cmd['rpc_token']}"},
            max_msg_size=READ_LIMIT,
        )
        for _ in range(n)
    ]
    calls = [_ws_call(op, ws) for ws in sockets]

    async def close() -> None:
        for ws in sockets:
            await ws.close()
        await session.close()

    return calls, close


def _ws_call(op: str, ws: aiohttp.ClientWebSocketResponse) -> Call:
    ids = iter(range(1, 1 << 62))

    async def call() -> None:
        id_ = next(ids)
        await ws.send_str(json.dumps(rpc_request(op, id_)))
        msg = await ws.receive()
        if msg.type is not aiohttp.WSMsgType.TEXT:
            raise BadReply(f"WebSocket {msg.type.name}")
        check_reply(op, json.loads(msg.data), id_)

    return call


_ASYNC_TARGETS = {"direct": _direct, "http": _http, "unix": _unix, "websocket": _websocket}


async def run_async(cmd: dict[str, Any]) -> Tally:
    n = int(cmd["clients"])
    calls, close = await _ASYNC_TARGETS[cmd["target"]](cmd, n)
    tally = Tally.for_command(cmd)
    try:
        await asyncio.gather(*(_loop(call, tally) for call in calls))
    finally:
        await close()
    return tally


# -- Mastodon.py: threads, one instance (and requests.Session) each --------------------------


def run_mastodonpy(cmd: dict[str, Any]) -> Tally:
    from mastodon import Mastodon

    n = int(cmd["clients"])
    op = cmd["op"]
    clients = [
        Mastodon(
            api_base_url=cmd["upstream"],
            access_token=ACCESS_TOKEN,
            version_check_mode="none",
        )
        for _ in range(n)
    ]
    tally = Tally.for_command(cmd)

    def one(api: Mastodon) -> None:
        if op == "get_status":
            result = api.status(STATUS_ID)
        else:
            result = api.timeline_home(limit=TIMELINE_LIMIT)
        check_result(op, result if op == "get_status" else list(result))

    def worker(api: Mastodon) -> None:
        while True:
            with tally.lock:
                if not tally.open(began := time.perf_counter()):
                    return
            try:
                one(api)
            except Exception as exc:
                with tally.lock:
                    tally.failed(exc)
                time.sleep(0.01)
                continue
            finished = time.perf_counter()
            with tally.lock:
                tally.record(began, finished)

    threads = [threading.Thread(target=worker, args=(api,), daemon=True) for api in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(tally.hard_end - time.perf_counter() + 60)
    return tally


def run(cmd: dict[str, Any]) -> dict[str, Any]:
    cpu = time.process_time()
    mastodonpy = cmd["target"] == "mastodonpy"
    tally = run_mastodonpy(cmd) if mastodonpy else asyncio.run(run_async(cmd))
    return {
        "calls": len(tally.lat_us),
        "window_s": tally.window_s,
        "total_calls": tally.total_calls,
        "errors": tally.errors,
        "error": tally.error,
        "lat_us": tally.lat_us,
        "cpu_s": time.process_time() - cpu,
    }


def main() -> int:
    """Serve commands until stdin closes."""
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            answer = run(json.loads(line))
        except Exception as exc:  # reported to the harness, which records it
            answer = {"fatal": f"{type(exc).__name__}: {exc}"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
