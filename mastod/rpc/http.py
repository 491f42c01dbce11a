"""JSON-RPC over HTTP (`POST /rpc`) and WebSocket (`GET /rpc`), `GET /health`, and the
notification stream `GET /events` (Server-Sent Events, see `subscriptions`) when given.

Every route checks the Host header against loopback and configured names (a DNS-rebinding
guard); `/rpc` also needs `Authorization: Bearer <token>`, compared in constant time, and
runs nothing without it. A request a browser sends for a page of another origin is refused
(403), and `POST /rpc` takes only `application/json` (415), so no web page can drive it even
when the token is off. This app is only ever bound to the RPC listener: the webhook
listener that a tunnel exposes is a different app that cannot reach it.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import logging
import re
import weakref
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiohttp import WSCloseCode, web
from aiohttp.abc import AbstractAccessLogger

from mastod.listeners import deadline_middleware, request_read
from mastod.logs import get_logger
from mastod.rpc.dispatch import Dispatcher
from mastod.rpc.wire import FrameTooLarge, encode, error_frame
from mastod.rpc.ws import serve_websocket
from mastod.tasks import TaskSet

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

log = get_logger(__name__)

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
JSON = "application/json"


class HttpPeer:
    transport = "http"


class AccessLog(AbstractAccessLogger):
    """A line per HTTP request, at `info`, except an RPC exchange that went through: its
    `rpc.call` lines say it all (aiohttp's own access line would be a second line per call).
    The query is left out: it may carry a credential."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        if request.path == "/rpc" and response.status < 400:
            return
        log.info(
            "http.request",
            verb=request.method,
            path=request.path[:200],
            status=response.status,
            ms=round(time * 1000, 2),
        )

    @property
    def enabled(self) -> bool:
        return log.enabled(logging.INFO)


class LiveStreams:
    """The long-lived responses of the app (WebSockets, event streams). They end when the app
    shuts down; otherwise each would hold the daemon's stop for aiohttp's whole shutdown
    timeout (twice over, with one idle WebSocket open)."""

    def __init__(self) -> None:
        self.websockets: weakref.WeakSet[web.WebSocketResponse] = weakref.WeakSet()
        self.stopping = asyncio.Event()

    async def close_all(self, _: web.Application) -> None:
        self.stopping.set()
        closing = [ws.close(code=WSCloseCode.GOING_AWAY) for ws in list(self.websockets)]
        await asyncio.gather(*closing, return_exceptions=True)


LIVE_STREAMS = web.AppKey("live_streams", LiveStreams)


class Bearer:
    """The token `/rpc` wants (None: no authentication); the daemon replaces it on SIGHUP."""

    def __init__(self, token: str | None) -> None:
        self.token = token


BEARER = web.AppKey("bearer", Bearer)


def create_rpc_app(
    dispatcher: Dispatcher,
    *,
    token: str | None,
    allowed_hosts: Iterable[str],
    tasks: TaskSet,
    health: Callable[[], dict[str, Any]],
    events: Handler | None = None,
) -> web.Application:
    """The RPC listener's app. `token=None` turns authentication off (config says so).
    `events` serves `GET /events` (behind the same Host guard and token as `/rpc`)."""
    hosts = LOOPBACK_NAMES | {h.lower() for h in allowed_hosts}
    limit = dispatcher.frame_limit
    bearer = Bearer(token)
    app = web.Application(
        middlewares=[deadline_middleware, _guard(hosts, bearer)],
        client_max_size=limit,
    )
    app[BEARER] = bearer
    peer = HttpPeer()
    live = LiveStreams()
    app[LIVE_STREAMS] = live
    app.on_shutdown.append(live.close_all)

    async def rpc_post(request: web.Request) -> web.Response:
        if request.content_type != JSON:  # a form or text/plain is what a page sends freely
            return web.json_response(
                {"error": "POST /rpc needs Content-Type: application/json"}, status=415
            )
        if request.content_length is not None and request.content_length > limit:
            return _too_large(FrameTooLarge(dispatcher.max_frame_bytes))
        body = bytearray()
        while chunk := await request.content.readany():  # a body may arrive in many pieces
            body += chunk
            if len(body) > limit:
                return _too_large(FrameTooLarge(dispatcher.max_frame_bytes))
        request_read(request)
        try:
            frame = dispatcher.parse(bytes(body))
        except FrameTooLarge as exc:
            return _too_large(exc)
        # One of the tasks the daemon drains on SIGTERM, like the other transports' calls:
        # past the grace period it is answered "daemon stopped", not cut off. (aiohttp runs
        # each request in a task of its own.)
        call = tasks.adopt_current()
        try:
            answer = await dispatcher.handle(frame, peer)
        finally:
            tasks.release(call)
        if answer is None:
            return web.Response(status=204)
        return web.Response(text=answer, content_type=JSON)

    async def rpc_get(request: web.Request) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() != "websocket":
            return web.json_response(
                {"error": "GET /rpc is the WebSocket endpoint; use POST for HTTP calls"},
                status=400,
            )
        return await serve_websocket(request, dispatcher, tasks, live.websockets)

    async def health_get(request: web.Request) -> web.Response:
        body = health()  # 503 when something is wrong: monitors look at the status code
        return web.json_response(body, status=503 if body["status"] == "unhealthy" else 200)

    app.router.add_post("/rpc", rpc_post)
    app.router.add_get("/rpc", rpc_get)
    app.router.add_get("/health", health_get)
    if events is not None:
        app.router.add_get("/events", events)
    return app


def _too_large(refused: FrameTooLarge) -> web.Response:
    return web.Response(status=413, text=encode(error_frame(refused.error)), content_type=JSON)


_HOST = re.compile(
    r"\[(?P<v6>[0-9a-f:.]+)\](?::[0-9]{1,5})?"  # [::1] or [::1]:8765
    r"|(?P<bare>[0-9a-f]*:[0-9a-f:.]*:[0-9a-f.]*)"  # ::1 (unbracketed, as some clients send)
    r"|(?P<name>[a-z0-9.-]+)(?::[0-9]{1,5})?"  # localhost or localhost:8765
)


@functools.lru_cache(maxsize=256)
def host_name(header: str) -> str:
    """The name part of a Host header: `[::1]:8765` -> `::1`, `localhost:8765` -> `localhost`;
    "" for anything not of the form `name`, `name:port`, `[v6]` or `[v6]:port`. (Remembered:
    a client sends the same Host with every call.)"""
    match = _HOST.fullmatch(header.strip().lower())
    if match is None:
        return ""
    return match["v6"] or match["bare"] or match["name"]


def _guard(allowed_hosts: frozenset[str], bearer: Bearer) -> Any:
    """The RPC listener's checks, in order: the Host, the Origin, the bearer token."""

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        refused = _host_refused(request, allowed_hosts)
        if refused is None:
            refused = _origin_refused(request)
        if refused is None:
            refused = _token_refused(request, bearer.token)
        return refused if refused is not None else await handler(request)

    return guard


def _host_refused(request: web.Request, allowed: frozenset[str]) -> web.Response | None:
    """A name other than loopback's or the configured ones is a DNS-rebinding page's."""
    host = request.headers.get("Host")
    if host is None or host_name(host) not in allowed:
        return web.json_response({"error": "Host not allowed"}, status=403)
    return None


def _origin_refused(request: web.Request) -> web.Response | None:
    """A browser names the page that made a request in `Origin`; only a page served from this
    listener itself may call. A page elsewhere could otherwise post calls with a simple
    request (no preflight) and read notifications on a WebSocket (which CORS does not cover)."""
    origin = request.headers.get("Origin")
    # /execute has its own check: Platypush's browser extension may call it, pages may not
    if origin is not None and request.path not in ("/health", "/execute"):
        own = {f"http://{request.host}".lower(), f"https://{request.host}".lower()}
        if origin.strip().lower() not in own:
            return web.json_response({"error": "cross-origin requests are refused"}, status=403)
    return None


def _token_refused(request: web.Request, token: str | None) -> web.Response | None:
    # /execute checks the token itself: Platypush's headers and 401 format (rpc.execute)
    if token is not None and request.path not in ("/health", "/execute"):
        expected = f"Bearer {token}".encode()
        given = request.headers.get("Authorization", "").encode("utf-8", "replace")
        if not hmac.compare_digest(given, expected):
            return web.json_response(
                {"error": "missing or wrong bearer token"},
                status=401,
                headers={"WWW-Authenticate": 'Bearer realm="mastod"'},
            )
    return None
