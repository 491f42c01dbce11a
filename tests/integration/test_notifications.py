"""Notifications end to end: the sandbox acts, Mastodon-style Web Push (encrypted, VAPID) or the
streaming API carries it to the daemon, which fetches, stores and fans it out to subscribers
on its Unix socket — and nothing is lost across a dropped stream or a restart."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from mastod.sandbox import RunningSandbox
from tests.integration.conftest import Rpc, start_daemon


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Subscriber:
    """A Unix-socket client that subscribed and collects `notification` frames."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, rpc: Rpc, **params: Any) -> tuple[Subscriber, str]:
        reader, writer = await asyncio.open_unix_connection(str(rpc.path), limit=1 << 22)
        writer.write(
            json.dumps(
                {"jsonrpc": "2.0", "id": "sub", "method": "subscribe", "params": params}
            ).encode()
            + b"\n"
        )
        answer = json.loads(await asyncio.wait_for(reader.readline(), 10))
        return cls(reader, writer), answer["result"]["subscription"]

    async def next(self, timeout: float = 15) -> dict[str, Any]:
        frame = json.loads(await asyncio.wait_for(self.reader.readline(), timeout))
        assert frame["method"] == "notification", frame
        return frame["params"]["notification"]  # type: ignore[no-any-return]

    def close(self) -> None:
        self.writer.close()


async def act(upstream: RunningSandbox, action: str, **extra: str) -> list[dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{upstream.url}/_sandbox/act", json={"actor": "bob", "action": action, **extra}
        ) as response,
    ):
        assert response.status == 200, await response.text()
        made: list[dict[str, Any]] = (await response.json())["notifications"]
    return made


async def wait_for(predicate: Any, timeout: float = 15) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "condition not reached"
        await asyncio.sleep(0.02)


@pytest.fixture
async def push_daemon(
    tmp_path: Path, upstream: RunningSandbox
) -> AsyncIterator[tuple[Rpc, web.AppRunner]]:
    port = free_port()
    sections = {
        "notifications": {"source": "push"},
        "webhook": {"host": "127.0.0.1", "port": port, "public_url": f"http://127.0.0.1:{port}"},
    }
    rpc, runner = await start_daemon(tmp_path, upstream.url, sections)
    yield rpc, runner
    await runner.cleanup()


@pytest.mark.parametrize("standard", [True, False], ids=["aes128gcm", "aesgcm"])
async def test_web_push_reaches_subscribers(
    push_daemon: tuple[Rpc, web.AppRunner], upstream: RunningSandbox, standard: bool
) -> None:
    rpc, _ = push_daemon
    sb = upstream.sandbox
    await wait_for(lambda: bool(sb.push_subscriptions))
    if not standard:  # a server that ignores `standard` and sends legacy aesgcm
        for subscription in sb.push_subscriptions.values():
            subscription.standard = False
    first, _ = await Subscriber.open(rpc)
    second, _ = await Subscriber.open(rpc, types=["mention"])
    made = await act(upstream, "mention", text="@alice ping")
    await act(upstream, "favourite")
    got = await first.next()
    assert got["id"] == made[0]["id"]
    assert got["type"] == "mention"
    assert got["status"]["hashtags"] == []
    assert "attachments" in got["status"]
    assert "access_token" not in json.dumps(got)
    assert (await first.next())["type"] == "favourite"
    assert (await second.next())["id"] == made[0]["id"]
    status = await rpc.call("status")
    notes = status["notifications"]
    assert (notes["source"], notes["subscription"], notes["pushes"]["rejected"]) == (
        "push",
        "registered",
        0,
    )
    assert notes["pushes"]["accepted"] >= 2
    assert status["subscribers"] == 2
    deliveries = [d for d in sb.push_deliveries if d.outcome == "delivered"]
    assert {d.encoding for d in deliveries} == {"aes128gcm" if standard else "aesgcm"}
    first.close()
    second.close()


async def test_streaming_source_survives_a_dropped_stream(
    tmp_path: Path, upstream: RunningSandbox
) -> None:
    rpc, runner = await start_daemon(
        tmp_path, upstream.url, {"notifications": {"source": "streaming"}}
    )
    try:
        await wait_for(lambda: rpc.daemon.state.status()["notifications"]["state"] == "connected")
        sub, _ = await Subscriber.open(rpc)
        made = await act(upstream, "mention", text="@alice one")
        assert (await sub.next())["id"] == made[0]["id"]
        upstream.sandbox.faults.add("/api/v1/streaming", "status", status=502, count=2)
        upstream.sandbox.faults.drop_streams()
        missed = await act(upstream, "follow")  # while the daemon is disconnected
        again = await sub.next(timeout=30)  # caught up by the backfill after reconnecting
        assert again["id"] == missed[0]["id"]
        after = await act(upstream, "reblog")
        assert (await sub.next())["id"] == after[0]["id"]
        status = await rpc.call("status")
        assert status["notifications"]["source"] == "streaming"
        assert status["notifications"]["connections"] >= 2
        sub.close()
    finally:
        await runner.cleanup()


async def test_nothing_lost_across_a_restart(tmp_path: Path, upstream: RunningSandbox) -> None:
    sections = {"notifications": {"source": "streaming"}}
    rpc, runner = await start_daemon(tmp_path, upstream.url, sections)
    sub, _ = await Subscriber.open(rpc)
    seen = (await act(upstream, "mention", text="@alice before"))[0]["id"]
    assert (await sub.next())["id"] == seen
    sub.close()
    await runner.cleanup()
    while_down = [(await act(upstream, kind))[0]["id"] for kind in ("favourite", "follow")]
    rpc, runner = await start_daemon(tmp_path, upstream.url, sections)
    try:
        resumed, _ = await Subscriber.open(rpc, since_id=seen)
        assert [(await resumed.next())["id"] for _ in while_down] == while_down
        live = (await act(upstream, "reblog"))[0]["id"]
        assert (await resumed.next())["id"] == live
        resumed.close()
    finally:
        await runner.cleanup()
