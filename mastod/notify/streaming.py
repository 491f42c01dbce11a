"""The streaming source: Mastodon's `user:notification` stream over WebSocket, no public URL.

The streaming host comes from `GET /api/v2/instance` (`configuration.urls.streaming`), else
the instance's own URL (PROTOCOL.md §3.1). The token goes in the `Authorization` header, never
in the URL (URLs end up in logs). Each event's `payload` is JSON text inside the JSON frame
and is decoded a second time.

Nothing sent while the daemon was disconnected is lost: after every (re)connect a backfill
fetches what Mastodon has after the newest stored notification, then a sweep re-reads the
newest page for what became visible below it meanwhile (`notify.sweep`). Events that arrive
during the backfill wait in a bounded inbox and are ingested after it, so ids reach
subscribers in order; if the inbox overflows it is emptied and the backfill runs again (the
events are on the server). `notifications_merged` (Mastodon un-filtered older
notifications) and `request_sweep()` (the periodic sweep) queue a sweep in the same inbox.
Reconnects back off exponentially with jitter, up to `backoff_cap` seconds.

A stream the server refuses inside the socket (`{"error", "status"}`: a token without
`read:notifications`) stays open and silent: `state` says so, and the log says once which
scope is missing.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Collection
from typing import Any, Literal

import aiohttp
import yarl

from mastod import __version__
from mastod.logs import get_logger
from mastod.mastodon.client import Api
from mastod.mastodon.errors import MastodonError
from mastod.net import backoff_delay
from mastod.notify.backfill import CatchUpFailures, PagePacing, catch_up
from mastod.notify.intake import Intake
from mastod.notify.store import NotificationStore, StoreFailed
from mastod.notify.stream_wire import read_frame, streaming_url
from mastod.notify.sweep import SweepFailures, sweep
from mastod.tasks import TaskSet

log = get_logger(__name__)

SCOPE = "read:notifications"  # what `user:notification` needs (or the whole `read`)

Work = Literal["catch up", "sweep"]


class StreamingSource:
    """`start()` begins connecting in the background; `close()` stops."""

    def __init__(
        self,
        api: Api,
        access_token: str | None,
        store: NotificationStore,
        intake: Intake,
        *,
        types: Collection[str] | None = None,
        session: aiohttp.ClientSession | None = None,
        backoff_base: float = 1.0,
        backoff_cap: float = 60.0,
        stable_after: float = 60.0,
        heartbeat: float = 45.0,
        inbox_size: int = 1000,
    ) -> None:
        self.api = api
        self._token = access_token
        self.store = store
        self.intake = intake
        self.types = types
        self._session = session
        self._own_session = session is None
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.stable_after = stable_after
        self.heartbeat = heartbeat
        self.inbox_size = inbox_size
        self.phase = "not started"
        self.refused: str | None = None  # the server's error frame on this connection
        self._refusal_logged = False  # logged once per episode: until the stream delivers
        self.connections = 0
        self.inbox_overflows = 0
        self._inbox: Inbox | None = None
        self.sweeps = SweepFailures()
        self.catch_ups = CatchUpFailures()
        self.pacing = PagePacing()
        self._tasks = TaskSet("notify.streaming")

    @property
    def state(self) -> str:
        """For `status`: "connecting", "connected", "catching up", "reconnecting in 4.2s: ...",
        or the server's refusal while the socket stays open."""
        if self.refused is not None and self.phase in ("connected", "catching up"):
            return f"refused by the server: {self.refused}"
        return self.phase

    def request_sweep(self) -> None:
        """Re-read the newest page soon (the periodic sweep); a connection that is down
        sweeps when it is back anyway."""
        if self._inbox is not None:
            self._inbox.want("sweep")

    def request_catch_up(self) -> None:
        """Fetch what was missed (a refused token was replaced); a connection that is down
        catches up when it is back anyway."""
        if self._inbox is not None:
            self._inbox.want("catch up")

    async def start(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                headers={"User-Agent": f"mastod/{__version__}"},
                timeout=aiohttp.ClientTimeout(total=None, connect=30, sock_read=30),
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        self.phase = "connecting"
        self._tasks.spawn(self._run(), name="notify.streaming")

    async def close(self) -> None:
        await self._tasks.cancel()
        if self._own_session and self._session is not None:
            await self._session.close()
            self._session = None
        self.phase = "stopped"

    # -- connection loop --------------------------------------------------------------------

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        failures = 0
        while True:
            self.phase = "connecting"
            began = loop.time()
            try:
                reason = await self._connect_once()
            except (aiohttp.WSServerHandshakeError, aiohttp.ClientResponseError) as exc:
                reason = f"upgrade refused: HTTP {exc.status}"
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                reason = f"connection failed: {type(exc).__name__}"
            except Exception:  # a bug must not end the source: log it and reconnect
                log.exception("streaming.failed")
                reason = "internal error (see the log)"
            if loop.time() - began >= self.stable_after:
                failures = 0
            delay = self._backoff(failures)
            failures += 1
            self.phase = f"reconnecting in {delay:.1f}s: {reason}"
            log.warning("streaming.disconnected", reason=reason, retry_in=round(delay, 1))
            await asyncio.sleep(delay)

    async def _connect_once(self) -> str:
        assert self._session is not None
        url = await self._discover()
        token = self._token or self.api.token  # the api's follows a reload (SIGHUP)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self._session.ws_connect(
            url, headers=headers, heartbeat=self.heartbeat, autoping=True
        ) as ws:
            self.connections += 1
            self.phase, self.refused = "catching up", None
            log.info("streaming.connected", url=str(url.with_query(None)))
            return await self._serve(ws)

    async def _discover(self) -> yarl.URL:
        streaming: Any = None
        try:
            instance = await self.api.get("/api/v2/instance")
            streaming = instance["configuration"]["urls"]["streaming"]
        except (MastodonError, KeyError, TypeError) as exc:
            log.info("streaming.discovery_fallback", reason=type(exc).__name__)
        return streaming_url(streaming if isinstance(streaming, str) else None, self.api.base_url)

    def _backoff(self, failures: int) -> float:
        return backoff_delay(failures, base=self.backoff_base, cap=self.backoff_cap)

    # -- one connection -------------------------------------------------------------------------

    async def _serve(self, ws: aiohttp.ClientWebSocketResponse) -> str:
        inbox = self._inbox = Inbox(self.inbox_size)
        receiver = self._tasks.spawn(self._receive(ws, inbox), name="notify.streaming.receive")
        consumer = self._tasks.spawn(self._consume(inbox), name="notify.streaming.consume")
        try:
            await asyncio.wait({receiver, consumer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._inbox = None
            for task in (receiver, consumer):
                task.cancel()
            await asyncio.gather(receiver, consumer, return_exceptions=True)
        if receiver.cancelled():
            return "stopped ingesting (see the log)"
        error = receiver.exception()
        if error is not None:
            return f"connection failed: {type(error).__name__}"
        return str(receiver.result())

    async def _receive(self, ws: aiohttp.ClientWebSocketResponse, inbox: Inbox) -> str:
        async for msg in ws:
            if msg.type is aiohttp.WSMsgType.TEXT:
                kind, value = read_frame(msg.data)
                if kind == "notification" and value is not None:
                    if not inbox.put(value):
                        self.inbox_overflows += 1
                        log.warning("streaming.inbox_overflow", size=self.inbox_size)
                elif kind == "notifications_merged":
                    log.info("streaming.notifications_merged")
                    inbox.want("sweep")
                elif kind == "error" and value is not None:
                    self._refused(value)
            elif msg.type is aiohttp.WSMsgType.ERROR:
                return f"connection failed: {type(ws.exception()).__name__}"
        return f"closed by the server (code {ws.close_code})"

    def _refused(self, error: dict[str, Any]) -> None:
        """The server refused the stream inside the socket (which it keeps open)."""
        message = str(error.get("error") or "error")[:200]
        status = error.get("status")
        scope = SCOPE if status in (401, 403) else None
        self.refused = message if scope is None else f"{message} (the token needs {scope} or read)"
        if not self._refusal_logged:
            self._refusal_logged = True
            log.error("streaming.refused", error=message, status=status, missing_scope=scope)

    async def _consume(self, inbox: Inbox) -> None:
        while True:
            item = await inbox.next()
            if item == "catch up":
                self.phase = "catching up"
                await catch_up(
                    self.api, self.store, self.intake,
                    types=self.types, backoff=self._backoff, pacing=self.pacing,
                    failures=self.catch_ups,
                )  # fmt: skip
                inbox.want("sweep")  # below the newest id: what became visible meanwhile
                self.phase = "connected"
            elif item == "sweep":
                await self._sweep()
            else:
                self.refused, self._refusal_logged = None, False  # it delivers again
                try:
                    await self.intake.ingest(item)
                except StoreFailed:  # fetch it again with what follows, once it can be stored
                    inbox.items.clear()
                    inbox.want("catch up")

    async def _sweep(self) -> None:
        try:
            await sweep(self.api, self.store, self.intake, types=self.types)
        except MastodonError as exc:
            self.sweeps.failed(exc, "streaming")
        except StoreFailed:
            pass  # logged by the store once per episode; the next sweep reads the page again
        else:
            self.sweeps.succeeded()


class Inbox:
    """Events received while a backfill runs, bounded, and the work the connection owes (a
    catch-up, a sweep). Events are ingested after the catch-up (those it fetched too are
    duplicates, and the store drops them). On overflow they are all dropped and another
    catch-up fetches them from the server instead."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.items: deque[dict[str, Any]] = deque()
        self.owed: set[Work] = {"catch up"}  # a fresh connection catches up first
        self._ready = asyncio.Event()

    def put(self, notification: dict[str, Any]) -> bool:
        """Keep `notification`; False if the inbox overflowed instead."""
        kept = len(self.items) < self.size
        if kept:
            self.items.append(notification)
        else:
            self.items.clear()
            self.owed.add("catch up")
        self._ready.set()
        return kept

    def want(self, work: Work) -> None:
        self.owed.add(work)
        self._ready.set()

    async def next(self) -> dict[str, Any] | Work:
        """A catch-up first, then events in order; a sweep when nothing else waits."""
        while not self.items and not self.owed:
            self._ready.clear()
            await self._ready.wait()
        if "catch up" in self.owed:
            self.owed.discard("catch up")
            return "catch up"
        if self.items:
            return self.items.popleft()
        return self.owed.pop()
