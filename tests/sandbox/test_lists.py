"""Lists: CRUD and members (form-encoded `account_ids[]`, as Mastodon wants them)."""

from __future__ import annotations

import aiohttp

from mastod.sandbox import OTHER_TOKEN, Sandbox
from tests.sandbox.conftest import auth
from tests.sandbox.openapi_check import check_recorded
from tests.sandbox.test_pagination import links


async def test_list_crud(client: aiohttp.ClientSession) -> None:
    async with client.post(
        "/api/v1/lists", data={"title": "Work", "replies_policy": "followed"}
    ) as resp:
        created = await resp.json()
    assert created["title"] == "Work"
    assert created["replies_policy"] == "followed"
    assert created["exclusive"] is False
    lid = created["id"]
    async with client.put(
        f"/api/v1/lists/{lid}", data={"title": "Job", "exclusive": "true"}
    ) as resp:
        updated = await resp.json()
    assert updated["title"] == "Job"
    assert updated["exclusive"] is True
    async with client.get(f"/api/v1/lists/{lid}") as resp:
        assert (await resp.json())["title"] == "Job"
    async with client.get("/api/v1/lists") as resp:
        assert [lst["title"] for lst in await resp.json()] == ["Friends", "Job"]
    async with client.delete(f"/api/v1/lists/{lid}") as resp:
        assert resp.status == 200
        assert await resp.json() == {}
    async with client.get(f"/api/v1/lists/{lid}") as resp:
        assert resp.status == 404


async def test_list_validation(client: aiohttp.ClientSession) -> None:
    async with client.post("/api/v1/lists", data={"title": ""}) as resp:
        assert resp.status == 422
        assert await resp.json() == {"error": "Validation failed: Title can't be blank"}
    async with client.post("/api/v1/lists", data={"title": "x", "replies_policy": "all"}) as resp:
        assert resp.status == 422


async def test_members_add_remove_with_bracketed_form_arrays(
    client: aiohttp.ClientSession, sandbox: Sandbox
) -> None:
    async with client.post("/api/v1/lists", data={"title": "Pals"}) as resp:
        lid = (await resp.json())["id"]
    await client.post("/api/v1/accounts/3/follow")
    form = [("account_ids[]", "2"), ("account_ids[]", "3")]
    async with client.post(f"/api/v1/lists/{lid}/accounts", data=form) as resp:
        assert resp.status == 200
        assert await resp.json() == {}
    async with client.get(f"/api/v1/lists/{lid}/accounts?limit=1") as resp:
        first = await resp.json()
        rels = links(resp.headers["Link"])
    assert first[0]["id"] == "3"
    assert rels["next"].query["max_id"] == sandbox.lists[lid].members["3"].id
    async with client.get(f"/api/v1/lists/{lid}/accounts?limit=0") as resp:
        assert len(await resp.json()) == 2
        assert "Link" not in resp.headers
    async with client.delete(
        f"/api/v1/lists/{lid}/accounts", data=[("account_ids[]", "2")]
    ) as resp:
        assert await resp.json() == {}
    assert list(sandbox.lists[lid].members) == ["3"]


async def test_bare_repeated_key_is_a_silent_no_op(
    client: aiohttp.ClientSession, sandbox: Sandbox
) -> None:
    """`account_ids=2` (no brackets) is a scalar Rails' `permit(account_ids: [])` drops."""
    async with client.post("/api/v1/lists", data={"title": "Bare"}) as resp:
        lid = (await resp.json())["id"]
    async with client.post(f"/api/v1/lists/{lid}/accounts", data={"account_ids": "2"}) as resp:
        assert resp.status == 200
    assert sandbox.lists[lid].members == {}
    # Mastodon accepts it, but it is not the API: the schema check must say so.
    bare = sandbox.recorded.pop()
    assert [v.message for v in check_recorded([bare])] == [
        "account_ids: '2' is not of type 'array'"
    ]


async def test_member_errors(client: aiohttp.ClientSession) -> None:
    async with client.post("/api/v1/lists/1/accounts", json={"account_ids": ["3"]}) as resp:
        assert resp.status == 404  # alice does not follow carol
    async with client.post("/api/v1/lists/1/accounts", json={"account_ids": ["2"]}) as resp:
        assert resp.status == 422  # already a member
    async with client.post(
        "/api/v1/lists/1/accounts", json={"account_ids": ["2"]}, headers=auth(OTHER_TOKEN)
    ) as resp:
        assert resp.status == 404  # not bob's list
