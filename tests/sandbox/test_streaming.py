"""The streaming API: WebSocket and Server-Sent Events, tokens, scopes, subscriptions."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest
from aiohttp import WSMsgType

from mastod.sandbox import APP_TOKEN, OWNER_TOKEN, READ_ONLY_TOKEN, RunningSandbox, Sandbox
from mastod.sandbox.routes import streaming as streaming_routes
from tests.sandbox.conftest import NOTIFICATIONS, STREAMING, act, auth, barrier, frame


async def rest_entity(client: aiohttp.ClientSession, notification_id: str) -> Any:
    async with client.get(f"/api/v1/notifications/{notification_id}") as resp:
        assert resp.status == 200
        return await resp.json()


async def test_notifications_arrive_as_the_rest_entity(
    client: aiohttp.ClientSession, ws_session: aiohttp.ClientSession
) -> None:
    async with ws_session.ws_connect(NOTIFICATIONS, headers=auth()) as ws:
        for action in ("mention", "favourite", "follow", "reblog"):
            [made] = await act(client, action)
            event = await frame(ws)
            assert list(event) == ["stream", "event", "payload"]
            assert event["stream"] == ["user:notification"]
            assert event["event"] == "notification"
            assert isinstance(event["payload"], str)  # JSON text inside the JSON frame
            entity = json.loads(event["payload"])
            assert entity["id"] == made["id"]
            assert entity["type"] == action
            assert entity == await rest_entity(client, made["id"])


async def test_streams_chosen_by_message(
    client: aiohttp.ClientSession, ws_session: aiohttp.ClientSession
) -> None:
    async with ws_session.ws_connect(STREAMING, headers=auth()) as ws:
        await ws.send_json({"type": "subscribe", "stream": "user"})
        assert await barrier(ws) == []
        [made] = await act(client, "mention")
        assert (await frame(ws))["stream"] == ["user"]
        # Each subscription hears the notification channel on its own.
        await ws.send_json({"type": "subscribe", "stream": "user:notification"})
        await ws.send_json({"type": "subscribe", "stream": "user"})  # already subscribed
        await barrier(ws)
        await act(client, "favourite")
        streams = sorted([(await frame(ws))["stream"] for _ in range(2)])
        assert streams == [["user"], ["user:notification"]]
        await ws.send_json({"type": "unsubscribe", "stream": "user"})
        await barrier(ws)
        [made] = await act(client, "reblog")
        event = await frame(ws)
        assert (event["stream"], json.loads(event["payload"])["id"]) == (
            ["user:notification"],
            made["id"],
        )
        assert await barrier(ws) == []


@pytest.mark.parametrize("how", ["query", "protocol"])
async def test_other_ways_to_pass_the_token(
    client: aiohttp.ClientSession, ws_session: aiohttp.ClientSession, how: str
) -> None:
    if how == "query":
        connect = ws_session.ws_connect(f"{NOTIFICATIONS}&access_token={OWNER_TOKEN}")
    else:
        connect = ws_session.ws_connect(NOTIFICATIONS, protocols=(OWNER_TOKEN,))
    async with connect as ws:
        if how == "protocol":
            assert ws.protocol == OWNER_TOKEN  # echoed, as the ws library does
        [made] = await act(client, "mention")
        assert json.loads((await frame(ws))["payload"])["id"] == made["id"]


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "Missing access token"),
        (auth("no-such-token"), "Invalid access token"),
        (auth(APP_TOKEN), "Invalid access token"),  # a user token is needed
        ({"Authorization": f"bearer {OWNER_TOKEN}"}, "Invalid access token"),  # `Bearer ` only
    ],
)
async def test_a_bad_token_refuses_the_upgrade(
    ws_session: aiohttp.ClientSession, headers: dict[str, str], message: str
) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await ws_session.ws_connect(NOTIFICATIONS, headers=headers)
    assert refused.value.status == 401
    assert refused.value.headers is not None
    assert refused.value.headers["X-Error-Message"] == message


async def test_scopes_are_checked_per_subscription(
    client: aiohttp.ClientSession, ws_session: aiohttp.ClientSession, sandbox: Sandbox
) -> None:
    statuses_only = sandbox.add_token("statuses-only", "1", "read:statuses", "1").token
    async with ws_session.ws_connect(NOTIFICATIONS, headers=auth(statuses_only)) as ws:
        assert await frame(ws) == {
            "error": "Access token does not have the required scopes",
            "status": 401,
        }
        # `user` is allowed, but without `read:notifications` it carries no notifications.
        await ws.send_json({"type": "subscribe", "stream": "user"})
        assert await barrier(ws) == []
        await act(client, "mention")
        assert await barrier(ws) == []
    async with ws_session.ws_connect(NOTIFICATIONS, headers=auth(READ_ONLY_TOKEN)) as ws:
        [made] = await act(client, "mention")  # `read` is enough
        assert json.loads((await frame(ws))["payload"])["id"] == made["id"]


async def test_subscription_errors_keep_the_socket_open(
    ws_session: aiohttp.ClientSession,
) -> None:
    async with ws_session.ws_connect(STREAMING, headers=auth()) as ws:
        await ws.send_str("not json")
        await ws.send_json({"type": "subscribe", "stream": "hashtag"})
        await ws.send_json({"type": "subscribe", "stream": "list", "list": "999"})
        await ws.send_json({"type": "subscribe", "stream": "list", "list": "1"})  # alice's
        await ws.send_json({"type": "unsubscribe", "stream": "nonsense"})
        assert await barrier(ws) == [
            {"error": "Missing tag name parameter", "status": 400},
            {"error": "Not authorized to stream this list", "status": 401},
            {"error": "Error unsubscribing from channel"},
        ]
        await ws.send_bytes(b"\x00")
        closing = await ws.receive(timeout=5)
        assert closing.type is WSMsgType.CLOSE
        assert ws.close_code == 1003


async def test_server_sent_events(
    client: aiohttp.ClientSession, anon: aiohttp.ClientSession
) -> None:
    async with client.get(f"{STREAMING}/user/notification") as resp:
        assert resp.status == 200
        assert resp.content_type == "text/event-stream"
        assert await resp.content.readline() == b":)\n"
        [made] = await act(client, "mention")
        assert await resp.content.readline() == b"event: notification\n"
        data = await resp.content.readline()
        assert data.startswith(b"data: ")
        assert json.loads(data[6:]) == await rest_entity(client, made["id"])
        assert await resp.content.readline() == b"\n"
    async with anon.get(f"{STREAMING}/user") as resp:
        assert resp.status == 401
        assert await resp.json() == {"error": "Missing access token"}
    async with client.get(f"{STREAMING}/user", headers=auth("nope")) as resp:
        assert (resp.status, await resp.json()) == (401, {"error": "Invalid access token"})


async def test_health_and_discovery(anon: aiohttp.ClientSession, running: RunningSandbox) -> None:
    async with anon.get(f"{STREAMING}/health") as resp:
        assert (resp.status, await resp.text()) == (200, "OK")
        assert "X-RateLimit-Limit" not in resp.headers
    async with anon.get("/api/v2/instance") as resp:
        streaming = (await resp.json())["configuration"]["urls"]["streaming"]
    assert streaming == running.url.replace("http://", "ws://")
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(f"{streaming}{NOTIFICATIONS}", headers=auth()) as ws,
    ):
        assert await barrier(ws) == []
    async with anon.get(STREAMING) as resp:  # not an upgrade
        assert (resp.status, await resp.json()) == (400, {"error": "Unknown channel requested"})


async def test_server_sent_events_heartbeat(
    client: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(streaming_routes, "SSE_HEARTBEAT", 0.05)
    monkeypatch.setattr(streaming_routes, "SSE_DISCONNECT_CHECK", 0.02)
    async with client.get(f"{STREAMING}/user") as resp:
        assert await resp.content.readline() == b":)\n"
        assert await resp.content.readline() == b":thump\n"


async def test_a_departed_event_stream_is_forgotten(
    client: aiohttp.ClientSession, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(streaming_routes, "SSE_DISCONNECT_CHECK", 0.02)
    async with client.get(f"{STREAMING}/user") as resp:
        assert await resp.content.readline() == b":)\n"
        assert len(sandbox.streams.clients) == 1
    for _ in range(100):  # no heartbeat is due: the server must notice the client left
        if not sandbox.streams.clients:
            break
        await asyncio.sleep(0.02)
    assert not sandbox.streams.clients
