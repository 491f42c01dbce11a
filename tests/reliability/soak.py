"""The opt-in long soak: load with upstream faults, then the crash loop, for as long as asked.

Run from the project root (it takes the whole machine; nothing leaves 127.0.0.1)::

    .venv/bin/python -m tests.reliability.soak --minutes 10

Options: `--minutes` (total, default 10), `--clients` (default 200), `--window` (seconds of
load per window, default 60), `--kills` (SIGKILLs per crash round, default 20), `--source`
(the crash loop's notification source: `streaming`, the default, or `push`, which shows the
known Web Push ordering bug), `--seed`, `--no-faults` (load without upstream faults).

About half of the time goes to load windows against one long-lived daemon process: each
window runs `clients` RPC clients (Unix socket, HTTP, WebSocket) for `window` seconds with a
Web Push flood, healthy, stalled and never-reading clients (see `tests/reliability/load.py`),
while the sandbox injects random faults (429 storms, 5xx, HTML pages, resets, cut answers,
timeouts, slow answers, lost publish answers, failing notification fetches and backfills,
`Connection: close` spells). The daemon's RSS, fds and tasks after each window give its
memory over time. The other half runs crash rounds (`tests/reliability/crash.py`): `kills`
SIGKILLs each at random points while notifications stream in, a subscriber resuming with
`since_id`, compared with the sandbox at the end of each round.

It prints one summary per window and round, then totals: calls, errors by code, faults
injected, notifications delivered, RSS over time, fd counts, kills. The exit status is 0 when
every guarantee held (no unexpected answer, every notification exactly once, no fd or task
left behind, publish_status exactly once, RSS not growing across windows), else 1.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from mastod.sandbox import RunningSandbox
from mastod.sandbox.ops.posting import delete_status
from tests.reliability.crash import CrashReport, crash_loop
from tests.reliability.harness import DaemonProcess, scratch_dir, start_upstream
from tests.reliability.load import LoadReport, leaked, load_config, probe_env, run_load

RSS_GROWTH_ACROSS_WINDOWS_MIB = 48  # after the first window, the idle RSS may drift this much


@dataclass
class Soak:
    loads: list[LoadReport] = field(default_factory=list)
    crashes: list[CrashReport] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def check_load(self, report: LoadReport, first: LoadReport) -> None:
        n = len(self.loads)
        assert report.before is not None
        assert report.after is not None
        assert first.before is not None
        if report.unexpected:
            self.problems.append(f"window {n}: unexpected answers {report.unexpected[:3]}")
        if any(report.missing.values()) or any(report.duplicates.values()):
            self.problems.append(
                f"window {n}: missing {report.missing}, duplicated {report.duplicates}"
            )
        if report.not_exactly_once:
            self.problems.append(f"window {n}: published twice {report.not_exactly_once[:3]}")
        left = leaked(first.before, report.after)
        if left:
            self.problems.append(f"window {n}: not back to idle {left}")
        if n > 1:
            first_after = self.loads[0].after
            assert first_after is not None
            growth = (report.after.rss_kib - first_after.rss_kib) / 1024
            if growth > RSS_GROWTH_ACROSS_WINDOWS_MIB:
                self.problems.append(f"window {n}: idle RSS grew {growth:.1f} MiB since window 1")

    def check_crash(self, report: CrashReport) -> None:
        if not report.exact:
            got = report.received
            self.problems.append(
                f"crash round {len(self.crashes)}: {len(report.missing)} missing, "
                f"{len(got.duplicates())} duplicated, {len(got.out_of_order())} out of order"
            )

    def totals(self) -> str:
        outcomes: Counter[str] = Counter()
        faults: Counter[str] = Counter()
        for r in self.loads:
            outcomes.update(r.outcomes)
            faults.update(r.faults)
        calls = sum(r.total_calls for r in self.loads)
        notified = sum(r.notifications for r in self.loads)
        delivered = sum(sum(r.delivered.values()) for r in self.loads)
        lines = [
            "== soak totals",
            f"load windows: {len(self.loads)}, calls: {calls}, by outcome: {dict(outcomes)}",
            f"faults injected: {sum(faults.values())} {dict(faults)}",
            f"notifications (load): {notified} made, {delivered} deliveries to subscribers",
            "RSS over time (idle after each window, MiB; peak during):",
        ]
        for i, r in enumerate(self.loads, 1):
            assert r.before is not None
            assert r.after is not None
            lines.append(
                f"  window {i}: before {r.before.rss_kib / 1024:.1f}, after "
                f"{r.after.rss_kib / 1024:.1f}, peak {r.peak_rss_kib / 1024:.1f}; fds "
                f"{r.before.fds} -> {r.after.fds}; tasks {r.before.tasks} -> {r.after.tasks}"
            )
        kills = sum(c.kills for c in self.crashes)
        made = sum(c.created for c in self.crashes)
        got = sum(len(c.received.ids) for c in self.crashes)
        exact = sum(c.exact for c in self.crashes)
        lines.append(
            f"crash rounds: {len(self.crashes)} ({exact} exact), {kills} SIGKILLs, "
            f"{made} notifications made, {got} received"
        )
        lines.append(f"problems: {len(self.problems)}")
        lines.extend(f"  - {p}" for p in self.problems)
        return "\n".join(lines)


def forget_published(upstream: RunningSandbox, report: LoadReport) -> None:
    """Delete a window's published statuses from the sandbox once checked: its timelines are
    computed over every status, and a soak would otherwise slow the sandbox down for good."""
    sb = upstream.sandbox
    for status_id in report.published.values():
        status = sb.statuses.get(status_id)
        if status is not None:
            delete_status(sb, status)


async def soak(args: argparse.Namespace) -> Soak:
    rng = random.Random(args.seed)
    result = Soak()
    budget = float(args.minutes) * 60
    began = time.monotonic()

    def left() -> float:
        return budget - (time.monotonic() - began)

    print(f"soak: {args.minutes} min, seed {args.seed}", flush=True)
    upstream = await start_upstream(record=False)
    try:
        with scratch_dir("msoak-") as workdir:
            probe_file = workdir / "probe.json"
            daemon = DaemonProcess(
                load_config(workdir, upstream),
                module="tests.reliability.probe",
                env=probe_env(probe_file),
            )
            await daemon.start()
            await daemon.wait_source("registered")
            try:
                load_until = budget / 2
                while not result.loads or time.monotonic() - began + args.window < load_until:
                    report = await run_load(
                        upstream,
                        daemon,
                        probe_file,
                        seconds=args.window,
                        clients=args.clients,
                        faults=not args.no_faults,
                        rng=rng,
                        settle=90.0,
                    )
                    result.loads.append(report)
                    result.check_load(report, result.loads[0])
                    forget_published(upstream, report)
                    print(f"-- window {len(result.loads)}\n{report.summary()}", flush=True)
            finally:
                code = await daemon.stop()
                if code != 0:
                    result.problems.append(f"the load daemon exited {code}: {daemon.tail(5)}")
        while not result.crashes or left() > 45:
            with scratch_dir("msoak-") as workdir:
                crash = await crash_loop(
                    upstream,
                    Path(workdir),
                    source=args.source,
                    kills=args.kills,
                    rng=rng,
                    fail_fast=False,
                )
            result.crashes.append(crash)
            result.check_crash(crash)
            print(f"-- crash round {len(result.crashes)}: {crash.summary()}", flush=True)
    finally:
        await upstream.close()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.reliability.soak", description=__doc__)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--window", type=float, default=60.0)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--source", choices=("streaming", "push"), default="streaming")
    parser.add_argument("--seed", type=int, default=random.randrange(1 << 30))
    parser.add_argument("--no-faults", action="store_true")
    args = parser.parse_args(argv)
    # the sandbox logs each push that failed for good (the daemon was down): expected here
    logging.basicConfig(level=logging.ERROR)
    result = asyncio.run(soak(args))
    print(result.totals(), flush=True)
    return 1 if result.problems else 0


if __name__ == "__main__":
    sys.exit(main())
