"""TCP listeners that hold up against slow and many connections (the webhook faces the
internet; the RPC listener may face a local user).

`GuardedSite` is an aiohttp site whose connections must deliver each request, headers and
body, within `read_timeout` (else they are closed), and of which at most `max_connections`
are open at once: one more is closed as soon as it is accepted, before aiohttp sees it, so a
flood can never take the descriptors the rest of the daemon needs. The app marks the moment
a request has fully arrived with `request_read` (its handlers read the body themselves).
After an answer, the deadline starts again with the first byte of the next request on a
kept-alive connection (`deadline_middleware`); how long an idle one is kept is aiohttp's
`keepalive_timeout`, which closes it only between requests. An `anonymous` site sends no
`Server` header, not even on the error pages aiohttp writes itself.
"""

from __future__ import annotations

import asyncio
import resource
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, cast

from aiohttp import web
from aiohttp.http import SERVER_SOFTWARE
from yarl import URL

from mastod.logs import get_logger

log = get_logger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_BODILESS = frozenset({"GET", "HEAD", "OPTIONS"})
_CAP_LOG_INTERVAL = 60.0
# Descriptors left to everything but a capped listener: RPC clients, the store, upstream
# connections, the daemon's own files.
DESCRIPTOR_RESERVE = 128


class _Guarded(asyncio.Protocol):
    """One connection: aiohttp's protocol behind a deadline, or refused at the cap."""

    def __init__(self, site: GuardedSite, make: Callable[[], asyncio.Protocol]) -> None:
        self._site = site
        self._make = make
        self.inner: asyncio.Protocol | None = None
        self._transport: asyncio.Transport | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._between = False  # answered; the next request's deadline starts with its data

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # a stream transport, whatever its class: uvloop's do not derive from asyncio's
        transport = cast(asyncio.Transport, transport)
        if not self._site.admit(self):
            transport.abort()
            return
        self._transport = transport
        self.inner = self._make()
        _GUARDS[self.inner] = self
        self.arm()
        if self._site.anonymous:  # a proxy that forwards all but its writes (duck-typed)
            transport = cast(asyncio.Transport, _Anonymous(transport))
        self.inner.connection_made(transport)

    def arm(self) -> None:
        self.disarm()
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(self._site.read_timeout, self._expired)

    def disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expired(self) -> None:
        self._timer = None
        self._site.timed_out += 1
        if self._transport is not None:
            self._transport.abort()

    def between_requests(self) -> None:
        self.disarm()
        self._between = True

    def data_received(self, data: bytes) -> None:
        if self._between:
            self._between = False
            self.arm()
        if self.inner is not None:
            self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received() if self.inner is not None else None

    def pause_writing(self) -> None:
        if self.inner is not None:
            self.inner.pause_writing()

    def resume_writing(self) -> None:
        if self.inner is not None:
            self.inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        self.disarm()
        if self.inner is not None:
            self._site.release(self)
            _GUARDS.pop(self.inner, None)
            self.inner.connection_lost(exc)


_SERVER_LINE = f"\r\nServer: {SERVER_SOFTWARE}\r\n".encode()


class _Anonymous:
    """The transport as aiohttp sees it on an anonymous site: the head of every answer loses
    the `Server` line aiohttp adds (its own 400 pages included, which no app hook sees)."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self._transport.write(_without_server(data))

    def writelines(self, lines: Iterable[bytes | bytearray | memoryview]) -> None:
        self._transport.write(_without_server(b"".join(lines)))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def _without_server(data: bytes | bytearray | memoryview) -> bytes | bytearray | memoryview:
    if data[:5] != b"HTTP/":  # a body, or the rest of one
        return data
    return bytes(data).replace(_SERVER_LINE, b"\r\n", 1)


# aiohttp's protocol -> its guard, while the connection is open (the protocol is slotted:
# no attribute, no weak reference)
_GUARDS: dict[Any, _Guarded] = {}


def request_read(request: web.Request) -> None:
    """The request's headers and body have arrived: its deadline no longer applies."""
    guard = _GUARDS.get(request.protocol)
    if guard is not None:
        guard.disarm()


def request_answered(request: web.Request) -> None:
    """The request is answered: the next one on the connection gets a fresh deadline from
    its first byte."""
    guard = _GUARDS.get(request.protocol)
    if guard is not None:
        guard.between_requests()


@web.middleware
async def deadline_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A request without a body has arrived whole once its handler runs; after the answer,
    the next request on the connection gets a fresh deadline from its first byte. (An app
    with a single handler calls `request_read` and `request_answered` itself.)"""
    if request.method in _BODILESS or not request.body_exists:
        request_read(request)
    try:
        return await handler(request)
    finally:
        request_answered(request)


class GuardedSite(web.BaseSite):
    """A TCP site with a per-request read deadline and, optionally, a connection cap."""

    def __init__(
        self,
        runner: web.BaseRunner,
        host: str,
        port: int,
        *,
        read_timeout: float,
        max_connections: int | None = None,
        label: str = "listener",
        anonymous: bool = False,
        backlog: int = 128,
    ) -> None:
        super().__init__(runner, backlog=backlog)
        self._host = host
        self._port = port
        self.read_timeout = read_timeout
        self.max_connections = (
            None if max_connections is None else descriptor_budget(max_connections, label)
        )
        self.label = label
        self.anonymous = anonymous
        self.open: set[_Guarded] = set()
        self.refused = 0
        self.timed_out = 0
        self._capped_since: float | None = None
        self._last_cap_log = 0.0

    @property
    def name(self) -> str:
        return str(URL.build(scheme="http", host=self._host, port=self.port))

    @property
    def port(self) -> int:
        server = self._server
        if isinstance(server, asyncio.base_events.Server) and server.sockets:
            return int(server.sockets[0].getsockname()[1])
        return self._port

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        assert server is not None
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _Guarded(self, server),
            self._host,
            self._port,
            backlog=self._backlog,
            reuse_address=True,
        )

    def admit(self, connection: _Guarded) -> bool:
        if self.max_connections is not None and len(self.open) >= self.max_connections:
            self.refused += 1
            now = time.monotonic()
            if self._capped_since is None or now - self._last_cap_log >= _CAP_LOG_INTERVAL:
                # once per episode, then at most once a minute while it lasts
                self._capped_since = self._capped_since or now
                self._last_cap_log = now
                log.warning(
                    "listener.connections_capped",
                    listener=self.label,
                    max_connections=self.max_connections,
                    refused=self.refused,
                )
            return False
        self.open.add(connection)
        return True

    def release(self, connection: _Guarded) -> None:
        self.open.discard(connection)
        capped, cap = self._capped_since, self.max_connections
        if capped is not None and cap is not None and len(self.open) < max(1, cap // 2):
            log.info("listener.connections_below_cap", listener=self.label)
            self._capped_since = None


def descriptor_budget(wanted: int, label: str) -> int:
    """How many connections a capped listener may hold: `wanted`, unless the process's
    descriptor limit would then not leave DESCRIPTOR_RESERVE for the rest of the daemon. The
    soft limit is raised towards the hard one first (as much as that allows)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = wanted + DESCRIPTOR_RESERVE
    if soft == resource.RLIM_INFINITY or soft >= need:
        return wanted
    raised = need if hard == resource.RLIM_INFINITY else min(hard, need)
    if raised > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
            soft = raised
        except (ValueError, OSError):
            pass
    if soft >= need:
        return wanted
    allowed = max(1, soft - DESCRIPTOR_RESERVE)
    log.warning(
        "listener.cap_lowered",
        listener=label,
        max_connections=wanted,
        allowed=allowed,
        descriptor_limit=soft,
        reason="the descriptor limit (LimitNOFILE=) leaves too few for the rest of the daemon",
    )
    return allowed
