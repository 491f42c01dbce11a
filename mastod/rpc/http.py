"""JSON-RPC over HTTP (`POST /rpc`) and WebSocket (`GET /rpc`), `GET /health`, and the
notification stream `GET /events` (Server-Sent Events, see `subscriptions`) when given.

Every route checks the Host header against loopback and configured names (a DNS-rebinding
guard); `/rpc` also needs `Authorization: Bearer <token>`, compared in constant time, and
runs nothing without it. This app is only ever bound to the RPC listener: the webhook
listener that a tunnel exposes is a different app that cannot reach it.
"""

from __future__ import annotations

import asyncio
import hmac
import re
import weakref
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiohttp import WSCloseCode, web

from mastod.rpc import errors
from mastod.rpc.dispatch import Dispatcher, encode, error_frame
from mastod.rpc.ws import serve_websocket
from mastod.tasks import TaskSet

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
JSON = "application/json"


class HttpPeer:
    transport = "http"


class LiveStreams:
    """The long-lived responses of the app (WebSockets, event streams). They end when the app
    shuts down; otherwise each would hold the daemon's stop for aiohttp's whole shutdown
    timeout (measured: 2 x `shutdown_timeout` with one idle WebSocket open)."""

    def __init__(self) -> None:
        self.websockets: weakref.WeakSet[web.WebSocketResponse] = weakref.WeakSet()
        self.stopping = asyncio.Event()

    async def close_all(self, _: web.Application) -> None:
        self.stopping.set()
        closing = [ws.close(code=WSCloseCode.GOING_AWAY) for ws in list(self.websockets)]
        await asyncio.gather(*closing, return_exceptions=True)


LIVE_STREAMS = web.AppKey("live_streams", LiveStreams)


def create_rpc_app(
    dispatcher: Dispatcher,
    *,
    token: str | None,
    allowed_hosts: Iterable[str],
    max_frame_bytes: int,
    tasks: TaskSet,
    health: Callable[[], dict[str, Any]],
    events: Handler | None = None,
) -> web.Application:
    """The RPC listener's app. `token=None` turns authentication off (config says so).
    `events` serves `GET /events` (behind the same Host guard and token as `/rpc`)."""
    hosts = LOOPBACK_NAMES | {h.lower() for h in allowed_hosts}
    app = web.Application(
        middlewares=[_host_guard(hosts), _auth(token)], client_max_size=max_frame_bytes
    )
    peer = HttpPeer()
    live = LiveStreams()
    app[LIVE_STREAMS] = live
    app.on_shutdown.append(live.close_all)

    async def rpc_post(request: web.Request) -> web.Response:
        if request.content_length is not None and request.content_length > max_frame_bytes:
            return _too_large(max_frame_bytes)
        body = bytearray()
        async for chunk in request.content.iter_any():  # a body may arrive in many pieces
            body += chunk
            if len(body) > max_frame_bytes:
                return _too_large(max_frame_bytes)
        answer = await dispatcher.handle(bytes(body), peer)
        if answer is None:
            return web.Response(status=204)
        return web.Response(text=answer, content_type=JSON)

    async def rpc_get(request: web.Request) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() != "websocket":
            return web.json_response(
                {"error": "GET /rpc is the WebSocket endpoint; use POST for HTTP calls"},
                status=400,
            )
        return await serve_websocket(request, dispatcher, max_frame_bytes, tasks, live.websockets)

    async def health_get(request: web.Request) -> web.Response:
        return web.json_response(health())

    app.router.add_post("/rpc", rpc_post)
    app.router.add_get("/rpc", rpc_get)
    app.router.add_get("/health", health_get)
    if events is not None:
        app.router.add_get("/events", events)
    return app


def _too_large(limit: int) -> web.Response:
    error = errors.RpcError(
        errors.INVALID_REQUEST, f"Invalid request: body larger than {limit} bytes"
    )
    return web.Response(status=413, text=encode(error_frame(error)), content_type=JSON)


_HOST = re.compile(
    r"\[(?P<v6>[0-9a-f:.]+)\](?::[0-9]{1,5})?"  # [::1] or [::1]:8765
    r"|(?P<bare>[0-9a-f]*:[0-9a-f:.]*:[0-9a-f.]*)"  # ::1 (unbracketed, as some clients send)
    r"|(?P<name>[a-z0-9.-]+)(?::[0-9]{1,5})?"  # localhost or localhost:8765
)


def host_name(header: str) -> str:
    """The name part of a Host header: `[::1]:8765` -> `::1`, `localhost:8765` -> `localhost`;
    "" for anything not of the form `name`, `name:port`, `[v6]` or `[v6]:port`."""
    match = _HOST.fullmatch(header.strip().lower())
    if match is None:
        return ""
    return match["v6"] or match["bare"] or match["name"]


def _host_guard(allowed: frozenset[str]) -> Any:
    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        host = request.headers.get("Host")
        if host is None or host_name(host) not in allowed:
            return web.json_response({"error": "Host not allowed"}, status=403)
        return await handler(request)

    return guard


def _auth(token: str | None) -> Any:
    expected = None if token is None else f"Bearer {token}".encode()

    @web.middleware
    async def auth(request: web.Request, handler: Handler) -> web.StreamResponse:
        # /execute checks the token itself: Platypush's headers and 401 format (rpc.execute)
        if expected is not None and request.path not in ("/health", "/execute"):
            given = request.headers.get("Authorization", "").encode("utf-8", "replace")
            if not hmac.compare_digest(given, expected):
                return web.json_response(
                    {"error": "missing or wrong bearer token"},
                    status=401,
                    headers={"WWW-Authenticate": 'Bearer realm="mastod"'},
                )
        return await handler(request)

    return auth
