"""Notifications: created by other accounts' actions, listed, filtered, dismissed, hooked."""

from __future__ import annotations

from typing import Any

import aiohttp

from mastod.sandbox import OTHER_TOKEN, Sandbox
from tests.sandbox.conftest import auth


def _alices(sandbox: Sandbox) -> list[str]:
    return sorted((k for k, n in sandbox.notifications.items() if n.account_id == "1"), key=int)


async def _types(client: aiohttp.ClientSession, query: str = "") -> list[str]:
    async with client.get(f"/api/v1/notifications{query}") as resp:
        assert resp.status == 200
        return [n["type"] for n in await resp.json()]


async def test_seeded_notifications(client: aiohttp.ClientSession) -> None:
    assert await _types(client) == ["favourite", "mention", "mention", "follow", "follow"]


async def test_bob_acting_over_rest_notifies_alice(
    client: aiohttp.ClientSession, sandbox: Sandbox
) -> None:
    seen: list[tuple[str, dict[str, Any]]] = []
    sandbox.on_notification.append(lambda account, entity: seen.append((account, entity)))
    bob = auth(OTHER_TOKEN)
    sandbox.follows.pop(("2", "1"))
    await client.post("/api/v1/accounts/1/follow", headers=bob)
    await client.post("/api/v1/statuses/113000000000000002/favourite", headers=bob)
    await client.post("/api/v1/statuses/113000000000000002/reblog", headers=bob)
    await client.post("/api/v1/statuses", json={"status": "@alice hey"}, headers=bob)
    assert [(a, e["type"]) for a, e in seen] == [
        ("1", "follow"),
        ("1", "favourite"),
        ("1", "reblog"),
        ("1", "mention"),
    ]
    ids = [e["id"] for _, e in seen]
    assert ids == sorted(ids, key=int)
    assert seen[1][1]["status"]["id"] == "113000000000000002"
    assert (await _types(client))[:4] == ["mention", "reblog", "favourite", "follow"]


async def test_type_filters_and_cursors(client: aiohttp.ClientSession, sandbox: Sandbox) -> None:
    assert await _types(client, "?types[]=mention") == ["mention", "mention"]
    assert await _types(client, "?exclude_types[]=mention&exclude_types[]=follow") == ["favourite"]
    ids = _alices(sandbox)
    async with client.get(f"/api/v1/notifications?min_id={ids[1]}&limit=2") as resp:
        assert [n["id"] for n in await resp.json()] == [ids[3], ids[2]]
    async with client.get(f"/api/v1/notifications?max_id={ids[2]}") as resp:
        assert [n["id"] for n in await resp.json()] == [ids[1], ids[0]]
    async with client.get(f"/api/v1/notifications?since_id={ids[0]}&limit=1") as resp:
        assert [n["id"] for n in await resp.json()] == [ids[-1]]


async def test_get_dismiss_and_clear(client: aiohttp.ClientSession, sandbox: Sandbox) -> None:
    first = _alices(sandbox)[0]
    async with client.get(f"/api/v1/notifications/{first}") as resp:
        one = await resp.json()
    assert one["id"] == first
    assert one["group_key"] == f"ungrouped-{first}"
    async with client.post(f"/api/v1/notifications/{first}/dismiss") as resp:
        assert await resp.json() == {}
    async with client.get(f"/api/v1/notifications/{first}") as resp:
        assert resp.status == 404
    async with client.post("/api/v1/notifications/clear") as resp:
        assert await resp.json() == {}
    assert await _types(client) == []


async def test_other_accounts_notifications_are_invisible(
    client: aiohttp.ClientSession, sandbox: Sandbox
) -> None:
    alices = _alices(sandbox)[0]
    async with client.get(f"/api/v1/notifications/{alices}", headers=auth(OTHER_TOKEN)) as resp:
        assert resp.status == 404


async def test_sandbox_act_produces_notifications(
    client: aiohttp.ClientSession, sandbox: Sandbox
) -> None:
    seen: list[str] = []
    sandbox.on_notification.append(lambda _account, entity: seen.append(entity["type"]))
    for action in ("mention", "favourite", "reblog", "follow", "favourite"):
        async with client.post("/_sandbox/act", json={"actor": "bob", "action": action}) as resp:
            assert resp.status == 200, await resp.text()
            body = await resp.json()
        assert [n["type"] for n in body["notifications"]] == [action]
    assert seen == ["mention", "favourite", "reblog", "follow", "favourite"]
    async with client.post(
        "/_sandbox/act", json={"actor": "carol", "action": "mention", "text": "hello there"}
    ) as resp:
        body = await resp.json()
    assert body["status"]["content"].startswith('<p><span class="h-card"')
    async with client.post("/_sandbox/act", json={"action": "dance"}) as resp:
        assert resp.status == 422


async def test_blocked_and_muted_accounts_do_not_notify(
    client: aiohttp.ClientSession, sandbox: Sandbox
) -> None:
    await client.post("/api/v1/accounts/2/mute")
    before = len(sandbox.notifications)
    await client.post("/_sandbox/act", json={"actor": "bob", "action": "mention"})
    assert len(sandbox.notifications) == before


async def test_a_failing_callback_does_not_fail_the_request(
    client: aiohttp.ClientSession, sandbox: Sandbox
) -> None:
    def broken(_account: str, _entity: dict[str, Any]) -> None:
        raise RuntimeError("listener bug")

    seen: list[str] = []
    sandbox.on_notification.extend([broken, lambda _a, e: seen.append(e["type"])])
    async with client.post("/_sandbox/act", json={"action": "favourite"}) as resp:
        assert resp.status == 200
    assert seen == ["favourite"]
