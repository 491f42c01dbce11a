"""JSON-RPC over WebSocket: one frame per text (or binary) message, both ways; requests on one
connection are answered as each completes, and subscriptions push notifications on it.

Back-pressure as on the Unix socket: a send waits while the client's socket buffer is full,
so a client that never reads holds at most its in-flight calls' answers (`CallSlots`), and
the connection stops being read beyond them. When the connection ends, its calls still
running are cancelled: nobody is left to read their answers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, MutableSet

from aiohttp import WSCloseCode, WSMsgType, web

from mastod.rpc.dispatch import Dispatcher
from mastod.rpc.peers import CloseCallbacks
from mastod.rpc.slots import CallSlots
from mastod.rpc.wire import Frame, FrameTooLarge
from mastod.tasks import TaskSet


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

    async def close(self) -> None:
        """Close the WebSocket (1011: the daemon cannot serve it); the read loop then ends."""
        async with self._lock:  # after a send in progress, never inside it
            await self.ws.close(code=WSCloseCode.INTERNAL_ERROR, message=b"server error")


async def serve_websocket(
    request: web.Request,
    dispatcher: Dispatcher,
    tasks: TaskSet,
    opened: MutableSet[web.WebSocketResponse] | None = None,
) -> web.WebSocketResponse:
    """Serve one WebSocket; it is kept in `opened` (closed at shutdown) while it is open."""
    ws = web.WebSocketResponse(max_msg_size=dispatcher.frame_limit, heartbeat=30.0)
    await ws.prepare(request)
    if opened is not None:
        opened.add(ws)
    peer = WsPeer(ws)
    slots = CallSlots()
    running: set[asyncio.Task[None]] = set()

    async def answer(frame: Frame, taken: int) -> None:
        try:
            with contextlib.suppress(ConnectionError):
                await dispatcher.answer(frame, peer)
        finally:
            slots.release(taken)

    try:
        async for msg in ws:
            if msg.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                try:
                    parsed = dispatcher.parse(msg.data)
                except FrameTooLarge as exc:
                    await ws.close(code=WSCloseCode.MESSAGE_TOO_BIG, message=str(exc).encode())
                    break
                taken = await slots.acquire(parsed.calls)
                if _gone(request):  # messages read before the client vanished: nobody to answer
                    slots.release(taken)
                    break
                task = tasks.spawn(answer(parsed, taken), name="rpc.websocket")
                running.add(task)
                task.add_done_callback(running.discard)
            elif msg.type == WSMsgType.ERROR:
                break
    finally:
        for task in list(running):
            task.cancel()
        peer.closers.fire()
        if opened is not None:
            opened.discard(ws)
    return ws


def _gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()
