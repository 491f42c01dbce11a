"""`TaskSet.adopt_current`: a task that already exists (aiohttp's, for an HTTP request) is one
of the set's while its work runs: a drain waits for it, then cancels it; once released, it is
left alone."""

from __future__ import annotations

import asyncio

from mastod.tasks import TaskSet


async def test_an_adopted_task_is_waited_for_then_cancelled() -> None:
    tasks = TaskSet("test")
    started = asyncio.Event()

    async def call() -> str:
        task = tasks.adopt_current()
        try:
            started.set()
            await asyncio.sleep(60)
            return "finished"
        except asyncio.CancelledError:
            return "cancelled"
        finally:
            tasks.release(task)

    running = asyncio.create_task(call())
    await started.wait()
    assert len(tasks) == 1
    assert await tasks.drain(0.05) == 1
    assert await running == "cancelled"
    assert len(tasks) == 0


async def test_a_task_released_during_the_drain_is_not_cancelled_nor_counted() -> None:
    tasks = TaskSet("test")
    adopted, answer, answered, carry_on = (asyncio.Event() for _ in range(4))

    async def request() -> str:
        task = tasks.adopt_current()
        adopted.set()
        await answer.wait()
        tasks.release(task)  # the call is answered; the request's task goes on (its reply)
        answered.set()
        await carry_on.wait()
        return "reply written"

    running = asyncio.create_task(request())
    await adopted.wait()
    hurry = asyncio.Event()
    draining = asyncio.create_task(tasks.drain(60, cut_short=hurry))
    await asyncio.sleep(0)  # the drain has taken the set's tasks and waits for them
    answer.set()
    await answered.wait()
    hurry.set()
    assert await draining == 0
    assert not running.done()
    carry_on.set()
    assert await running == "reply written"
