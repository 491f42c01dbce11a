"""`subscribe` over HTTP POST (refused, with the way to go) and `GET /events` (SSE)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest

from mastod.mastodon.shaping import shape
from mastod.rpc.subscriptions import NEEDS_CONNECTION
from tests.notify.conftest import READ_TIMEOUT, TOKEN, Rpc, note, until

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@dataclass
class Event:
    name: str
    data: str
    id: str | None = None


@dataclass
class SseReader:
    """Reads an event stream the way curl -N shows it: line by line."""

    response: aiohttp.ClientResponse
    comments: list[str] = field(default_factory=list)

    async def event(self) -> Event | None:
        """The next event; None when the stream ends."""
        fields: dict[str, str] = {}
        while True:
            raw = await asyncio.wait_for(self.response.content.readline(), READ_TIMEOUT)
            if not raw:
                return None
            line = raw.decode().rstrip("\n")
            if not line:
                if fields:
                    return Event(fields.get("event", "message"), fields["data"], fields.get("id"))
                continue
            if line.startswith(":"):
                self.comments.append(line)
                continue
            name, _, value = line.partition(": ")
            fields[name] = value

    async def comment(self) -> str:
        """The next comment line (a keep-alive), skipping nothing else."""
        raw = await asyncio.wait_for(self.response.content.readline(), READ_TIMEOUT)
        line = raw.decode().rstrip("\n")
        assert line.startswith(":"), line
        return line

    async def notification_ids_until(self, last_id: str) -> list[str]:
        ids: list[str] = []
        while not ids or ids[-1] != last_id:
            event = await self.event()
            assert event is not None
            assert event.name == "notification", event
            assert event.id is not None
            assert event.id == json.loads(event.data)["id"]
            ids.append(event.id)
        return ids


async def open_events(rpc: Rpc, query: str = "", **headers: str) -> SseReader:
    response = await rpc.session.get(f"{rpc.http_url}/events{query}", headers={**AUTH, **headers})
    rpc.responses.append(response)
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/event-stream")
    await until(lambda: rpc.hub.subscriber_count > 0)
    return SseReader(response)


async def test_subscribe_over_http_post_says_where_to_go(rpc: Rpc) -> None:
    for method, params in (("subscribe", {}), ("unsubscribe", {"subscription": "x"})):
        request = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
        async with rpc.session.post(f"{rpc.http_url}/rpc", json=request, headers=AUTH) as r:
            answer: dict[str, Any] = await r.json()
        error = answer["error"]
        assert error["code"] == NEEDS_CONNECTION == -32010
        assert "WebSocket" in error["message"]
        assert "/events" in error["message"]
        assert error["data"]["transport"] == "http"
    assert rpc.hub.subscriber_count == 0


async def test_events_stream_notifications_as_sse(rpc: Rpc) -> None:
    reader = await open_events(rpc)
    await rpc.ingest(note(9), note(10, "follow"), note(100))
    first = await reader.event()
    assert first == Event("notification", json.dumps(shape(note(9)), separators=(",", ":")), "9")
    assert json.loads(first.data)["status"]["attachments"] == [{"id": "3", "type": "image"}]
    assert await reader.notification_ids_until("100") == ["10", "100"]
    assert await reader.comment() == ": keep-alive"  # sent while idle
    reader.response.close()
    await until(lambda: rpc.hub.subscriber_count == 0)


async def test_events_types_since_id_and_last_event_id(rpc: Rpc) -> None:
    await rpc.ingest(*(note(i, "follow" if i % 2 else "mention") for i in range(1, 11)))
    replayed = await open_events(rpc, "?types=follow,poll&since_id=4")
    assert await replayed.notification_ids_until("9") == ["5", "7", "9"]
    replayed.response.close()

    reader = await open_events(rpc, "?types=mention&types=follow")
    await rpc.ingest(note(11), note(12))
    assert await reader.notification_ids_until("12") == ["11", "12"]
    reader.response.close()
    await until(lambda: rpc.hub.subscriber_count == 0)
    await rpc.ingest(note(13), note(14, "follow"))  # while the client is away
    # An EventSource reconnects with the last id it saw; that wins over ?since_id.
    resumed = await open_events(rpc, "?since_id=1", **{"Last-Event-ID": "12"})
    await rpc.ingest(note(15))
    assert await resumed.notification_ids_until("15") == ["13", "14", "15"]


async def test_events_need_the_token(rpc: Rpc) -> None:
    async with rpc.session.get(f"{rpc.http_url}/events") as response:
        assert response.status == 401
    bad = {"Authorization": "Bearer nope"}
    async with rpc.session.get(f"{rpc.http_url}/events", headers=bad) as response:
        assert response.status == 401
    assert rpc.hub.subscriber_count == 0


@pytest.mark.parametrize("queue_size", [8])
async def test_a_stalled_event_stream_gets_dropped_then_ends(rpc: Rpc) -> None:
    reader = await open_events(rpc)
    # Loopback TCP buffers grow to megabytes: big notifications fill them soon.
    ids = [str(i) for i in range(100, 700)]
    for nid in ids:  # nobody reads the stream meanwhile
        await rpc.ingest(note(nid, pad=20_000))
        await asyncio.sleep(0)
    await until(lambda: rpc.hub.subscriber_count == 0)
    got: list[str] = []
    while (event := await reader.event()) is not None and event.name == "notification":
        assert event.id is not None
        got.append(event.id)
    assert event is not None
    assert event.name == "dropped"
    assert got == ids[: len(got)]
    assert len(got) < len(ids)
    assert json.loads(event.data)["since_id"] == got[-1]
    assert await reader.event() is None  # the stream ends: reconnecting resumes it
    resumed = await open_events(rpc, **{"Last-Event-ID": got[-1]})
    assert await resumed.notification_ids_until(ids[-1]) == ids[len(got) :]


async def test_shutdown_ends_websocket_and_event_stream_subscribers(rpc: Rpc) -> None:
    ws = await rpc.websocket()
    await ws.subscribe()
    reader = await open_events(rpc)
    await until(lambda: rpc.hub.subscriber_count == 2)
    # Without ending them, each open connection would hold the stop for shutdown_timeout.
    await asyncio.wait_for(rpc.runner.cleanup(), READ_TIMEOUT)
    closed = await asyncio.wait_for(ws.ws.receive(), READ_TIMEOUT)
    assert closed.type is aiohttp.WSMsgType.CLOSE
    assert closed.data == aiohttp.WSCloseCode.GOING_AWAY
    assert await reader.event() is None
    assert rpc.hub.subscriber_count == 0
