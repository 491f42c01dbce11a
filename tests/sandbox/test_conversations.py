"""Direct conversations."""

from __future__ import annotations

import aiohttp

from mastod.sandbox import OTHER_TOKEN
from tests.sandbox.conftest import auth
from tests.sandbox.test_pagination import links


async def test_conversations_read_delete_and_cursor(client: aiohttp.ClientSession) -> None:
    async with client.post(
        "/api/v1/statuses", json={"status": "@carol secret", "visibility": "direct"}
    ) as resp:
        dm = await resp.json()
    async with client.get("/api/v1/conversations?limit=1") as resp:
        convs = await resp.json()
        rels = links(resp.headers["Link"])
    assert convs[0]["last_status"]["id"] == dm["id"]
    assert convs[0]["unread"] is False
    assert [a["username"] for a in convs[0]["accounts"]] == ["carol"]
    assert rels["next"].query["max_id"] == dm["id"]  # paged by last status id
    async with client.get(rels["next"].relative()) as resp:
        older = await resp.json()
    assert older[0]["unread"] is True
    assert older[0]["accounts"][0]["username"] == "bob"
    async with client.post(f"/api/v1/conversations/{older[0]['id']}/read") as resp:
        assert (await resp.json())["unread"] is False
    async with client.delete(f"/api/v1/conversations/{convs[0]['id']}") as resp:
        assert await resp.json() == {}
    async with client.delete(f"/api/v1/conversations/{convs[0]['id']}") as resp:
        assert resp.status == 404
    async with client.get("/api/v1/conversations", headers=auth(OTHER_TOKEN)) as resp:
        assert len(await resp.json()) == 1
