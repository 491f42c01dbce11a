"""A registry of small test methods served over the real transports on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pytest

from mastod.mastodon.errors import NotFound, RateLimited
from mastod.rpc.builtins import register_builtins
from mastod.rpc.dispatch import Dispatcher
from mastod.rpc.http import create_rpc_app
from mastod.rpc.registry import Registry
from mastod.rpc.unix import UnixServer
from mastod.tasks import TaskSet
from tests.servers import serve

TOKEN = "test-rpc-token-0123456789"


@dataclass
class Calls:
    count: int = 0
    names: list[str] = field(default_factory=list)


class FakeState:
    def status(self) -> dict[str, Any]:
        return {"version": "test", "subscribers": 0}


def make_registry(calls: Calls) -> Registry:
    registry = Registry()

    async def echo(value: Any) -> Any:
        """Return the value."""
        calls.names.append("echo")
        return value

    async def add(a: int, b: int = 0) -> int:
        """Add two integers."""
        return a + b

    async def slow(seconds: float, tag: str = "") -> str:
        """Sleep, then return the tag."""
        await asyncio.sleep(seconds)
        return tag

    async def count() -> int:
        """Count calls."""
        calls.count += 1
        return calls.count

    async def boom() -> None:
        """Fail with an unexpected exception."""
        raise RuntimeError("db at http://x.example/?access_token=SECRET123 exploded")

    async def missing(status_id: str | int) -> None:
        """Fail as Mastodon's 404 does."""
        raise NotFound("Record not found", http_status=404)

    async def limited() -> None:
        """Fail as Mastodon's 429 does."""
        raise RateLimited(
            "Too many requests", http_status=429, rate_limit_reset="2026-11-27T17:00:00.000000Z"
        )

    async def pick(visibility: Literal["public", "private"] = "public") -> str:
        """Return the choice."""
        return visibility

    async def unserialisable() -> Any:
        """Return something JSON cannot encode."""
        return object()

    for fn in (echo, add, slow, count, boom, missing, limited, pick, unserialisable):
        registry.add(fn)
    register_builtins(registry, FakeState())
    return registry


@pytest.fixture
def calls() -> Calls:
    return Calls()


@pytest.fixture
def dispatcher(calls: Calls) -> Dispatcher:
    return Dispatcher(make_registry(calls))


def small_frames(dispatcher: Dispatcher) -> Dispatcher:
    """The same methods with a 4096-byte frame limit (the servers' tests of oversized frames)."""
    return Dispatcher(dispatcher.registry, max_frame_bytes=4096)


@pytest.fixture
async def tasks() -> AsyncIterator[TaskSet]:
    group = TaskSet("test")
    yield group
    await group.cancel()


@pytest.fixture
async def unix_server(
    tmp_path: Path, dispatcher: Dispatcher, tasks: TaskSet
) -> AsyncIterator[UnixServer]:
    server = UnixServer(tmp_path / "run" / "mastod.sock", small_frames(dispatcher), tasks=tasks)
    await server.start()
    yield server
    await server.close()


@dataclass
class HttpServer:
    url: str
    port: int


@pytest.fixture
async def http_server(dispatcher: Dispatcher, tasks: TaskSet) -> AsyncIterator[HttpServer]:
    app = create_rpc_app(
        small_frames(dispatcher),
        token=TOKEN,
        allowed_hosts=["mastod.internal"],
        tasks=tasks,
        health=lambda: {"status": "ok"},
    )
    runner, url, port = await serve(app)
    yield HttpServer(url=url, port=port)
    await runner.cleanup()
