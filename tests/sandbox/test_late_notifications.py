"""The sandbox's late notifications: one whose job commits after a later one's (invisible,
unpushed and unstreamed until committed), and filtered ones that a notification request's
acceptance un-filters with the streaming event `notifications_merged`."""

from __future__ import annotations

from typing import Any

import aiohttp

from mastod.sandbox import Sandbox
from mastod.sandbox.ops.notify import accept_request, commit
from tests.sandbox.conftest import NOTIFICATIONS, act, auth, barrier, frame


async def listed(client: aiohttp.ClientSession) -> list[str]:
    async with client.get("/api/v1/notifications") as resp:
        assert resp.status == 200
        return [n["id"] for n in await resp.json()]


async def status_of(client: aiohttp.ClientSession, notification_id: str) -> int:
    async with client.get(f"/api/v1/notifications/{notification_id}") as resp:
        return resp.status


async def test_an_uncommitted_notification_appears_after_a_later_one(
    client: aiohttp.ClientSession, ws_session: aiohttp.ClientSession, sandbox: Sandbox
) -> None:
    announced: list[str] = []
    sandbox.on_notification.append(lambda _, entity: announced.append(entity["id"]))
    async with ws_session.ws_connect(NOTIFICATIONS, headers=auth()) as ws:
        await barrier(ws)
        sandbox.uncommitted_notifications = 1
        [late] = await act(client, "favourite")
        [early] = await act(client, "follow")
        assert int(late["id"]) < int(early["id"])
        assert sandbox.uncommitted_notifications == 0
        event: dict[str, Any] = await frame(ws)
        assert '"id":"' + early["id"] + '"' in event["payload"]
        assert late["id"] not in await listed(client)
        assert await status_of(client, late["id"]) == 404
        assert announced == [early["id"]]
        commit(sandbox, late["id"])
        event = await frame(ws)
        assert '"id":"' + late["id"] + '"' in event["payload"]
        assert (await listed(client))[:2] == [early["id"], late["id"]]
        assert await status_of(client, late["id"]) == 200
        assert announced == [early["id"], late["id"]]


async def test_accepting_a_request_unfilters_and_sends_notifications_merged(
    client: aiohttp.ClientSession, ws_session: aiohttp.ClientSession, sandbox: Sandbox
) -> None:
    alice, carol = sandbox.account_by_username("alice").id, sandbox.account_by_username("carol").id
    announced: list[str] = []
    sandbox.on_notification.append(lambda _, entity: announced.append(entity["id"]))
    sandbox.filtered_senders.add((alice, carol))
    async with ws_session.ws_connect(NOTIFICATIONS, headers=auth()) as ws:
        await barrier(ws)
        [filtered] = await act(client, "mention", actor="carol", text="@alice hi")
        [other] = await act(client, "follow")
        assert announced == [other["id"]]  # never pushed nor streamed
        assert '"id":"' + other["id"] + '"' in (await frame(ws))["payload"]
        assert filtered["id"] not in await listed(client)
        assert await status_of(client, filtered["id"]) == 200  # as Mastodon's `show`
        assert accept_request(sandbox, alice, carol) == [filtered["id"]]
        assert await frame(ws) == {
            "stream": ["user:notification"],
            "event": "notifications_merged",
            "payload": "1",
        }
        assert (await listed(client))[:2] == [other["id"], filtered["id"]]
        assert announced == [other["id"]]
