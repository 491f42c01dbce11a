"""Fakes at the daemon's boundaries: a Mastodon instance's push API, and `pyngrok.ngrok`."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from mastod.tunnel import TUNNEL_NAME
from tests.servers import serve


@dataclass
class Seen:
    method: str
    path: str
    form: list[tuple[str, str]]
    authorization: str | None


class FakeMastodon:
    """`/api/v1/push/subscription` as Mastodon serves it (one subscription per token)."""

    def __init__(self, server_key: str, known_types: frozenset[str] | None = None) -> None:
        self.server_key = server_key
        self.known_types = known_types  # None: every alert sent is kept
        self.subscription: dict[str, Any] | None = None
        self.seen: list[Seen] = []
        # answered next, in order: (status, error, only for this method or None for any)
        self.fail: list[tuple[int, str, str | None]] = []
        self.next_id = 1
        self.url = ""
        self._runner: web.AppRunner | None = None

    def count(self, method: str) -> int:
        return sum(1 for seen in self.seen if seen.method == method)

    def forms(self) -> list[list[tuple[str, str]]]:
        return [seen.form for seen in self.seen if seen.method == "POST"]

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/api/v1/push/subscription", self._handle)
        self._runner, self.url, _ = await serve(app, access_log=None)

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        form = list((await request.post()).items()) if request.method == "POST" else []
        pairs = [(key, str(value)) for key, value in form]
        self.seen.append(
            Seen(request.method, request.path, pairs, request.headers.get("Authorization"))
        )
        if self.fail and self.fail[0][2] in (None, request.method):
            status, error, _ = self.fail.pop(0)
            return web.json_response({"error": error}, status=status)
        if request.method == "GET":
            if self.subscription is None:
                return web.json_response({"error": "Record not found"}, status=404)
            return web.json_response(self.subscription)
        if request.method == "DELETE":
            self.subscription = None
            return web.json_response({})
        if request.method == "POST":
            return web.json_response(self._create(dict(pairs)))
        return web.json_response({"error": "Not allowed"}, status=405)

    def _create(self, form: dict[str, str]) -> dict[str, Any]:
        alerts = {
            key[len("data[alerts][") : -1]: value == "true"
            for key, value in form.items()
            if key.startswith("data[alerts][")
        }
        if self.known_types is not None:
            alerts = {name: on for name, on in alerts.items() if name in self.known_types}
        self.subscription = {
            "id": self.next_id,
            "endpoint": form["subscription[endpoint]"],
            "standard": form.get("subscription[standard]") == "true",
            "alerts": alerts,
            "server_key": self.server_key,
            "policy": form.get("data[policy]", "all"),
        }
        self.next_id += 1
        return self.subscription


@dataclass
class FakeTunnel:
    public_url: str
    name: str = TUNNEL_NAME


@dataclass
class FakeNgrok:
    """Stands in for `pyngrok.ngrok` (ngrok is never started): records each call and the
    thread it ran in."""

    urls: list[str] = field(default_factory=lambda: ["https://a1b2.ngrok-free.app"])
    connect_error: Exception | None = None
    tunnels: list[FakeTunnel] = field(default_factory=list)
    calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = field(default_factory=list)
    threads: list[threading.Thread] = field(default_factory=list)

    def _record(self, call: str, /, *args: Any, **kwargs: Any) -> None:
        self.calls.append((call, args, kwargs))
        self.threads.append(threading.current_thread())

    def connect(self, *args: Any, **kwargs: Any) -> FakeTunnel:
        self._record("connect", *args, **kwargs)
        if self.connect_error is not None:
            raise self.connect_error
        tunnel = FakeTunnel(self.urls.pop(0))
        self.tunnels = [tunnel]
        return tunnel

    def get_tunnels(self, *args: Any, **kwargs: Any) -> list[FakeTunnel]:
        self._record("get_tunnels", *args, **kwargs)
        return list(self.tunnels)

    def disconnect(self, *args: Any, **kwargs: Any) -> None:
        self._record("disconnect", *args, **kwargs)
        self.tunnels = []

    def kill(self, *args: Any, **kwargs: Any) -> None:
        self._record("kill", *args, **kwargs)

    def named(self, name: str) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
        return [(args, kwargs) for call, args, kwargs in self.calls if call == name]
