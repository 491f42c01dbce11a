"""The daemon's signals, as systemd sends them.

SIGTERM (or SIGINT) asks for a clean stop, at any moment, start-up included; a second one
while stopping means "now": the grace period for in-flight calls is cut short. SIGHUP
reloads what can change without a restart (see `mastod.reload`).
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable

from mastod.logs import get_logger
from mastod.tasks import stop_task

log = get_logger(__name__)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Signals:
    def __init__(self, on_reload: Callable[[], None]) -> None:
        self.stop = asyncio.Event()
        self.hurry = asyncio.Event()  # a second stop signal: stop now
        self._on_reload = on_reload
        self._loop = asyncio.get_running_loop()

    def __enter__(self) -> Signals:
        for sig in STOP_SIGNALS:
            self._loop.add_signal_handler(sig, self._terminate, sig)
        self._loop.add_signal_handler(signal.SIGHUP, self._reload)
        return self

    def __exit__(self, *_: object) -> None:
        for sig in (*STOP_SIGNALS, signal.SIGHUP):
            self._loop.remove_signal_handler(sig)

    async def unless_stopped(self, work: Awaitable[None]) -> bool:
        """Run `work` unless a stop signal comes first (then cancel it); True if it ran."""
        task = asyncio.ensure_future(work)
        stopped = asyncio.ensure_future(self.stop.wait())
        try:
            await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
        if task.done():
            task.result()  # its failure is the caller's
            return True
        await stop_task(task)
        return False

    def _terminate(self, sig: signal.Signals) -> None:
        if not self.stop.is_set():
            self.stop.set()
            return
        if not self.hurry.is_set():
            log.warning("daemon.stop_now", signal=sig.name)
            self.hurry.set()

    def _reload(self) -> None:
        try:
            self._on_reload()
        except Exception:  # a reload must never take the daemon down
            log.exception("daemon.reload_crashed")
