"""Unix-socket subscribers for the push benchmark, in a process of their own
(`python -m bench.subscribers`; uvloop when installed, to keep this side cheap).

Each subscriber is one connection to the daemon's socket with one `subscribe`. Every frame
that arrives is timestamped (CLOCK_MONOTONIC, comparable with the sender's `t0`) and its
notification id taken from the frame without decoding the whole JSON (the frame is
`...,"notification":{"id":"<id>",...`; anything else is decoded in full).

Commands, one JSON line each on stdin, one JSON answer line on stdout:

    {"op": "connect", "socket": path, "count": N}        -> {"subscribers": N, "seconds": s}
    {"op": "collect", "t0": {"<id>": ns}, "timeout": s}
        -> end-to-end latency of every delivery of those ids (receipt - t0): p50/p90/p99/max,
           the last receipt, and what was missing, duplicated, out of order or `dropped`
    {"op": "close"}                                        -> {"closed": N}

Receipts are kept per subscriber as (id, ns) and forgotten once collected.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from array import array
from typing import Any

from bench.commands import Command, serve_commands

NEEDLE = b'"notification":{"id":"'


def now_ns() -> int:
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC)


class Subscriber(asyncio.Protocol):
    def __init__(self) -> None:
        self.buffer = b""
        self.ids: array[int] = array("q")
        self.times: array[int] = array("q")
        self.answer: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.dropped = 0
        self.bad = 0
        self.transport: asyncio.Transport | None = None
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not a subclass

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)
        if not self.answer.done():
            self.answer.set_exception(ConnectionError("the daemon closed the connection"))

    def data_received(self, data: bytes) -> None:
        received = now_ns()
        data = self.buffer + data if self.buffer else data
        *frames, self.buffer = data.split(b"\n")
        for frame in frames:
            at = frame.find(NEEDLE)
            if at >= 0:
                start = at + len(NEEDLE)
                end = frame.index(b'"', start)
                self.ids.append(int(frame[start:end]))
                self.times.append(received)
                continue
            self._other(frame, received)

    def _other(self, frame: bytes, received: int) -> None:
        try:
            message = json.loads(frame)
        except ValueError:
            self.bad += 1
            return
        if message.get("method") == "notification":
            self.ids.append(int(message["params"]["notification"]["id"]))
            self.times.append(received)
        elif message.get("method") == "dropped":
            self.dropped += 1
        elif "id" in message and not self.answer.done():
            self.answer.set_result(message)
        else:
            self.bad += 1


class Subscribers:
    def __init__(self) -> None:
        self.subs: list[Subscriber] = []

    async def connect(self, path: str, count: int) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        began = time.perf_counter()
        request = b'{"jsonrpc":"2.0","id":1,"method":"subscribe","params":{}}\n'
        batch: list[Subscriber] = []
        for _ in range(count):
            _, sub = await loop.create_unix_connection(Subscriber, path)
            assert sub.transport is not None
            sub.transport.write(request)
            batch.append(sub)
        for sub in batch:
            answer = await asyncio.wait_for(sub.answer, 30)
            if "result" not in answer:
                raise RuntimeError(f"subscribe failed: {answer}")
        self.subs.extend(batch)
        return {"subscribers": len(self.subs), "seconds": time.perf_counter() - began}

    async def collect(self, t0: dict[str, int], timeout: float) -> dict[str, Any]:
        wanted = {int(k): v for k, v in t0.items()}
        expected = len(wanted)
        newest = max(wanted, default=0)
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            # ids reach a subscriber in order: once it has the newest it has them all (what
            # is missing or out of order is counted below)
            if all(sub.ids and sub.ids[-1] >= newest for sub in self.subs):
                break
            await asyncio.sleep(0.05)
        latencies: array[int] = array("q")
        missing = duplicates = out_of_order = 0
        last = 0
        for sub in self.subs:
            seen: set[int] = set()
            previous = 0
            for ident, received in zip(sub.ids, sub.times, strict=True):
                sent = wanted.get(ident)
                if sent is None:
                    continue  # from an earlier phase
                if ident in seen:
                    duplicates += 1
                    continue
                seen.add(ident)
                if ident < previous:
                    out_of_order += 1
                previous = ident
                latencies.append(received - sent)
                last = max(last, received)
            missing += expected - len(seen)
            sub.ids, sub.times = array("q"), array("q")
        ordered = sorted(latencies)
        first_sent = min(wanted.values()) if wanted else 0

        def pct(p: float) -> float | None:
            if not ordered:
                return None
            return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] / 1e6

        return {
            "deliveries": len(ordered),
            "expected": expected * len(self.subs),
            "missing": missing,
            "duplicates": duplicates,
            "out_of_order": out_of_order,
            "dropped": sum(s.dropped for s in self.subs),
            "bad_frames": sum(s.bad for s in self.subs),
            "p50_ms": pct(50),
            "p90_ms": pct(90),
            "p99_ms": pct(99),
            "max_ms": ordered[-1] / 1e6 if ordered else None,
            "span_s": (last - first_sent) / 1e9 if ordered else None,
        }

    async def close(self) -> dict[str, Any]:
        count = len(self.subs)
        for sub in self.subs:
            if sub.transport is not None:
                sub.transport.close()
        await asyncio.gather(*(sub.closed for sub in self.subs))
        self.subs = []
        return {"closed": count}


async def commands() -> None:
    subs = Subscribers()

    async def connect(cmd: Command) -> dict[str, Any]:
        return await subs.connect(cmd["socket"], int(cmd["count"]))

    async def collect(cmd: Command) -> dict[str, Any]:
        return await subs.collect(cmd["t0"], float(cmd.get("timeout", 60)))

    async def close(cmd: Command) -> dict[str, Any]:
        return await subs.close()

    await serve_commands({"connect": connect, "collect": collect, "close": close})


def main() -> int:
    try:
        import uvloop  # optional: part of the bench extras
    except ImportError:
        asyncio.run(commands())
    else:
        uvloop.run(commands())
    return 0


if __name__ == "__main__":
    sys.exit(main())
