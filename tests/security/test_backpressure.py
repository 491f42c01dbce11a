"""Batches and back-pressure (issue 10, point 4), through the real daemon: a batch over
`rpc.max_batch` is one -32600 naming the limit and runs nothing; the per-connection in-flight
bound counts calls, not frames; a WebSocket client that never reads holds at most that many
answers and stalls nobody else; a closed WebSocket's calls still running are cancelled."""

from __future__ import annotations

import asyncio
import base64
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from mastod.rpc.slots import MAX_IN_FLIGHT
from tests.fuzz.clients import LineClient, RawHttp
from tests.fuzz.rig import RPC_TOKEN, Rig, request, running_daemon
from tests.waiting import until
from tests.wsframe import text_frame

STATUS_PATH = "/api/v1/statuses/"


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    async with running_daemon(tmp_path) as running:
        yield running


def batch(size: int, method: str = "get_status", params: Any = None) -> bytes:
    items = [
        json.loads(request(method, {"status_id": "1"} if params is None else params, i))
        for i in range(size)
    ]
    return json.dumps(items).encode()


def status_gets(rig: Rig) -> int:
    return sum(1 for r in rig.sandbox.recorded if r.path.startswith(STATUS_PATH))


async def test_a_batch_over_max_batch_is_refused_whole(rig: Rig) -> None:
    limit = rig.config.rpc.max_batch
    assert limit == 100
    client = await LineClient.connect(rig.socket_path)
    await client.send(batch(limit + 1) + b"\n")
    refused = await client.recv("the long batch")
    assert refused["error"]["code"] == -32600
    assert "at most 100 (rpc.max_batch)" in refused["error"]["message"]
    http = RawHttp("127.0.0.1", rig.port)
    headers = [("Authorization", f"Bearer {RPC_TOKEN}"), ("Content-Type", "application/json")]
    reply = await http.request("POST", "/rpc", headers, batch(5 * limit))
    assert reply.json()["error"]["code"] == -32600
    http.close()
    assert status_gets(rig) == 0
    await client.send(batch(limit) + b"\n")
    answers = await client.recv("the batch at the limit")
    assert len(answers) == limit
    client.close()
    assert status_gets(rig) == limit


async def test_the_in_flight_bound_counts_calls_not_frames(rig: Rig) -> None:
    slow = rig.sandbox.faults.add(STATUS_PATH, "latency", seconds=120, count=None)
    greedy = await LineClient.connect(rig.socket_path)
    # one batch that takes the whole bound, then single calls in the same write
    singles = b"".join(request("get_status", {"status_id": "1"}, i) + b"\n" for i in range(50))
    await greedy.send(batch(MAX_IN_FLIGHT) + b"\n" + singles)
    await until(lambda: slow.hits >= MAX_IN_FLIGHT, "the batch's calls reach the upstream")
    other = await LineClient.connect(rig.socket_path)
    await other.send(request("status") + b"\n")
    assert "result" in await other.recv("another connection's call")
    other.close()
    assert slow.hits == MAX_IN_FLIGHT  # the single calls wait for room, counted per call
    greedy.close()
    slow.count = 0  # what is still queued on the connection is answered at once
    await rig.daemon.tasks.cancel()  # as the daemon's stop does before closing the socket


async def raw_websocket(rig: Rig) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A WebSocket opened by hand, so that the test can drop it as a vanished client does."""
    reader, writer = await asyncio.open_connection("127.0.0.1", rig.port)
    writer.write(
        b"GET /rpc HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
        b"Sec-WebSocket-Key: " + base64.b64encode(os.urandom(16)) + b"\r\n"
        b"Authorization: Bearer " + RPC_TOKEN.encode() + b"\r\n\r\n"
    )
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101"), head
    return reader, writer


async def test_a_websocket_that_never_reads_holds_a_bounded_backlog(rig: Rig) -> None:
    tasks = rig.daemon.tasks
    _, writer = await raw_websocket(rig)
    for index in range(2000):  # each answer is the whole OpenRPC document
        writer.write(text_frame(request("rpc.discover", None, index)))
    await writer.drain()
    await until(lambda: len(tasks) == MAX_IN_FLIGHT, "the bound is reached")
    client = await LineClient.connect(rig.socket_path)
    await client.send(request("status") + b"\n")
    assert "result" in await client.recv("a Unix socket call meanwhile")
    client.close()
    # the Unix call's task ends; no more calls are read while the answers wait (were any,
    # they would stay stuck too and the count never come back to the bound)
    await until(lambda: len(tasks) == MAX_IN_FLIGHT, "back to the bound")
    writer.transport.abort()  # unread answers in its buffer: the server sees a reset
    await until(lambda: len(tasks) == 0, "the dropped WebSocket's calls end")


async def test_a_closed_websockets_calls_are_cancelled(rig: Rig) -> None:
    slow = rig.sandbox.faults.add(STATUS_PATH, "latency", seconds=120, count=None)
    tasks = rig.daemon.tasks
    async with aiohttp.ClientSession() as session:
        auth = {"Authorization": f"Bearer {RPC_TOKEN}"}
        ws = await session.ws_connect(f"{rig.http_url}/rpc", headers=auth)
        for index in range(3):
            await ws.send_bytes(request("get_status", {"status_id": "1"}, index))
        await until(lambda: slow.hits == 3, "the calls reach the upstream")
        assert len(tasks) == 3
        await ws.close()
    await until(lambda: len(tasks) == 0, "the calls are cancelled, not left to finish")
