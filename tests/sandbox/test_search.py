"""`GET /api/v2/search`."""

from __future__ import annotations

import aiohttp


async def _search(session: aiohttp.ClientSession, query: str) -> dict[str, list[dict[str, str]]]:
    async with session.get(f"/api/v2/search?{query}") as resp:
        assert resp.status == 200, await resp.text()
        assert "Link" not in resp.headers
        result: dict[str, list[dict[str, str]]] = await resp.json()
        return result


async def test_search_all_types(client: aiohttp.ClientSession) -> None:
    result = await _search(client, "q=intro")
    assert [t["name"] for t in result["hashtags"]] == ["introductions"]
    assert len(result["statuses"]) == 3
    assert result["accounts"] == []
    result = await _search(client, "q=@bob")
    assert [a["username"] for a in result["accounts"]] == ["bob"]


async def test_type_limit_offset_and_following(client: aiohttp.ClientSession) -> None:
    result = await _search(client, "q=introductions&type=statuses&limit=1&offset=1")
    assert len(result["statuses"]) == 1
    assert result["hashtags"] == []
    everyone = await _search(client, "q=o&type=accounts")
    followed = await _search(client, "q=o&type=accounts&following=true")
    assert {a["username"] for a in everyone["accounts"]} == {"bob", "carol"}
    assert [a["username"] for a in followed["accounts"]] == ["bob"]


async def test_anonymous_search_rules(anon: aiohttp.ClientSession) -> None:
    result = await _search(anon, "q=introductions")
    assert result["statuses"] == []
    assert result["hashtags"]
    async with anon.get("/api/v2/search?q=x&type=accounts&offset=1") as resp:
        assert resp.status == 401
    async with anon.get("/api/v2/search?q=x&resolve=true") as resp:
        assert resp.status == 401
    async with anon.get("/api/v2/search") as resp:
        assert resp.status == 400
        assert await resp.json() == {"error": "param is missing or the value is empty: q"}
