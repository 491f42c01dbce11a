"""Streaming connections dropped (as by a crashing or restarting server), refused, revoked,
and closed on shutdown; what was missed meanwhile is still there for a REST catch-up."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest
from aiohttp import WSMsgType

from mastod.sandbox import CLIENT_ID, CLIENT_SECRET, READ_ONLY_TOKEN, RunningSandbox, Sandbox
from tests.sandbox.conftest import NOTIFICATIONS, STREAMING, act, auth, barrier, frame


async def test_dropped_streams_reconnect_and_catch_up(
    client: aiohttp.ClientSession, ws_session: aiohttp.ClientSession, sandbox: Sandbox
) -> None:
    first = await ws_session.ws_connect(NOTIFICATIONS, headers=auth())
    second = await ws_session.ws_connect(NOTIFICATIONS, headers=auth(READ_ONLY_TOKEN))
    await barrier(first)
    await barrier(second)
    assert sandbox.faults.drop_streams() == 2
    for ws in (first, second):
        ended = await ws.receive(timeout=5)
        assert ended.type in (WSMsgType.CLOSED, WSMsgType.CLOSE, WSMsgType.ERROR)
        assert ws.close_code == 1006  # no close frame: the server just went away
        await ws.close()
    # While nobody listens, a notification is made; REST still has it for the catch-up.
    [missed] = await act(client, "mention")
    async with ws_session.ws_connect(NOTIFICATIONS, headers=auth()) as ws:
        [made] = await act(client, "favourite")
        assert json.loads((await frame(ws))["payload"])["id"] == made["id"]
    async with client.get(
        "/api/v1/notifications", params={"min_id": str(int(missed["id"]) - 1)}
    ) as resp:
        assert [n["id"] for n in await resp.json()] == [made["id"], missed["id"]]


async def test_graceful_drop_refused_reconnect_and_revocation(
    client: aiohttp.ClientSession, ws_session: aiohttp.ClientSession, sandbox: Sandbox
) -> None:
    async with ws_session.ws_connect(NOTIFICATIONS, headers=auth()) as ws:
        await barrier(ws)
        async with client.post(
            "/_sandbox/faults", json={"drop_streams": True, "graceful": True}
        ) as resp:
            assert await resp.json() == {"dropped": 1}
        assert (await ws.receive(timeout=5)).type is WSMsgType.CLOSE
        assert ws.close_code == 1001
    sandbox.faults.add(STREAMING, "status", status=502, count=1)
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await ws_session.ws_connect(NOTIFICATIONS, headers=auth())
    assert refused.value.status == 502
    revocable = sandbox.add_token("revocable", "1", "read", "1").token
    async with ws_session.ws_connect(NOTIFICATIONS, headers=auth(revocable)) as ws:
        await barrier(ws)
        form = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "token": revocable}
        async with client.post("/oauth/revoke", data=form) as resp:
            assert resp.status == 200
        assert (await ws.receive(timeout=5)).type is WSMsgType.CLOSE
        assert ws.close_code == 1000


async def test_shutdown_says_goodbye(running: RunningSandbox) -> None:
    session = aiohttp.ClientSession(base_url=running.url)
    try:
        ws = await session.ws_connect(NOTIFICATIONS, headers=auth())
        await barrier(ws)
        closing = asyncio.create_task(running.close())
        assert (await ws.receive(timeout=5)).type is WSMsgType.CLOSE
        assert ws.close_code == 1001
        await asyncio.wait_for(closing, 0.9)  # well within the 1 s shutdown timeout
    finally:
        await session.close()
