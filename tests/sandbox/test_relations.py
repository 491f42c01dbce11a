"""Follow, block, mute, endorse and note: each answers a Relationship; blocks/mutes lists."""

from __future__ import annotations

import aiohttp

from mastod.sandbox import OTHER_TOKEN, Sandbox
from tests.sandbox.conftest import auth
from tests.sandbox.test_pagination import links


async def _rel(client: aiohttp.ClientSession, path: str, **body: object) -> dict[str, object]:
    async with client.post(path, json=body or None) as resp:
        assert resp.status == 200, await resp.text()
        rel: dict[str, object] = await resp.json()
        return rel


async def test_follow_options_and_unfollow(client: aiohttp.ClientSession) -> None:
    rel = await _rel(client, "/api/v1/accounts/3/follow", notify=True, reblogs=False)
    assert rel["following"] is True
    assert rel["notifying"] is True
    assert rel["showing_reblogs"] is False
    assert rel["followed_by"] is True
    rel = await _rel(client, "/api/v1/accounts/3/unfollow")
    assert rel["following"] is False


async def test_follow_creates_a_notification_for_the_target(
    client: aiohttp.ClientSession, sandbox: Sandbox
) -> None:
    await _rel(client, "/api/v1/accounts/3/follow")
    created = [n for n in sandbox.notifications.values() if n.account_id == "3"]
    assert [(n.type, n.from_account_id) for n in created] == [("follow", "1")]


async def test_following_a_locked_account_is_a_request(
    client: aiohttp.ClientSession, sandbox: Sandbox
) -> None:
    sandbox.accounts["3"].locked = True
    rel = await _rel(client, "/api/v1/accounts/3/follow")
    assert rel["following"] is False
    assert rel["requested"] is True


async def test_follow_self_is_404(client: aiohttp.ClientSession) -> None:
    async with client.post("/api/v1/accounts/1/follow") as resp:
        assert resp.status == 404


async def test_block_breaks_follows_and_lists(
    client: aiohttp.ClientSession, sandbox: Sandbox
) -> None:
    rel = await _rel(client, "/api/v1/accounts/2/block")
    assert rel["blocking"] is True
    assert rel["following"] is False
    assert rel["followed_by"] is False
    await _rel(client, "/api/v1/accounts/3/block")
    async with client.get("/api/v1/blocks?limit=1") as resp:
        first = await resp.json()
        cursor = links(resp.headers["Link"])["next"].query["max_id"]
    assert first[0]["id"] == "3"
    assert cursor == sandbox.blocks[("1", "3")].id
    async with client.post(
        "/api/v1/statuses/113000000000000001/favourite", headers=auth(OTHER_TOKEN)
    ) as resp:
        assert resp.status == 404  # bob can no longer see alice's posts
    rel = await _rel(client, "/api/v1/accounts/2/unblock")
    assert rel["blocking"] is False


async def test_mute_with_notifications_flag_and_list(client: aiohttp.ClientSession) -> None:
    rel = await _rel(client, "/api/v1/accounts/2/mute", notifications=False, duration=3600)
    assert rel["muting"] is True
    assert rel["muting_notifications"] is False
    async with client.get("/api/v1/mutes") as resp:
        muted = await resp.json()
    assert muted[0]["id"] == "2"
    assert muted[0]["mute_expires_at"] is not None
    rel = await _rel(client, "/api/v1/accounts/2/unmute")
    assert rel["muting"] is False


async def test_pin_account_needs_a_follow(client: aiohttp.ClientSession) -> None:
    rel = await _rel(client, "/api/v1/accounts/2/pin")
    assert rel["endorsed"] is True
    async with client.get("/api/v1/endorsements") as resp:
        assert [a["id"] for a in await resp.json()] == ["2"]
    async with client.post("/api/v1/accounts/3/pin") as resp:
        assert resp.status == 422
        error = "You must be already following the person you want to endorse"
        assert await resp.json() == {"error": f"Validation failed: {error}"}
    rel = await _rel(client, "/api/v1/accounts/2/unpin")
    assert rel["endorsed"] is False


async def test_note_and_remove_from_followers(client: aiohttp.ClientSession) -> None:
    rel = await _rel(client, "/api/v1/accounts/2/note", comment="met at a conference")
    assert rel["note"] == "met at a conference"
    rel = await _rel(client, "/api/v1/accounts/3/remove_from_followers")
    assert rel["followed_by"] is False
