"""What a store write costs, with synchronous=NORMAL (chosen) and FULL: the numbers behind
running add()/since() on the event loop and checkpoints in a thread (store.py docstring).

    .venv/bin/python -m tests.notify.bench_store [DIR ...]   # default: /tmp and the cwd

Not collected by pytest (no test_ prefix): it measures, it asserts nothing.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

from mastod.notify.store import NotificationStore, encode

NOTE = {
    "id": "0",
    "type": "mention",
    "created_at": "2026-01-01T00:00:00.000Z",
    "account": {"id": "1", "acct": "alice", "display_name": "Alice", "note": "x" * 200},
    "status": {
        "id": "9",
        "content": "<p>" + "hello " * 60 + "</p>",
        "account": {"id": "1"},
        "attachments": [],
        "hashtags": [],
    },
}


def micros(samples: list[int], fraction: float) -> float:
    return samples[min(len(samples) - 1, int(len(samples) * fraction))] / 1000


async def measure(base: Path, sync: str, adds: int) -> str:
    with tempfile.TemporaryDirectory(dir=base) as directory:
        return await _measure(Path(directory), sync, adds)


async def _measure(directory: Path, sync: str, adds: int) -> str:
    store = NotificationStore(directory, maintenance_interval=3600)
    await store.start()
    store.db.execute(f"PRAGMA synchronous={sync}")
    text = encode(NOTE)
    writes = []
    for i in range(adds):
        started = time.perf_counter_ns()
        store.add_text(str(10**17 + i), "mention", text)
        writes.append(time.perf_counter_ns() - started)
    reads = []
    for i in range(200):
        started = time.perf_counter_ns()
        store.since(str(10**17 + i * (adds // 200)), None, 100)
        reads.append(time.perf_counter_ns() - started)
    started = time.perf_counter_ns()
    await store.checkpoint()
    checkpoint_ms = (time.perf_counter_ns() - started) / 1e6
    await store.close()
    writes.sort()
    reads.sort()
    return (
        f"{directory.parent} synchronous={sync} ({len(text)} B, {adds} adds): add median "
        f"{micros(writes, 0.5):.0f} µs, p99 {micros(writes, 0.99):.0f} µs, "
        f"max {writes[-1] / 1000:.0f} µs; since(limit=100) median {micros(reads, 0.5):.0f} µs; "
        f"checkpoint {checkpoint_ms:.1f} ms"
    )


async def main(bases: list[Path]) -> None:
    for base in bases:
        for sync, adds in (("NORMAL", 2000), ("FULL", 300)):
            print(await measure(base, sync, adds))


if __name__ == "__main__":
    asyncio.run(main([Path(p) for p in sys.argv[1:]] or [Path("/tmp"), Path.cwd()]))
