"""Background work is kept and watched: every task goes through `TaskSet.spawn`, which holds
a strong reference until the task ends and logs a failure instead of losing it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any

from mastod.logs import get_logger

log = get_logger(__name__)

SETTLE = 2.0  # seconds a cancelled task may take to finish up (send its last answer)


class TaskSet:
    def __init__(self, name: str) -> None:
        self.name = name
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(
        self, coro: Coroutine[Any, Any, Any], *, name: str | None = None
    ) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def adopt_current(self) -> asyncio.Task[Any]:
        """The running task joins the set until `release`: a drain waits for it and cancels
        it like the others. For work that has a task of its own already (aiohttp runs each
        request in one), which a second task and a shield around it would only cost."""
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("adopt_current() outside a task")
        self._tasks.add(task)
        return task

    def release(self, task: asyncio.Task[Any]) -> None:
        """An adopted task is no longer one of the set's (its failures are its owner's)."""
        self._tasks.discard(task)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            log.error("task.failed", group=self.name, task=task.get_name(), exc_info=exc)

    def __len__(self) -> int:
        return len(self._tasks)

    async def drain(self, grace: float, *, cut_short: asyncio.Event | None = None) -> int:
        """Let running tasks finish for up to `grace` seconds (less once `cut_short` is set),
        then cancel the rest. Returns how many had to be cancelled.
        """
        pending = set(self._tasks)
        if pending:
            waiters: set[asyncio.Future[Any]] = {asyncio.ensure_future(asyncio.wait(pending))}
            if cut_short is not None:
                waiters.add(asyncio.ensure_future(cut_short.wait()))
            await asyncio.wait(waiters, timeout=grace, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                waiter.cancel()
            # still running, and still ours (an adopted task leaves the set when its work is
            # done, before the task itself ends)
            pending = {task for task in pending if task in self._tasks and not task.done()}
        await self.cancel()
        return len(pending)

    async def cancel(self, settle: float = SETTLE) -> None:
        """Cancel every task; one that catches the cancellation to finish up (an RPC call
        sending its "daemon stopped" answer) gets `settle` seconds, then is cancelled again."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            _, stuck = await asyncio.wait(tasks, timeout=settle)
            for task in stuck:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


async def stop_task(task: asyncio.Task[Any] | None) -> None:
    """Cancel `task` (if any) and wait until it has finished."""
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
