"""Crash durability: the daemon as a real process (`python -m mastod serve`), SIGKILLed at
random points while notifications stream in, and its store torn on disk.

- `test_sigkill_loop[streaming]`: 20 SIGKILLs at random points (about a quarter during
  start-up) while bob keeps mentioning alice; a subscriber on the Unix socket resumes with
  `since_id=<last received>` after each. After the last start and a settle, it holds every
  notification the sandbox made for alice, exactly once, in Mastodon id order (length, then
  lexical). Hundreds of ids, so they cross from 1 to 3 digits.
- `test_torn_wal_tail`: the SQLite WAL's tail torn as a power loss leaves it (cut mid-frame,
  commit frame lost = killed mid-transaction, garbage); the daemon restarts, SQLite's recovery
  drops the torn transaction (the store opens with one row fewer), the backfill fetches it
  again, a resuming subscriber gets only what is new and a replaying one everything once, and
  the store passes `integrity_check`.
- The same kill loop with Web Push as the source (a push only triggers a single-flight,
  in-order backfill, so an acknowledged push that was not yet stored is fetched again after a
  restart), and `test_torn_wal_resume_during_backfill` (no duplicate after a torn WAL).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import re
import sqlite3
import struct
from pathlib import Path

import pytest

from mastod.sandbox import RunningSandbox
from tests.reliability.crash import crash_config, crash_loop
from tests.reliability.harness import (
    Actor,
    DaemonProcess,
    Received,
    alice_notifications,
    resuming_subscriber,
    wait_until,
)

KILLS = 20


@pytest.mark.parametrize(
    "source",
    [
        "streaming",
        "push",
    ],
)
async def test_sigkill_loop(upstream: RunningSandbox, workdir: Path, source: str) -> None:
    jitter: asyncio.Task[None] | None = None
    if source == "push":
        # Mastodon's answers take varying time; here 0-300 ms for each notification fetch
        jitter = asyncio.create_task(_jitter_notification_fetches(upstream, 0.3))
    try:
        report = await crash_loop(upstream, workdir, source=source, kills=KILLS)
    finally:
        if jitter is not None:
            jitter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await jitter
    print(report.summary())
    assert report.kills >= KILLS
    assert report.created >= 100, report.summary()  # notifications kept coming throughout
    got = report.received
    assert got.ids == report.expected, (
        report.summary(),
        report.missing[:10],
        got.duplicates()[:10],
        got.out_of_order()[:10],
    )
    # it resumed after the kills (a daemon killed early in its start-up may never have
    # accepted it), and no subscribe was refused
    assert got.connections > (report.kills - report.kills_before_ready) // 2
    assert not any(e.startswith("{") for e in got.errors), got.errors


async def _jitter_notification_fetches(upstream: RunningSandbox, most: float) -> None:
    fault = upstream.sandbox.faults.add(
        re.compile(r"^/api/v1/notifications/\d+$"), "latency", count=None, method="GET"
    )
    rng = random.Random()
    while True:
        fault.seconds = rng.uniform(0.0, most)
        await asyncio.sleep(0.01)


# -- Web Push: exact reproductions ----------------------------------------------------------------


async def _push_daemon(upstream: RunningSandbox, workdir: Path) -> DaemonProcess:
    daemon = DaemonProcess(crash_config(workdir, upstream, "push"))
    await daemon.start()
    await daemon.wait_source("registered")
    return daemon


def _wal_frame_size(wal: Path) -> int:
    with wal.open("rb") as f:
        header = f.read(32)
    magic, _version, page_size = struct.unpack(">III", header[:12])
    assert magic in (0x377F0682, 0x377F0683), "not a WAL file"
    return 24 + int(page_size)


def _tear(wal: Path, how: str, rng: random.Random) -> None:
    size = wal.stat().st_size
    frame = _wal_frame_size(wal)
    assert size >= 32 + 2 * frame, f"WAL too small to tear: {size}"
    if how == "cut mid-frame":  # a write of the last frame interrupted
        os.truncate(wal, size - frame // 3)
    elif how == "commit frame lost":  # the transaction's other frames remain, uncommitted
        os.truncate(wal, size - frame)
    elif how == "garbage tail":  # sectors of the last frame never written: stale bytes
        with wal.open("r+b") as f:
            f.seek(size - 700)
            f.write(rng.randbytes(700))
    else:
        raise ValueError(how)


async def _torn_restart(
    upstream: RunningSandbox, workdir: Path, how: str, daemon: DaemonProcess, actor: Actor
) -> tuple[str, list[str], list[str]]:
    """Start, take 30 notifications (a subscriber gets them all), SIGKILL, tear the WAL's tail,
    make 5 more while down, start again. Returns (since_id before all, first 30, the 5)."""
    before_start = alice_notifications(upstream)[-1]
    got, stop = Received(), asyncio.Event()
    await daemon.start()
    await daemon.wait_source("connected")
    reader = asyncio.create_task(resuming_subscriber(daemon.socket_path, before_start, got, stop))
    try:
        first = [i for _ in range(30) for i in await actor.mention()]
        await wait_until(lambda: got.ids == first, 20, "the first 30 notifications")
        await daemon.kill()
    finally:
        stop.set()
        await reader
    _tear(workdir / "state" / "notifications.sqlite3-wal", how, random.Random())
    while_down = [i for _ in range(5) for i in await actor.mention()]
    await daemon.start()
    # SQLite's recovery dropped the torn transaction: the store opened with fewer rows
    opened = [e["rows"] for e in daemon.log_events("store.opened")]
    assert opened == [0, len(first) - 1], opened
    return before_start, first, while_down


async def _subscribe_until(
    daemon: DaemonProcess, since_id: str, count: int, what: str
) -> list[str]:
    """What a subscriber from `since_id` receives: `count` notifications, and anything more
    within half a second after them (a duplicate would come then)."""
    got, stop = Received(), asyncio.Event()
    reader = asyncio.create_task(resuming_subscriber(daemon.socket_path, since_id, got, stop))
    try:
        with contextlib.suppress(AssertionError):  # a shortfall shows in the comparison
            await wait_until(lambda: len(got.ids) >= count, 20, what)
        await asyncio.sleep(0.5)
    finally:
        stop.set()
        await reader
    return got.ids


@pytest.mark.parametrize("how", ["cut mid-frame", "commit frame lost", "garbage tail"])
async def test_torn_wal_tail(upstream: RunningSandbox, workdir: Path, how: str) -> None:
    daemon = DaemonProcess(crash_config(workdir, upstream, "streaming"))
    actor = Actor(upstream)
    try:
        before_start, first, while_down = await _torn_restart(upstream, workdir, how, daemon, actor)
        await wait_until(
            lambda: len(daemon.log_events("backfill.done")) >= 1, 20, "the restart's backfill"
        )
        # resuming where it stopped: what is new, once; the re-fetched torn one is not new
        resumed = await _subscribe_until(daemon, first[-1], len(while_down), "resumed")
        assert resumed == while_down
        # replaying everything: all of it once, the torn one fetched again by the backfill
        replayed = await _subscribe_until(daemon, before_start, 35, "replayed")
        assert replayed == first + while_down
        assert await daemon.stop() == 0
        db = sqlite3.connect(workdir / "state" / "notifications.sqlite3")
        try:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert db.execute("SELECT count(*) FROM notifications").fetchone()[0] == 35
        finally:
            db.close()
    finally:
        await actor.close()
        if daemon.running:
            await daemon.kill()


async def test_torn_wal_resume_during_backfill(upstream: RunningSandbox, workdir: Path) -> None:
    daemon = DaemonProcess(crash_config(workdir, upstream, "streaming"))
    actor = Actor(upstream)
    try:
        # the restart's backfill takes a second to answer: the subscriber resumes meanwhile
        upstream.sandbox.faults.add(
            re.compile(r"^/api/v1/notifications$"), "latency", seconds=1.0, count=None
        )
        _, first, while_down = await _torn_restart(
            upstream, workdir, "commit frame lost", daemon, actor
        )
        resumed = await _subscribe_until(daemon, first[-1], len(while_down), "resumed")
        assert resumed == while_down
    finally:
        await actor.close()
        if daemon.running:
            await daemon.kill()
