"""A small recording fake of a Mastodon instance on loopback, and a real client bound to it.

The fake records every request as sent (verb, raw path, query pairs, form or multipart pairs,
headers) and answers from a script of replies, so each test says exactly what the server does.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
from aiohttp import BodyPartReader, web
from multidict import CIMultiDictProxy

from mastod.config import MastodonConfig
from mastod.mastodon import transport
from mastod.mastodon.client import Api, MastodonClient
from mastod.mastodon.uploads import UploadReader
from tests.servers import serve

TOKEN = "sekrit-token-9f8e7d6c5b4a"
STATUS_BODY: dict[str, Any] = {
    "id": "109",
    "account": {"id": "1", "username": "alice"},
    "content": "<p>hi</p>",
    "media_attachments": [],
    "tags": [],
}


@dataclass
class Seen:
    """One request as the server received it."""

    method: str
    path: str  # raw, as sent: percent-escapes kept
    query: list[tuple[str, str]]
    form: list[tuple[str, str]]  # urlencoded pairs, or multipart parts (files summarised)
    headers: CIMultiDictProxy[str]
    peer: tuple[Any, ...] | None


@dataclass
class Reply:
    """What the fake answers. `body` is JSON unless bytes/str; `drop` closes the connection
    without answering; `close` answers with `Connection: close`; `delay` waits first."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = None
    drop: bool = False
    close: bool = False
    delay: float = 0.0


Responder = Reply | Callable[[Seen], Reply]


class FakeUpstream:
    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self.script: list[Responder] = []
        self.default: Responder = Reply(body={})
        self.url = ""
        self._runner: web.AppRunner | None = None

    def reply(self, *replies: Responder) -> None:
        """Answer the next requests with these, in order, then with `default`."""
        self.script.extend(replies)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner, self.url, _ = await serve(app)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        seen = Seen(
            method=request.method,
            path=request.raw_path.partition("?")[0],
            query=parse_qsl(request.query_string, keep_blank_values=True),
            form=await _form(request),
            headers=request.headers,
            peer=request.transport.get_extra_info("peername") if request.transport else None,
        )
        self.seen.append(seen)
        responder = self.script.pop(0) if self.script else self.default
        reply = responder(seen) if callable(responder) else responder
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if reply.drop:
            assert request.transport is not None
            request.transport.close()
            return web.Response(status=204)  # never reaches the client
        body = reply.body
        if isinstance(body, str):
            body = body.encode()
        elif not isinstance(body, bytes):
            body = b"" if body is None else json.dumps(body).encode()
        response = web.Response(
            status=reply.status,
            body=body,
            headers=reply.headers,
            content_type=reply.content_type or ("application/json" if body else None),
        )
        if reply.close:
            response.force_close()
        return response


async def _form(request: web.Request) -> list[tuple[str, str]]:
    if request.content_type.startswith("multipart/"):
        pairs: list[tuple[str, str]] = []
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            assert isinstance(part, BodyPartReader)
            content = await part.read()
            if part.filename:
                kind = part.headers.get("Content-Type")
                pairs.append((str(part.name), f"file:{part.filename}:{kind}:{len(content)}"))
            else:
                pairs.append((str(part.name), content.decode()))
        return pairs
    raw = await request.read()
    return parse_qsl(raw.decode(), keep_blank_values=True) if raw else []


def make_config(url: str, **overrides: Any) -> MastodonConfig:
    settings: dict[str, Any] = {
        "base_url": url,
        "access_token": TOKEN,
        "timeout": 5.0,
        "connect_timeout": 2.0,
        "max_retries": 2,
        "rate_limit_max_wait": 3.0,
        "media_poll_timeout": 1.0,
        "media_poll_interval": 0.05,
        "max_sessions": 2,
    }
    settings.update(overrides)
    return MastodonConfig(**settings)


class FakeClock(transport.Clock):
    """A clock that moves only when the request core sleeps on it: waits take no real time and
    are asserted exactly."""

    def __init__(self, now: datetime) -> None:
        self.current = now
        self.slept: list[float] = []

    def now(self) -> datetime:
        return self.current

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.current += timedelta(seconds=seconds)
        await asyncio.sleep(0)


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transport, "BACKOFF_BASE", 0.01)


@pytest.fixture
async def upstream() -> AsyncIterator[FakeUpstream]:
    fake = FakeUpstream()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def client(upstream: FakeUpstream, tmp_path: Path) -> AsyncIterator[MastodonClient]:
    # the tests' files are in tmp_path: the one directory callers may name files in
    uploads = UploadReader([tmp_path])
    mastodon = MastodonClient(make_config(upstream.url), uploads=uploads)
    await mastodon.start()
    yield mastodon
    await mastodon.close()


@pytest.fixture
def api(client: MastodonClient) -> Api:
    return client.api()
