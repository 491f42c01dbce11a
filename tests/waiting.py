"""Waiting on conditions in tests, never on time: a bound only turns a hang into a failure."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

BOUND = 30.0  # seconds before a wait counts as a hang


async def until(predicate: Callable[[], bool], what: str, timeout: float = BOUND) -> None:
    """Return once `predicate()` holds (polled)."""
    try:
        async with asyncio.timeout(timeout):
            while not predicate():
                await asyncio.sleep(0.01)
    except TimeoutError:
        raise AssertionError(f"not reached: {what}") from None


async def closed_by_server(reader: asyncio.StreamReader) -> bytes:
    """What the server sent before it closed the connection (a reset counts as closed)."""
    try:
        return await asyncio.wait_for(reader.read(), BOUND)
    except ConnectionResetError:
        return b""
