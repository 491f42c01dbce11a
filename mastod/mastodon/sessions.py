"""Pooled HTTP sessions: one per instance, a bounded LRU for per-call `base_url` overrides.

The token travels per request (an `Authorization` header), so every token for one instance
shares its session and its keep-alive connections. A session pushed out of the LRU is closed
only once the requests still running on it have finished.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp

from mastod.mastodon.errors import InvalidParam
from mastod.net import normalize_url


def normalize_base_url(url: str) -> str:
    """`https://Host:8443/prefix/` -> `https://host:8443/prefix`; anything odd is refused."""
    try:
        return normalize_url(url, allow_path=True)
    except ValueError as exc:
        raise InvalidParam("base_url", str(exc)) from None


@dataclass(slots=True, eq=False)
class _Pooled:
    session: aiohttp.ClientSession  # keep-alive connections
    fresh: aiohttp.ClientSession  # a new connection per request, for non-idempotent ones
    in_flight: int = 0
    retired: bool = False


class Lease:
    """What `SessionPool.lease` returns: a class rather than an `asynccontextmanager`, whose
    async generator per call the event loop registers and finalises."""

    __slots__ = ("_base_url", "_entry", "_fresh", "_pool")

    def __init__(self, pool: SessionPool, base_url: str, fresh: bool) -> None:
        self._pool = pool
        self._base_url = base_url
        self._fresh = fresh
        self._entry: _Pooled | None = None

    async def __aenter__(self) -> aiohttp.ClientSession:
        entry = self._entry = await self._pool.hold(self._base_url)
        return entry.fresh if self._fresh else entry.session

    async def __aexit__(self, *exc_info: object) -> None:
        if self._entry is not None:
            await self._pool.release(self._entry)


class SessionPool:
    """Hands out the session for a base URL for the duration of one call."""

    def __init__(
        self,
        default_base_url: str,
        max_overrides: int,
        factory: Callable[[bool], aiohttp.ClientSession],
    ) -> None:
        self._default_base_url = default_base_url
        self._max_overrides = max(1, max_overrides)
        self._factory = factory
        self._default: _Pooled | None = None
        self._overrides: OrderedDict[str, _Pooled] = OrderedDict()
        self._retired: list[_Pooled] = []

    @property
    def override_count(self) -> int:
        return len(self._overrides)

    async def start(self) -> None:
        if self._default is None:
            self._default = self._new()

    async def close(self) -> None:
        entries = [*self._overrides.values(), *self._retired]
        if self._default is not None:
            entries.append(self._default)
        self._default = None
        self._overrides.clear()
        self._retired.clear()
        for entry in entries:
            await entry.session.close()
            await entry.fresh.close()

    def _new(self) -> _Pooled:
        return _Pooled(self._factory(False), self._factory(True))

    def lease(self, base_url: str, *, fresh: bool = False) -> Lease:
        """`async with pool.lease(base_url) as session`: the session for `base_url` while the
        block runs; `fresh`: one that opens a new connection per request (a pooled keep-alive
        connection may have been closed by the server, and a request that may not be resent
        must not find that out by being lost)."""
        return Lease(self, base_url, fresh)

    async def hold(self, base_url: str) -> _Pooled:
        """The entry for `base_url`, counted in flight until `release`."""
        entry, evicted = self._entry(base_url)
        entry.in_flight += 1
        if evicted is not None:
            try:
                await self._retire(evicted)
            except BaseException:
                await self.release(entry)
                raise
        return entry

    async def release(self, entry: _Pooled) -> None:
        entry.in_flight -= 1
        if entry.retired and entry.in_flight == 0:
            await self._retire(entry)

    def _entry(self, base_url: str) -> tuple[_Pooled, _Pooled | None]:
        """The entry for base_url, and the one it pushed out of the LRU (no await in here,
        so two concurrent calls for a new instance share one session)."""
        if self._default is None:
            raise RuntimeError("MastodonClient is not started")
        if base_url == self._default_base_url:
            return self._default, None
        entry = self._overrides.get(base_url)
        if entry is not None:
            self._overrides.move_to_end(base_url)
            return entry, None
        entry = self._overrides[base_url] = self._new()
        evicted = None
        if len(self._overrides) > self._max_overrides:
            _, evicted = self._overrides.popitem(last=False)
            evicted.retired = True
        return entry, evicted

    async def _retire(self, entry: _Pooled) -> None:
        if entry.in_flight:
            self._retired.append(entry)  # closed by the last lease to finish on it
            return
        if entry in self._retired:
            self._retired.remove(entry)
        await entry.session.close()
        await entry.fresh.close()
