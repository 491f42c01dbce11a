"""What retention costs the event loop, and the disk space it gives back: 50,000 stored
notifications (~1.3 KB of JSON each) pruned to the default 10,000 by one maintenance run
(prune in batches, incremental vacuum, checkpoint), while a ticker measures how long the loop
was held at most (what an RPC call arriving then would wait).

    .venv/bin/python -m tests.notify.bench_retention [DIR]   # default: /tmp

Not collected by pytest (no test_ prefix): it measures, it asserts nothing.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

from mastod.notify import retention
from mastod.notify.store import FILENAME, NotificationStore
from tests.notify.conftest import note
from tests.notify.filesystems import disk_use

ROWS = 50_000
KEEP = 10_000


async def ticker(stop: asyncio.Event, gaps: list[float]) -> None:
    """The longest the loop went without running this task (asking to wake every 1 ms)."""
    last = time.perf_counter()
    while not stop.is_set():
        await asyncio.sleep(0.001)
        now = time.perf_counter()
        gaps.append(now - last)
        last = now


async def measure(base: Path) -> str:
    with tempfile.TemporaryDirectory(dir=base) as directory:
        state = Path(directory)
        store = NotificationStore(state, max_rows=KEEP, max_age=None, maintenance_interval=3600)
        await store.start()
        for first in range(1, ROWS + 1, 1000):
            with store.transaction():
                for nid in range(first, first + 1000):
                    store.add(note(nid, pad=1000))
        await store.checkpoint()
        before = disk_use(state, FILENAME)  # the WAL cut back, as maintenance leaves it
        phases = []
        began = time.perf_counter()
        for name, step in (
            ("idle (the machine's own noise)", asyncio.sleep(1.0)),
            ("prune", retention.prune(store)),
            ("vacuum", retention.vacuum(store)),
            ("checkpoint", store.checkpoint()),
        ):
            stop, gaps = asyncio.Event(), []
            tick = asyncio.create_task(ticker(stop, gaps))
            await step
            stop.set()
            await tick
            gaps.sort()
            phases.append(f"{name} {gaps[-1] * 1000:.1f} ms (p99 {p99(gaps) * 1000:.1f})")
        took = time.perf_counter() - began - 1.0
        after = disk_use(state, FILENAME)
        await store.close()
    return (
        f"{base}: {ROWS} -> {KEEP} rows in {took:.2f}s; loop held at most: "
        f"{', '.join(phases)}; disk {before / 1e6:.1f} MB -> {after / 1e6:.1f} MB"
    )


def p99(sorted_samples: list[float]) -> float:
    return sorted_samples[int(len(sorted_samples) * 0.99)]


def main() -> None:
    for base in [Path(p) for p in sys.argv[1:]] or [Path("/tmp")]:
        print(asyncio.run(measure(base)))


if __name__ == "__main__":
    main()
