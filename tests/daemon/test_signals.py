"""The daemon's signal handling with real signals sent to this process: a stop signal ends
start-up wherever it is, a second one asks for haste, SIGHUP reloads."""

from __future__ import annotations

import asyncio
import os
import signal

from mastod.signals import Signals


async def test_a_stop_signal_interrupts_start_up_and_a_second_one_hurries() -> None:
    started = asyncio.Event()
    cleaned_up = asyncio.Event()
    reloads: list[str] = []

    async def start_up() -> None:
        started.set()
        try:
            await asyncio.Event().wait()  # a start-up step that never ends (a silent peer)
        finally:
            cleaned_up.set()

    with Signals(lambda: reloads.append("reloaded")) as signals:
        interrupted = asyncio.create_task(signals.unless_stopped(start_up()))
        await started.wait()
        os.kill(os.getpid(), signal.SIGHUP)
        while not reloads:
            await asyncio.sleep(0.01)
        assert not signals.stop.is_set()
        os.kill(os.getpid(), signal.SIGTERM)
        assert await asyncio.wait_for(interrupted, 10) is False
        assert cleaned_up.is_set()
        assert not signals.hurry.is_set()
        os.kill(os.getpid(), signal.SIGINT)
        await asyncio.wait_for(signals.hurry.wait(), 10)
    assert reloads == ["reloaded"]


async def test_start_up_that_finishes_runs_to_the_end() -> None:
    async def start_up() -> None:
        await asyncio.sleep(0)

    with Signals(lambda: None) as signals:
        assert await signals.unless_stopped(start_up()) is True
        assert not signals.stop.is_set()
