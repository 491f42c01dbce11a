"""JSON-RPC over WebSocket: one frame per text (or binary) message, both ways; requests on one
connection are answered as each completes. Later, notifications are pushed on it too."""

from __future__ import annotations

import asyncio
import contextlib

from aiohttp import WSMsgType, web

from mastod.rpc.dispatch import Dispatcher
from mastod.tasks import TaskSet

MAX_IN_FLIGHT = 64  # per connection, as for the Unix socket


class WsPeer:
    transport = "websocket"

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
        self._lock = asyncio.Lock()

    async def send(self, frame: str) -> None:
        async with self._lock:
            if not self.ws.closed:
                await self.ws.send_str(frame)


async def serve_websocket(
    request: web.Request, dispatcher: Dispatcher, max_frame_bytes: int, tasks: TaskSet
) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(max_msg_size=max_frame_bytes, heartbeat=30.0)
    await ws.prepare(request)
    peer = WsPeer(ws)
    slots = asyncio.Semaphore(MAX_IN_FLIGHT)

    async def answer(frame: str | bytes) -> None:
        try:
            reply = await dispatcher.handle(frame, peer)
            if reply is not None:
                with contextlib.suppress(ConnectionError):
                    await peer.send(reply)
        finally:
            slots.release()

    async for msg in ws:
        if msg.type in (WSMsgType.TEXT, WSMsgType.BINARY):
            await slots.acquire()
            tasks.spawn(answer(msg.data), name="rpc.websocket")
        elif msg.type == WSMsgType.ERROR:
            break
    return ws
