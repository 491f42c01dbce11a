"""Filters (v1) and featured tags."""

from __future__ import annotations

import aiohttp


async def test_filter_crud_json_and_form(client: aiohttp.ClientSession) -> None:
    body = {
        "phrase": "spoilers",
        "context": ["home", "public"],
        "irreversible": False,
        "expires_in": 3600,
    }
    async with client.post("/api/v1/filters", json=body) as resp:
        created = await resp.json()
    assert created["phrase"] == "spoilers"
    assert created["context"] == ["home", "public"]
    assert created["whole_word"] is True
    assert created["expires_at"] is not None
    fid = created["id"]
    form = [("phrase", "plot"), ("context[]", "thread"), ("whole_word", "false")]
    async with client.put(f"/api/v1/filters/{fid}", data=form) as resp:
        updated = await resp.json()
    assert updated["phrase"] == "plot"
    assert updated["context"] == ["thread"]
    assert updated["whole_word"] is False
    async with client.get("/api/v1/filters") as resp:
        assert [f["id"] for f in await resp.json()] == [fid]
    async with client.get(f"/api/v1/filters/{fid}") as resp:
        assert (await resp.json())["phrase"] == "plot"
    async with client.delete(f"/api/v1/filters/{fid}") as resp:
        assert await resp.json() == {}
    async with client.get(f"/api/v1/filters/{fid}") as resp:
        assert resp.status == 404


async def test_filter_validation(client: aiohttp.ClientSession) -> None:
    async with client.post("/api/v1/filters", json={"phrase": "x", "context": []}) as resp:
        assert resp.status == 422
    async with client.post("/api/v1/filters", json={"phrase": "x", "context": ["space"]}) as resp:
        assert resp.status == 422


async def test_featured_tags(client: aiohttp.ClientSession) -> None:
    async with client.post("/api/v1/featured_tags", json={"name": "#Introductions"}) as resp:
        created = await resp.json()
    assert created["name"] == "introductions"
    assert created["statuses_count"] == "1"
    assert created["url"].endswith("/@alice/tagged/introductions")
    async with client.get("/api/v1/featured_tags") as resp:
        assert {t["name"] for t in await resp.json()} == {"mastod", "introductions"}
    async with client.post("/api/v1/featured_tags", json={"name": "introductions"}) as resp:
        assert resp.status == 422
    async with client.post("/api/v1/featured_tags", json={}) as resp:
        assert resp.status == 400
        assert await resp.json() == {"error": "param is missing or the value is empty: name"}
    async with client.delete(f"/api/v1/featured_tags/{created['id']}") as resp:
        assert await resp.json() == {}
    async with client.delete(f"/api/v1/featured_tags/{created['id']}") as resp:
        assert resp.status == 404
