"""The crash loop, shared by `test_crash_durability` and the soak: while bob keeps mentioning
alice, SIGKILL the daemon at random points and restart it, with a subscriber on the Unix
socket that resumes with `since_id` each time; then stop, settle, and compare what the
subscriber got with what the sandbox created."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

from mastod.sandbox import RunningSandbox
from tests.reliability.harness import (
    Actor,
    DaemonProcess,
    Received,
    alice_notifications,
    free_port,
    generate,
    resuming_subscriber,
    wait_until,
    write_config,
)

SETTLE_TIMEOUT = 20.0  # after the last start; a settle takes a few seconds


@dataclass
class CrashReport:
    source: str
    kills: int = 0
    kills_before_ready: int = 0
    created: int = 0
    received: Received = field(default_factory=Received)
    expected: list[str] = field(default_factory=list)
    seconds: float = 0.0
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)

    @property
    def exact(self) -> bool:
        return self.received.ids == self.expected

    def summary(self) -> str:
        got = self.received
        return (
            f"{self.source}: {self.kills} SIGKILLs ({self.kills_before_ready} before ready), "
            f"{self.created} notifications created, {len(got.ids)} received over "
            f"{got.connections} connections, {len(self.missing)} missing, "
            f"{len(got.duplicates())} duplicated, {len(got.out_of_order())} out of order, "
            f"{len(self.unexpected)} unexpected, {self.seconds:.1f}s"
        )


def _fail_fast(report: CrashReport, kills: int) -> None:
    """A duplicate or an id out of order is final: stop the loop at once."""
    got = report.received
    if got.duplicates() or got.out_of_order():
        raise AssertionError(
            f"{report.source}, after {kills} SIGKILLs: duplicated {got.duplicates()[:5]}, "
            f"out of order (previous, next) {got.out_of_order()[:5]}"
        )


def crash_config(workdir: Path, upstream: RunningSandbox, source: str) -> Path:
    webhook = free_port() if source == "push" else None
    return write_config(workdir, upstream.url, source=source, webhook_port=webhook)


async def crash_loop(
    upstream: RunningSandbox,
    workdir: Path,
    *,
    source: str,
    kills: int,
    alive: tuple[float, float] = (0.1, 1.2),
    early_kill_chance: float = 0.25,
    pause: tuple[float, float] = (0.005, 0.05),
    rng: random.Random | None = None,
    fail_fast: bool = True,
) -> CrashReport:
    """`kills` SIGKILLs at random points (a share of them while the daemon is still starting),
    then a final start, and the subscriber settles. Returns what happened; the caller asserts.
    `fail_fast`: raise AssertionError as soon as a duplicate or an id out of order is seen."""
    rng = rng or random.Random()
    report = CrashReport(source)
    began = time.monotonic()
    daemon = DaemonProcess(crash_config(workdir, upstream, source))
    actor = Actor(upstream)
    stop_acting, stop_reading = asyncio.Event(), asyncio.Event()
    since = alice_notifications(upstream)[-1]  # the seed's newest: before everything we make
    tasks: list[asyncio.Task[object]] = []
    try:
        started = time.monotonic()
        await daemon.start()
        start_up = time.monotonic() - started  # how long a start takes here, to aim into it
        await daemon.wait_source("connected" if source == "streaming" else "registered")
        tasks.append(
            asyncio.create_task(
                resuming_subscriber(daemon.socket_path, since, report.received, stop_reading)
            )
        )
        tasks.append(asyncio.create_task(generate(actor, stop_acting, pause=pause, limit=100_000)))
        for _ in range(kills):
            if rng.random() < early_kill_chance:
                # a random point of the start-up: imports, store opening, backfill, listeners
                await asyncio.sleep(rng.uniform(0.02, start_up))
            else:
                await daemon.wait_ready()
                await asyncio.sleep(rng.uniform(*alive))
            await daemon.kill()
            if fail_fast:
                _fail_fast(report, daemon.kills)
            await asyncio.sleep(rng.uniform(0.0, 0.3))  # down for a while: notifications pile up
            await daemon.spawn()
        report.kills = daemon.kills
        stop_acting.set()
        await tasks[1]
        await daemon.wait_ready()
        expected = alice_notifications(upstream, after=since)
        report.expected = expected
        report.created = len(actor.made)
        expected_set = set(expected)
        got = report.received
        with contextlib.suppress(AssertionError):  # what is missing is reported, not raised
            await wait_until(
                lambda: set(got.ids) >= expected_set, SETTLE_TIMEOUT, "every notification"
            )
        await asyncio.sleep(0.5)  # anything extra (a duplicate) would arrive now
        report.missing = [i for i in expected if i not in set(got.ids)]
        report.unexpected = [i for i in got.ids if i not in expected_set]
        # the starts that never logged daemon.ready were killed during start-up
        report.kills_before_ready = daemon.starts - len(daemon.log_events("daemon.ready"))
    finally:
        report.seconds = time.monotonic() - began
        stop_acting.set()
        stop_reading.set()
        for task in tasks:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, 10)
        await actor.close()
        if daemon.running:
            code = await daemon.stop()
            assert code == 0, daemon.tail()
    return report
