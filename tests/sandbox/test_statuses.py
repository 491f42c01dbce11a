"""Statuses: posting in every body encoding, viewing, deleting, and the per-status actions."""

from __future__ import annotations

from typing import Any

import aiohttp

from mastod.sandbox import OTHER_TOKEN, RunningSandbox, Sandbox
from tests.sandbox.conftest import auth


async def _post(client: aiohttp.ClientSession, **data: object) -> dict[str, Any]:
    async with client.post("/api/v1/statuses", json=data) as resp:
        assert resp.status == 200, await resp.text()
        body: dict[str, Any] = await resp.json()
        return body


async def test_publish_json_renders_html_tags_and_mentions(
    client: aiohttp.ClientSession, running: RunningSandbox
) -> None:
    status = await _post(client, status="Hi @bob, see #Sandbox", visibility="unlisted")
    assert status["visibility"] == "unlisted"
    assert status["tags"] == [{"name": "Sandbox", "url": f"{running.url}/tags/sandbox"}]
    assert [m["username"] for m in status["mentions"]] == ["bob"]
    assert '<p>Hi <span class="h-card"' in str(status["content"])
    assert status["favourited"] is False
    assert status["pinned"] is False
    assert status["application"] == {
        "name": "mastod sandbox",
        "website": "https://github.com/mastod/mastod",
    }


async def test_publish_form_encoded_with_array_and_boolean(
    client: aiohttp.ClientSession, sandbox: Sandbox
) -> None:
    image = next(m for m in sandbox.media.values() if m.status_id is not None)
    image.status_id = None
    form = [
        ("status", "form post"),
        ("media_ids[]", image.id),
        ("sensitive", "1"),
        ("spoiler_text", "cw"),
    ]
    async with client.post("/api/v1/statuses", data=form) as resp:
        assert resp.status == 200
        status = await resp.json()
    assert status["sensitive"] is True
    assert status["spoiler_text"] == "cw"
    assert [m["id"] for m in status["media_attachments"]] == [image.id]


async def test_reply_sets_parent_and_missing_parent_is_404(client: aiohttp.ClientSession) -> None:
    parent = await _post(client, status="parent")
    reply = await _post(client, status="child", in_reply_to_id=parent["id"])
    assert reply["in_reply_to_id"] == parent["id"]
    assert reply["in_reply_to_account_id"] == "1"
    async with client.get(f"/api/v1/statuses/{parent['id']}/context") as resp:
        context = await resp.json()
    assert [s["id"] for s in context["descendants"]] == [reply["id"]]
    async with client.post("/api/v1/statuses", json={"status": "x", "in_reply_to_id": "9"}) as resp:
        assert resp.status == 404
        assert await resp.json() == {
            "error": "The post you are trying to reply to does not appear to exist."
        }


async def test_publish_validation_errors(client: aiohttp.ClientSession) -> None:
    cases = [
        ({"status": "  "}, "Validation failed: Text can't be blank"),
        ({"status": "x" * 501}, "Validation failed: Text character limit of 500 exceeded"),
        (
            {"status": "x", "visibility": "everyone"},
            "Validation failed: Visibility is not included in the list",
        ),
        ({"status": "x", "media_ids": ["424242"]}, "Media 424242 not found"),
    ]
    for body, error in cases:
        async with client.post("/api/v1/statuses", json=body) as resp:
            assert resp.status == 422
            assert await resp.json() == {"error": error}


async def test_get_and_delete_returns_source_text(
    client: aiohttp.ClientSession, sandbox: Sandbox
) -> None:
    status = await _post(client, status="delete #me")
    async with client.get(f"/api/v1/statuses/{status['id']}") as resp:
        assert (await resp.json())["id"] == status["id"]
    async with client.delete(f"/api/v1/statuses/{status['id']}") as resp:
        deleted = await resp.json()
    assert deleted["text"] == "delete #me"
    assert status["id"] not in sandbox.statuses
    async with client.get(f"/api/v1/statuses/{status['id']}") as resp:
        assert resp.status == 404


async def test_delete_of_someone_elses_status_is_404(client: aiohttp.ClientSession) -> None:
    async with client.post(
        "/api/v1/statuses", json={"status": "bob's"}, headers=auth(OTHER_TOKEN)
    ) as resp:
        bobs = await resp.json()
    async with client.delete(f"/api/v1/statuses/{bobs['id']}") as resp:
        assert resp.status == 404


async def test_private_and_direct_statuses_are_hidden_from_others(
    client: aiohttp.ClientSession, anon: aiohttp.ClientSession
) -> None:
    private = await _post(client, status="followers only", visibility="private")
    async with anon.get(f"/api/v1/statuses/{private['id']}") as resp:
        assert resp.status == 404
    async with client.get(f"/api/v1/statuses/{private['id']}", headers=auth(OTHER_TOKEN)) as resp:
        assert resp.status == 200  # bob follows alice
    direct = await _post(client, status="just me", visibility="direct")
    async with client.get(f"/api/v1/statuses/{direct['id']}", headers=auth(OTHER_TOKEN)) as resp:
        assert resp.status == 404


async def test_favourite_bookmark_mute_pin_return_the_updated_status(
    client: aiohttp.ClientSession,
) -> None:
    status = await _post(client, status="act on me")
    sid = status["id"]
    expected = [
        ("favourite", "favourited", True, "favourites_count", 1),
        ("unfavourite", "favourited", False, "favourites_count", 0),
        ("bookmark", "bookmarked", True, None, None),
        ("unbookmark", "bookmarked", False, None, None),
        ("mute", "muted", True, None, None),
        ("unmute", "muted", False, None, None),
        ("pin", "pinned", True, None, None),
        ("unpin", "pinned", False, None, None),
    ]
    for action, flag, value, counter, count in expected:
        async with client.post(f"/api/v1/statuses/{sid}/{action}") as resp:
            assert resp.status == 200, action
            body = await resp.json()
        assert body["id"] == sid, action
        assert body[flag] is value, action
        if counter:
            assert body[counter] == count


async def test_reblog_returns_the_wrapper_and_unreblog_the_original(
    client: aiohttp.ClientSession, sandbox: Sandbox
) -> None:
    async with client.post(
        "/api/v1/statuses", json={"status": "boost me"}, headers=auth(OTHER_TOKEN)
    ) as resp:
        original = await resp.json()
    async with client.post(f"/api/v1/statuses/{original['id']}/reblog") as resp:
        wrapper = await resp.json()
    assert wrapper["id"] != original["id"]
    assert wrapper["reblog"]["id"] == original["id"]
    assert wrapper["reblog"]["reblogged"] is True
    assert wrapper["reblog"]["reblogs_count"] == 1
    async with client.get(f"/api/v1/statuses/{original['id']}/reblogged_by") as resp:
        assert [a["username"] for a in await resp.json()] == ["alice"]
    async with client.post(f"/api/v1/statuses/{original['id']}/unreblog") as resp:
        back = await resp.json()
    assert back["id"] == original["id"]
    assert back["reblogged"] is False
    assert wrapper["id"] not in sandbox.statuses


async def test_pin_rules(client: aiohttp.ClientSession) -> None:
    async with client.post(
        "/api/v1/statuses", json={"status": "not yours"}, headers=auth(OTHER_TOKEN)
    ) as resp:
        bobs = await resp.json()
    async with client.post(f"/api/v1/statuses/{bobs['id']}/pin") as resp:
        assert resp.status == 422
        assert await resp.json() == {
            "error": "Validation failed: Someone else's post cannot be pinned"
        }
    for n in range(5):
        status = await _post(client, status=f"pin {n}")
        async with client.post(f"/api/v1/statuses/{status['id']}/pin") as resp:
            assert resp.status == 200
    sixth = await _post(client, status="one too many")
    async with client.post(f"/api/v1/statuses/{sixth['id']}/pin") as resp:
        assert resp.status == 422


async def test_idempotency_key_returns_the_original_status(
    client: aiohttp.ClientSession, sandbox: Sandbox
) -> None:
    before = len(sandbox.statuses)
    headers = {"Idempotency-Key": "abc-123"}
    async with client.post("/api/v1/statuses", json={"status": "once"}, headers=headers) as resp:
        first = await resp.json()
    async with client.post("/api/v1/statuses", json={"status": "twice?"}, headers=headers) as resp:
        assert resp.status == 200
        second = await resp.json()
    assert second["id"] == first["id"]
    assert second["content"] == "<p>once</p>"
    assert len(sandbox.statuses) == before + 1
    bob_headers = {**headers, **auth(OTHER_TOKEN)}
    async with client.post("/api/v1/statuses", json={"status": "bob"}, headers=bob_headers) as resp:
        assert (await resp.json())["id"] != first["id"]  # keys are per account


async def test_idempotency_key_expires_after_an_hour(
    client: aiohttp.ClientSession, sandbox: Sandbox
) -> None:
    offset = [0.0]
    real = sandbox.clock
    sandbox.clock = lambda: real() + offset[0]
    headers = {"Idempotency-Key": "later"}
    async with client.post("/api/v1/statuses", json={"status": "a"}, headers=headers) as resp:
        first = await resp.json()
    offset[0] = 3601.0
    async with client.post("/api/v1/statuses", json={"status": "b"}, headers=headers) as resp:
        second = await resp.json()
    assert second["id"] != first["id"]
