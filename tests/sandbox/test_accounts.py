"""Accounts: own profile (form, JSON, multipart), other profiles, statuses, followers."""

from __future__ import annotations

import aiohttp

from mastod.sandbox import OTHER_TOKEN, Sandbox
from mastod.sandbox.seed import png
from tests.sandbox.conftest import auth
from tests.sandbox.test_pagination import links


async def test_verify_credentials_has_source_and_role(client: aiohttp.ClientSession) -> None:
    async with client.get("/api/v1/accounts/verify_credentials") as resp:
        me = await resp.json()
    assert me["username"] == "alice"
    assert me["acct"] == "alice"
    assert me["source"]["privacy"] == "public"
    assert "note" in me["source"]
    assert me["created_at"].endswith("T00:00:00.000Z")
    assert me["following_count"] == 1
    assert me["followers_count"] == 2


async def test_update_credentials_form_with_nested_fields(client: aiohttp.ClientSession) -> None:
    form = [
        ("display_name", "Alice A."),
        ("note", "New bio"),
        ("locked", "true"),
        ("bot", "0"),
        ("source[privacy]", "unlisted"),
        ("source[sensitive]", "true"),
        ("fields_attributes[0][name]", "Home"),
        ("fields_attributes[0][value]", "https://example.org"),
        ("fields_attributes[1][name]", "Pronouns"),
        ("fields_attributes[1][value]", "she/her"),
    ]
    async with client.patch("/api/v1/accounts/update_credentials", data=form) as resp:
        assert resp.status == 200, await resp.text()
        me = await resp.json()
    assert me["display_name"] == "Alice A."
    assert me["locked"] is True
    assert me["bot"] is False
    assert me["source"]["privacy"] == "unlisted"
    assert me["source"]["sensitive"] is True
    assert [(f["name"], f["value"]) for f in me["fields"]] == [
        ("Home", "https://example.org"),
        ("Pronouns", "she/her"),
    ]
    assert me["note"] == "<p>New bio</p>"
    assert me["source"]["note"] == "New bio"


async def test_update_credentials_multipart_avatar(
    client: aiohttp.ClientSession, sandbox: Sandbox
) -> None:
    form = aiohttp.FormData()
    form.add_field("display_name", "Pictured")
    form.add_field("avatar", png(2, 2), filename="me.png", content_type="image/png")
    async with client.patch("/api/v1/accounts/update_credentials", data=form) as resp:
        me = await resp.json()
    assert me["display_name"] == "Pictured"
    async with client.get(me["avatar"]) as resp:
        assert resp.status == 200
        assert await resp.read() == png(2, 2)


async def test_update_credentials_validation(client: aiohttp.ClientSession) -> None:
    async with client.patch(
        "/api/v1/accounts/update_credentials", json={"display_name": "x" * 31}
    ) as resp:
        assert resp.status == 422
        body = await resp.json()
    assert body["error"].startswith("Validation failed: Display name is too long")


async def test_get_account_lookup_and_404(anon: aiohttp.ClientSession) -> None:
    async with anon.get("/api/v1/accounts/2") as resp:
        assert (await resp.json())["username"] == "bob"
    async with anon.get("/api/v1/accounts/lookup?acct=@carol") as resp:
        assert (await resp.json())["id"] == "3"
    async with anon.get("/api/v1/accounts/999") as resp:
        assert resp.status == 404
        assert await resp.json() == {"error": "Record not found"}


async def test_account_statuses_filters(client: aiohttp.ClientSession) -> None:
    async with client.get("/api/v1/accounts/1/statuses?only_media=true") as resp:
        media = await resp.json()
    assert len(media) == 1
    assert media[0]["media_attachments"][0]["type"] == "image"
    async with client.get("/api/v1/accounts/1/statuses?exclude_replies=true") as resp:
        assert all(s["in_reply_to_id"] is None for s in await resp.json())
    async with client.get("/api/v1/accounts/1/statuses?tagged=MASTOD") as resp:
        assert len(await resp.json()) == 2
    async with client.get("/api/v1/accounts/1/statuses?pinned=true") as resp:
        assert await resp.json() == []


async def test_followers_page_by_follow_id(client: aiohttp.ClientSession, sandbox: Sandbox) -> None:
    async with client.get("/api/v1/accounts/1/followers?limit=1") as resp:
        first = await resp.json()
        rels = links(resp.headers["Link"])
    follow_id = sandbox.follows[(first[0]["id"], "1")].id
    assert rels["next"].query["max_id"] == follow_id
    async with client.get(rels["next"].relative()) as resp:
        second = await resp.json()
    assert {first[0]["username"], second[0]["username"]} == {"bob", "carol"}
    async with client.get("/api/v1/accounts/1/following") as resp:
        assert [a["username"] for a in await resp.json()] == ["bob"]


async def test_hidden_collections_are_empty_for_others(client: aiohttp.ClientSession) -> None:
    await client.patch("/api/v1/accounts/update_credentials", json={"hide_collections": True})
    async with client.get("/api/v1/accounts/1/followers", headers=auth(OTHER_TOKEN)) as resp:
        assert await resp.json() == []
    async with client.get("/api/v1/accounts/1/followers") as resp:
        assert len(await resp.json()) == 2


async def test_relationships_and_featured_lists(client: aiohttp.ClientSession) -> None:
    async with client.get("/api/v1/accounts/relationships?id[]=2&id[]=3&id[]=999") as resp:
        rels = await resp.json()
    assert [(r["id"], r["following"], r["followed_by"]) for r in rels] == [
        ("2", True, True),
        ("3", False, True),
    ]
    async with client.get("/api/v1/accounts/2/lists") as resp:
        assert [lst["title"] for lst in await resp.json()] == ["Friends"]
    async with client.get("/api/v1/accounts/1/featured_tags") as resp:
        tags = await resp.json()
    assert [(t["name"], t["statuses_count"]) for t in tags] == [("mastod", "2")]
