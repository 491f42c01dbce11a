"""The per-connection in-flight bound of the Unix socket and WebSocket transports."""

from __future__ import annotations

import asyncio

MAX_IN_FLIGHT = 64  # calls per connection; its reading pauses beyond it (back-pressure)


class CallSlots:
    """A connection's in-flight bound, counted in calls (a batch takes one per call, up to
    the whole bound): its reader waits for room before it reads the next frame."""

    def __init__(self, capacity: int = MAX_IN_FLIGHT) -> None:
        self.capacity = capacity
        self.used = 0
        self._freed = asyncio.Event()

    async def acquire(self, calls: int) -> int:
        """Wait until `calls` fit; the number taken (give it back to `release`)."""
        taken = min(calls, self.capacity)
        while self.used + taken > self.capacity:
            self._freed.clear()
            await self._freed.wait()
        self.used += taken
        return taken

    def release(self, taken: int) -> None:
        self.used -= taken
        self._freed.set()

    async def idle(self) -> None:
        """Wait until every call taken has been given back."""
        while self.used:
            self._freed.clear()
            await self._freed.wait()
