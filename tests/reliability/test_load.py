"""Load: 200 concurrent RPC clients on the Unix socket, HTTP and WebSocket for 10 s (30 s and
more in the soak, `python -m tests.reliability.soak`), with a Web Push flood fanned out to
subscribers, a subscriber that never reads and a client that never reads its replies.

It proves: every call got its expected answer (no unexpected error, every client made
progress: none was starved by the stalled ones), every healthy subscriber got every
notification exactly once, the stalled subscriber was cut off (its queue is bounded) rather
than slowing anyone, and afterwards the daemon is back to its idle file descriptors and
event-loop tasks, with its memory bounded. The figures are printed (`pytest -s`).
"""

from __future__ import annotations

import os
from pathlib import Path

from mastod.sandbox import RunningSandbox
from tests.reliability.harness import DaemonProcess
from tests.reliability.load import (
    UNREAD_UNIX,
    UNREAD_WS,
    leaked,
    load_config,
    probe_env,
    run_load,
)

SECONDS = float(os.environ.get("RELIABILITY_LOAD_SECONDS", "10"))
CLIENTS = 200
# Memory bounds (hang-style detectors, not performance targets): the daemon idles at about
# 60 MiB; what it may keep after the run (allocator arenas, caches) and hold at its peak.
# A reply or notification buffer that grew with the stalled clients would blow through both.
RSS_GROWTH_AFTER_MIB = 64
RSS_PEAK_OVER_BEFORE_MIB = 160


async def test_load(upstream: RunningSandbox, workdir: Path) -> None:
    probe_file = workdir / "probe.json"
    daemon = DaemonProcess(
        load_config(workdir, upstream), module="tests.reliability.probe", env=probe_env(probe_file)
    )
    try:
        await daemon.start()
        await daemon.wait_source("registered")
        report = await run_load(upstream, daemon, probe_file, seconds=SECONDS, clients=CLIENTS)
        print(report.summary())
        assert report.before is not None
        assert report.after is not None
        assert not report.unexpected, report.unexpected[:10]
        assert len(report.per_client) == CLIENTS
        assert min(report.per_client) >= 3, report.per_client  # nobody starved
        assert report.notifications >= 100
        assert all(n == 0 for n in report.missing.values()), report.missing
        assert all(n == 0 for n in report.duplicates.values()), report.duplicates
        assert report.stalled_dropped, "the stalled subscriber was never cut off"
        # the Unix socket pushed the never-reading client back: the daemon stopped reading it
        assert 0 < report.unread_requests["unix"] < UNREAD_UNIX, report.unread_requests
        assert report.unread_requests["websocket"] == UNREAD_WS
        assert not leaked(report.before, report.after), leaked(report.before, report.after)
        before, after = report.before.rss_kib / 1024, report.after.rss_kib / 1024
        assert after - before < RSS_GROWTH_AFTER_MIB, report.summary()
        assert report.peak_rss_kib / 1024 - before < RSS_PEAK_OVER_BEFORE_MIB, report.summary()
        assert await daemon.stop() == 0
    finally:
        if daemon.running:
            await daemon.kill()
