"""What a subscriber is told about the store, on the real transports: a `pruned` marker when
its `since_id` is older than what retention kept (then the replay goes on), and the `failed`
error when the replay cannot read the store (then the connection closes, the rest goes on)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from typing import Any

import aiohttp
import pytest

from mastod.notify import retention
from tests.notify.conftest import READ_TIMEOUT, Client, Rpc, UnixClient, WsClient, note
from tests.notify.test_events import AUTH, SseReader, open_events


async def pruned_store(rpc: Rpc) -> None:
    """Notifications 1-10 with 6-10 kept."""
    rpc.store.max_rows = 5
    await rpc.ingest(*(note(i) for i in range(1, 11)))
    assert await retention.prune(rpc.store) == 5


async def test_pruned_marker_then_the_replay_on_the_socket(rpc: Rpc) -> None:
    await pruned_store(rpc)
    client = await rpc.unix()
    sub = await client.subscribe(since_id="2")
    marker = await client.next_message()
    assert marker == {
        "jsonrpc": "2.0",
        "method": "pruned",
        "params": {"subscription": sub, "since_id": "2", "oldest_id": "6"},
    }
    assert await client.notifications_until("10") == ["6", "7", "8", "9", "10"]
    await rpc.ingest(note(11))  # and it goes on, live
    assert await client.notifications_until("11") == ["11"]


async def test_pruned_marker_on_server_sent_events(rpc: Rpc) -> None:
    await pruned_store(rpc)
    reader = await open_events(rpc, "?since_id=3")
    event = await reader.event()
    assert event is not None
    assert event.name == "pruned"
    assert json.loads(event.data)["oldest_id"] == "6"
    assert await reader.notification_ids_until("10") == ["6", "7", "8", "9", "10"]


async def connection_ends(client: Client) -> None:
    """The daemon closed `client`'s connection: EOF on the socket, a close on the WebSocket."""
    if isinstance(client, UnixClient):
        assert await asyncio.wait_for(client.reader.read(), READ_TIMEOUT) == b""
    else:
        assert isinstance(client, WsClient)
        msg = await asyncio.wait_for(client.ws.receive(), READ_TIMEOUT)
        assert msg.type is aiohttp.WSMsgType.CLOSE, msg
        assert msg.data == aiohttp.WSCloseCode.INTERNAL_ERROR, msg


class Damaged(sqlite3.DatabaseError):
    sqlite_errorname = "SQLITE_CORRUPT"


@pytest.mark.parametrize("transport", ["unix", "websocket", "sse"])
async def test_a_replay_that_cannot_read_the_store_ends_with_failed(
    rpc: Rpc, transport: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await rpc.ingest(*(note(i) for i in range(1, 6)))
    real = rpc.store.page_by_seq

    reads = 0

    def damaged(*args: Any, **kwargs: Any) -> Any:
        nonlocal reads
        reads += 1
        if reads == 1:
            return real(*args, **kwargs)
        raise Damaged("database disk image is malformed")

    # The replay reads a page (1-5), then looks for more: that second read fails, as a
    # damaged page does (tests/reliability/test_store_faults.py damages a real file).
    monkeypatch.setattr(rpc.store, "page_by_seq", damaged)
    if transport == "sse":
        response = await rpc.session.get(f"{rpc.http_url}/events?since_id=0", headers=AUTH)
        rpc.responses.append(response)
        reader = SseReader(response)  # (open_events waits for a subscriber: this one ends)
        assert await reader.notification_ids_until("5") == ["1", "2", "3", "4", "5"]
        event = await reader.event()
        assert event is not None
        assert (event.name, json.loads(event.data)["since_id"]) == ("failed", "5")
        assert await reader.event() is None  # the stream ends
    else:
        client = await (rpc.unix() if transport == "unix" else rpc.websocket())
        sub = await client.subscribe(since_id="0")
        assert await client.notifications_until("5") == ["1", "2", "3", "4", "5"]
        failed = await client.next_message()
        assert failed["id"] is None
        assert failed["error"]["code"] == -32603
        assert failed["error"]["data"] == {"subscription": sub, "since_id": "5"}
        await connection_ends(client)  # `mastod listen` and any client see the end
        monkeypatch.setattr(rpc.store, "page_by_seq", real)
        # the daemon goes on serving: a new connection subscribes and gets what arrives
        again = await (rpc.unix() if transport == "unix" else rpc.websocket())
        await again.subscribe()
        await rpc.ingest(note(6))
        assert await again.notifications_until("6") == ["6"]
    assert rpc.store.problem is not None
    assert rpc.store.problem.startswith("damaged")
