"""Home, public, hashtag and list timelines: who sees what."""

from __future__ import annotations

import aiohttp

from mastod.sandbox import OTHER_TOKEN
from tests.sandbox.conftest import auth


async def _post(client: aiohttp.ClientSession, token: str, **data: object) -> str:
    async with client.post("/api/v1/statuses", json=data, headers=auth(token)) as resp:
        body = await resp.json()
        return str(body["id"])


async def _ids(client: aiohttp.ClientSession, path: str) -> list[str]:
    async with client.get(path) as resp:
        assert resp.status == 200, await resp.text()
        return [s["id"] for s in await resp.json()]


async def test_seed_makes_timelines_non_empty(
    client: aiohttp.ClientSession, anon: aiohttp.ClientSession
) -> None:
    assert await _ids(client, "/api/v1/timelines/home")
    assert await _ids(anon, "/api/v1/timelines/public")
    assert await _ids(anon, "/api/v1/timelines/tag/introductions")


async def test_home_has_followed_accounts_but_not_strangers(client: aiohttp.ClientSession) -> None:
    from_bob = await _post(client, OTHER_TOKEN, status="bob speaks")
    await client.post("/api/v1/accounts/2/unfollow")
    assert from_bob not in await _ids(client, "/api/v1/timelines/home")
    await client.post("/api/v1/accounts/2/follow")
    assert from_bob in await _ids(client, "/api/v1/timelines/home")


async def test_home_respects_reblogs_option_and_mutes(client: aiohttp.ClientSession) -> None:
    mine = await _post(client, "sandbox-owner-token", status="boost target")
    async with client.post("/api/v1/statuses", json={"status": "x"}, headers=auth(OTHER_TOKEN)):
        pass
    async with client.post(f"/api/v1/statuses/{mine}/reblog", headers=auth(OTHER_TOKEN)) as resp:
        boost = (await resp.json())["id"]
    assert boost in await _ids(client, "/api/v1/timelines/home")
    await client.post("/api/v1/accounts/2/follow", json={"reblogs": False})
    assert boost not in await _ids(client, "/api/v1/timelines/home")
    await client.post("/api/v1/accounts/2/mute")
    assert not any(s for s in await _ids(client, "/api/v1/timelines/home") if s == boost)


async def test_public_timeline_filters(
    anon: aiohttp.ClientSession, client: aiohttp.ClientSession
) -> None:
    unlisted = await _post(client, "sandbox-owner-token", status="quiet", visibility="unlisted")
    public = await _post(client, "sandbox-owner-token", status="loud")
    public_ids = await _ids(anon, "/api/v1/timelines/public")
    assert public in public_ids
    assert unlisted not in public_ids
    assert await _ids(anon, "/api/v1/timelines/public?remote=true") == []
    media_only = await _ids(anon, "/api/v1/timelines/public?only_media=true")
    assert public not in media_only
    assert len(media_only) == 1


async def test_hashtag_timeline_is_case_insensitive(
    anon: aiohttp.ClientSession, client: aiohttp.ClientSession
) -> None:
    tagged = await _post(client, "sandbox-owner-token", status="about #CamelCase")
    assert tagged in await _ids(anon, "/api/v1/timelines/tag/camelcase")
    assert await _ids(anon, "/api/v1/timelines/tag/nothing-here") == []


async def test_list_timeline_shows_members_only(client: aiohttp.ClientSession) -> None:
    from_bob = await _post(client, OTHER_TOKEN, status="for the list")
    mine = await _post(client, "sandbox-owner-token", status="not in the list")
    ids = await _ids(client, "/api/v1/timelines/list/1")
    assert from_bob in ids
    assert mine not in ids
    async with client.get("/api/v1/timelines/list/1", headers=auth(OTHER_TOKEN)) as resp:
        assert resp.status == 404  # someone else's list
