"""Background work is kept and watched: every task goes through `TaskSet.spawn`, which holds
a strong reference until the task ends and logs a failure instead of losing it."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from mastod.logs import get_logger

log = get_logger(__name__)


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

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            log.error("task.failed", group=self.name, task=task.get_name(), exc_info=exc)

    def __len__(self) -> int:
        return len(self._tasks)

    async def drain(self, grace: float) -> int:
        """Let running tasks finish for up to `grace` seconds, then cancel the rest.

        Returns how many had to be cancelled.
        """
        pending = set(self._tasks)
        if pending:
            _, pending = await asyncio.wait(pending, timeout=grace)
        await self.cancel()
        return len(pending)

    async def cancel(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
