"""A small fake Mastodon on loopback: `/api/v2/instance`, `/api/v1/notifications` with
`min_id`/`max_id`/`limit`/`types[]` and Link headers, one notification by id, and the
streaming WebSocket, which checks the bearer token and runs a per-connection script."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from tests.servers import serve

TOKEN = "upstream-token-4e3d2c1b0a"

Script = Callable[[web.WebSocketResponse, int], Awaitable[None]]


def event(notification: dict[str, Any]) -> str:
    """A streaming frame as Mastodon sends it: the payload is JSON text inside JSON."""
    return json.dumps(
        {
            "stream": ["user:notification"],
            "event": "notification",
            "payload": json.dumps(notification),
        }
    )


def _order(nid: str) -> tuple[int, str]:
    return len(nid), nid


@dataclass
class FakeMastodon:
    url: str = ""
    notifications: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)  # notifications queries
    ws_headers: list[str | None] = field(default_factory=list)
    ws_queries: list[dict[str, str]] = field(default_factory=list)
    streaming: str | None = "same"  # configuration.urls.streaming; None: no v2 instance
    script: Script | None = None
    rate_limited: int = 0  # answer this many notification requests with 429
    rate_limit_reset: str = "2099-01-01T00:00:00.000000Z"
    server_errors: int = 0  # then this many with 503
    hold_notifications: asyncio.Event | None = None  # delay notification answers until set
    _runner: web.AppRunner | None = None

    def add(self, *notifications: dict[str, Any]) -> None:
        for notification in notifications:
            self.notifications[notification["id"]] = notification

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/api/v2/instance", self._instance)
        app.router.add_get("/api/v1/notifications", self._list)
        app.router.add_get("/api/v1/notifications/{id}", self._one)
        app.router.add_get("/api/v1/streaming", self._stream)
        self._runner, self.url, _ = await serve(app)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _instance(self, request: web.Request) -> web.Response:
        if self.streaming is None:
            return web.json_response({"error": "Record not found"}, status=404)
        streaming = self.url.replace("http://", "ws://") if self.streaming == "same" else None
        return web.json_response(
            {"domain": "fake.example", "configuration": {"urls": {"streaming": streaming}}}
        )

    async def _list(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return web.json_response({"error": "The access token is invalid"}, status=401)
        query = {k: request.query.getall(k) for k in request.query}
        self.requests.append(query)
        if self.rate_limited:
            self.rate_limited -= 1
            reset = {"X-RateLimit-Reset": self.rate_limit_reset}
            return web.json_response({"error": "Too many requests"}, status=429, headers=reset)
        if self.server_errors:
            self.server_errors -= 1
            return web.json_response({"error": "Service unavailable"}, status=503)
        limit = int(request.query.get("limit", "40"))
        types = set(request.query.getall("types[]", []))
        ids = sorted(
            (i for i, n in self.notifications.items() if not types or n["type"] in types),
            key=_order,
        )
        if "min_id" in request.query:
            cursor = _order(request.query["min_id"])
            page = [i for i in ids if _order(i) > cursor][:limit]
        else:
            if "max_id" in request.query:
                cursor = _order(request.query["max_id"])
                ids = [i for i in ids if _order(i) < cursor]
            page = ids[-limit:]
        page.reverse()  # Mastodon answers newest first, whichever way it pages
        headers = {}
        if page:
            keep = [("limit", str(limit)), *(("types[]", t) for t in sorted(types))]
            base = f"{self.url}/api/v1/notifications?"
            headers["Link"] = (
                f'<{base}{urlencode([*keep, ("max_id", page[-1])])}>; rel="next", '
                f'<{base}{urlencode([*keep, ("min_id", page[0])])}>; rel="prev"'
            )
        body = [self.notifications[i] for i in page]
        if self.hold_notifications is not None:  # answer later, with the state of now
            await self.hold_notifications.wait()
        return web.json_response(body, headers=headers)

    async def _one(self, request: web.Request) -> web.Response:
        self.requests.append({"id": [request.match_info["id"]]})
        found = self.notifications.get(request.match_info["id"])
        if found is None:
            return web.json_response({"error": "Record not found"}, status=404)
        return web.json_response(found)

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        self.ws_headers.append(request.headers.get("Authorization"))
        self.ws_queries.append(dict(request.query))
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return web.Response(status=401, headers={"X-Error-Message": "Invalid access token"})
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        if self.script is not None:
            await self.script(ws, len(self.ws_headers))
        await ws.close()
        return ws


class Collector:
    """A hub subscriber that keeps the ids it is sent, in order."""

    transport = "test"

    def __init__(self) -> None:
        self.ids: list[str] = []

    async def send(self, frame: str) -> None:
        self.ids.append(json.loads(frame)["params"]["notification"]["id"])
