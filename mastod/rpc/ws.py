"""JSON-RPC over WebSocket: one frame per text (or binary) message, both ways; requests on one
connection are answered as each completes, and subscriptions push notifications on it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, MutableSet

from aiohttp import WSMsgType, web

from mastod.rpc.dispatch import CloseCallbacks, Dispatcher
from mastod.tasks import TaskSet

MAX_IN_FLIGHT = 64  # per connection, as for the Unix socket


class WsPeer:
    transport = "websocket"

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
        self._lock = asyncio.Lock()
        self.closers = CloseCallbacks()

    async def send(self, frame: str) -> None:
        async with self._lock:
            if self.ws.closed:
                raise ConnectionResetError("the WebSocket is closed")
            await self.ws.send_str(frame)

    def on_close(self, callback: Callable[[], None]) -> None:
        self.closers.add(callback)


async def serve_websocket(
    request: web.Request,
    dispatcher: Dispatcher,
    max_frame_bytes: int,
    tasks: TaskSet,
    opened: MutableSet[web.WebSocketResponse] | None = None,
) -> web.WebSocketResponse:
    """Serve one WebSocket; it is kept in `opened` (closed at shutdown) while it is open."""
    ws = web.WebSocketResponse(max_msg_size=max_frame_bytes, heartbeat=30.0)
    await ws.prepare(request)
    if opened is not None:
        opened.add(ws)
    peer = WsPeer(ws)
    slots = asyncio.Semaphore(MAX_IN_FLIGHT)

    async def answer(frame: str | bytes) -> None:
        try:
            with contextlib.suppress(ConnectionError):
                await dispatcher.answer(frame, peer)
        finally:
            slots.release()

    try:
        async for msg in ws:
            if msg.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                await slots.acquire()
                tasks.spawn(answer(msg.data), name="rpc.websocket")
            elif msg.type == WSMsgType.ERROR:
                break
    finally:
        peer.closers.fire()
        if opened is not None:
            opened.discard(ws)
    return ws
