"""The streaming source against a fake Mastodon: auth header, double-encoded payloads,
reconnect with backfill, exactly-once ingestion, discovery and state."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
import yarl
from aiohttp import web
from structlog.testing import capture_logs

from mastod.mastodon.client import Api, MastodonClient
from mastod.notify.backfill import BASELINE_KEY
from mastod.notify.hub import Hub
from mastod.notify.intake import Intake
from mastod.notify.store import NotificationStore
from mastod.notify.stream_wire import read_frame, streaming_url
from mastod.notify.streaming import StreamingSource
from tests.notify.conftest import note, until
from tests.notify.fake import TOKEN, Collector, FakeMastodon, event


@pytest.fixture
async def source(
    api: Api, store: NotificationStore, intake: Intake
) -> AsyncIterator[StreamingSource]:
    streaming = StreamingSource(
        api, TOKEN, store, intake, backoff_base=0.01, backoff_cap=0.05, heartbeat=5.0
    )
    yield streaming
    await streaming.close()


async def hold_open(ws: web.WebSocketResponse) -> None:
    """Keep a server-side connection open until the client goes."""
    async for _ in ws:
        pass


async def test_streams_reconnects_and_backfills_each_notification_once(
    fake: FakeMastodon, source: StreamingSource, hub: Hub, store: NotificationStore
) -> None:
    fake.add(*(note(i) for i in range(1, 6)))  # history before the first start
    collector = Collector()
    hub.subscribe(collector)

    async def script(ws: web.WebSocketResponse, connection: int) -> None:
        if connection == 1:
            fake.add(note(6), note(7))
            await ws.send_str(event(note(6)))
            update = {"stream": ["user"], "event": "update", "payload": json.dumps({"id": "1"})}
            await ws.send_str(json.dumps(update))
            await ws.send_str(json.dumps({"error": "Unknown stream type", "status": 400}))
            await ws.send_str("not json")
            await ws.send_str(event(note(7)))
            await until(lambda: "7" in collector.ids)
            await until(lambda: {"limit": ["80"]} in fake.requests)  # its sweep is done
            fake.add(note(8), note(9, "follow"), note(10))  # sent while it is disconnected
        else:
            await ws.send_str(event(note(10)))  # also fetched by the backfill: once only
            fake.add(note(11))
            await ws.send_str(event(note(11)))
            await hold_open(ws)

    fake.script = script
    sweep = {"limit": ["80"]}  # the newest page, after each connection's catch-up
    with capture_logs() as logs:
        await source.start()
        await until(lambda: "11" in collector.ids and fake.requests.count(sweep) == 2)
    assert collector.ids == [str(i) for i in range(6, 12)]
    assert store.count() == 6  # the history is a baseline, not notifications
    assert fake.requests[0] == {"limit": ["1"]}
    assert fake.requests[1:] == [sweep, {"limit": ["80"], "min_id": ["7"]}, sweep]
    assert fake.ws_headers == [f"Bearer {TOKEN}"] * 2
    assert fake.ws_queries == [{"stream": "user:notification"}] * 2
    assert source.connections == 2
    await until(lambda: source.state == "connected")
    disconnects = [e for e in logs if e["event"] == "streaming.disconnected"]
    assert disconnects[0]["reason"].startswith("closed by the server")
    assert TOKEN not in repr(logs)


async def test_events_during_a_slow_backfill_wait_then_overflow_into_another(
    fake: FakeMastodon, api: Api, store: NotificationStore, hub: Hub, intake: Intake
) -> None:
    store.add(note(100))
    fake.add(note(100))
    collector = Collector()
    hub.subscribe(collector)
    fake.hold_notifications = asyncio.Event()
    source = StreamingSource(api, TOKEN, store, intake, inbox_size=3, backoff_base=0.01)

    async def script(ws: web.WebSocketResponse, connection: int) -> None:
        await until(lambda: len(fake.requests) == 1)  # the backfill waits for its answer
        for nid in range(101, 111):  # more than the inbox holds
            fake.add(note(nid))
            await ws.send_str(event(note(nid)))
        await until(lambda: source.inbox_overflows == 2)
        assert fake.hold_notifications is not None
        fake.hold_notifications.set()  # answers with nothing after 100: it was asked before
        await until(lambda: "110" in collector.ids)
        fake.add(note(111))
        await ws.send_str(event(note(111)))
        await hold_open(ws)

    fake.script = script
    await source.start()
    await until(lambda: "111" in collector.ids)
    await source.close()
    assert collector.ids == [str(i) for i in range(101, 112)]
    assert [r["min_id"] for r in fake.requests if "min_id" in r] == [["100"], ["100"]]
    assert source.connections == 1


async def test_without_v2_instance_the_base_url_is_the_streaming_host(
    fake: FakeMastodon, source: StreamingSource, hub: Hub
) -> None:
    fake.streaming = None
    collector = Collector()
    hub.subscribe(collector)

    async def script(ws: web.WebSocketResponse, connection: int) -> None:
        fake.add(note(1))
        await ws.send_str(event(note(1)))
        await hold_open(ws)

    fake.script = script
    await source.start()
    await until(lambda: collector.ids == ["1"])
    assert fake.ws_headers == [f"Bearer {TOKEN}"]


async def test_a_refused_token_is_reported_and_retried(
    fake: FakeMastodon, api: Api, store: NotificationStore, intake: Intake
) -> None:
    source = StreamingSource(api, "wrong-token", store, intake, backoff_base=0.01)
    with capture_logs() as logs:
        await source.start()
        await until(lambda: len(fake.ws_headers) >= 3)
        await until(lambda: source.state.startswith("reconnecting in "))
    await source.close()
    assert source.state == "stopped"
    assert all(h == "Bearer wrong-token" for h in fake.ws_headers)
    reasons = {e["reason"] for e in logs if e["event"] == "streaming.disconnected"}
    assert reasons == {"upgrade refused: HTTP 401"}
    assert source.connections == 0
    assert "wrong-token" not in repr(logs)


def test_read_frame_reads_the_payload_twice() -> None:
    notification = note(5)
    assert read_frame(event(notification)) == ("notification", notification)
    as_object = json.dumps({"event": "notification", "payload": notification})
    assert read_frame(as_object) == ("notification", notification)
    assert read_frame(json.dumps({"event": "delete", "payload": "5"})) == ("other", None)
    for payload in ("{oops", "[1]"):
        frame = json.dumps({"event": "notification", "payload": payload})
        assert read_frame(frame) == ("other", None)
    assert read_frame("[]") == ("other", None)
    merged = json.dumps({"stream": ["user:notification"], "event": "notifications_merged"})
    assert read_frame(merged) == ("notifications_merged", None)
    error = {"error": "Access token does not have the required scopes", "status": 401}
    assert read_frame(json.dumps(error)) == ("error", error)


@pytest.mark.parametrize(
    ("streaming", "base", "expected"),
    [
        ("wss://streaming.example", "https://m.example", "wss://streaming.example"),
        ("ws://streaming.example/", "https://m.example", "wss://streaming.example"),
        ("https://s.example/prefix", "https://m.example", "wss://s.example/prefix"),
        (None, "http://127.0.0.1:3000", "ws://127.0.0.1:3000"),
        (None, "https://m.example/sub", "wss://m.example/sub"),
        ("not a url", "https://m.example", "wss://m.example"),
    ],
)
def test_streaming_url(streaming: str | None, base: str, expected: str) -> None:
    url = streaming_url(streaming, base)
    assert url == yarl.URL(f"{expected}/api/v1/streaming?stream=user:notification")


async def test_a_refused_catch_up_waits_for_a_new_token(
    fake: FakeMastodon,
    client: MastodonClient,
    source: StreamingSource,
    store: NotificationStore,
) -> None:
    store.set_meta(BASELINE_KEY, "0")
    fake.add(*(note(i) for i in range(1, 4)))
    client.set_token("revoked-token-8d1f")  # the REST calls are refused (401), the stream not

    async def script(ws: web.WebSocketResponse, connection: int) -> None:
        await hold_open(ws)

    fake.script = script
    with capture_logs() as logs:
        await source.start()
        await until(lambda: source.state == "connected")  # after the refused catch-up
        assert [e["event"] for e in logs].count("backfill.failed") == 1
        assert store.count() == 0
        client.set_token(TOKEN)  # replaced (SIGHUP) and verified: the sources ask again
        source.request_catch_up()
        await until(lambda: store.count() == 3)
    events = [e["event"] for e in logs]
    assert events.count("backfill.failed") == 1
    assert "backfill.recovered" in events
    assert source.connections == 1  # the same connection caught up
