"""The request core's policies, seen from an RPC caller, against the sandbox with faults:
per-call overrides, every error class, 429, retries, idempotent publishing, quoting, paging."""

from __future__ import annotations

import base64
import itertools
import socket
from pathlib import Path

import pytest

from mastod.sandbox import OTHER_TOKEN, READ_ONLY_TOKEN, RunningSandbox, start_sandbox
from mastod.sandbox.ops.interactions import bookmark
from mastod.sandbox.ops.posting import post_status
from tests.integration.conftest import Rpc, RpcFailed, make_sandbox, sent


def alice_status(upstream: RunningSandbox) -> str:
    sb = upstream.sandbox
    alice = sb.account_by_username("alice").id
    return next(s.id for s in sb.statuses.values() if s.account_id == alice)


async def failure(rpc: Rpc, method: str, params: object) -> RpcFailed:
    with pytest.raises(RpcFailed) as caught:
        await rpc.call(method, params)
    return caught.value


async def test_per_call_override_reaches_a_second_instance(
    rpc: Rpc, upstream: RunningSandbox
) -> None:
    second = await start_sandbox(sandbox=make_sandbox())
    try:
        other = second.sandbox.account_by_username("bob").id
        me = await rpc.call(
            "get_account",
            {"account_id": other, "base_url": second.url, "access_token": OTHER_TOKEN},
        )
        assert me["username"] == "bob"
        [request] = sent(second, 0)
        assert request.headers["Authorization"] == f"Bearer {OTHER_TOKEN}"
        assert all(r.path != f"/api/v1/accounts/{other}" for r in sent(upstream, 0))
        # the configured token never travels to another instance
        await rpc.call("get_account", {"account_id": other, "base_url": second.url})
        assert "Authorization" not in sent(second, 1)[0].headers
    finally:
        await second.close()


async def test_mastodon_error_classes(rpc: Rpc, upstream: RunningSandbox) -> None:
    bad_token = await failure(rpc, "get_home_timeline", {"access_token": "not-a-token"})
    assert (bad_token.code, bad_token.data["http_status"]) == (-32001, 401)
    assert bad_token.data["error"] == "The access token is invalid"
    scope = await failure(rpc, "publish_status", {"status": "x", "access_token": READ_ONLY_TOKEN})
    assert (scope.code, scope.data["http_status"]) == (-32003, 403)
    missing = await failure(rpc, "get_status", ["12345"])
    assert (missing.code, missing.data) == (
        -32004,
        {"http_status": 404, "error": "Record not found"},
    )
    invalid = await failure(rpc, "create_list", {"title": ""})
    assert (invalid.code, invalid.data["http_status"]) == (-32022, 422)
    upstream.sandbox.faults.add(
        "/api/v1/lists",
        "status",
        status=400,
        method="POST",
        body={"error": "param is missing or the value is empty: title"},
    )
    bad = await failure(rpc, "create_list", {"title": "x"})
    assert (bad.code, bad.data["error"]) == (
        -32005,
        "param is missing or the value is empty: title",
    )
    upstream.sandbox.faults.add(
        "/api/v1/statuses/",
        "status",
        status=500,
        count=None,
        body="<html><body><h1>We're sorry</h1></body></html>",
        content_type="text/html",
    )
    server = await failure(rpc, "get_status", [alice_status(upstream)])
    assert (server.code, server.data["http_status"]) == (-32050, 500)
    assert "<" not in server.data["error"]
    upstream.sandbox.faults.clear()
    upstream.sandbox.faults.add("/api/v1/statuses/", "truncate", count=None, cut_connection=False)
    garbled = await failure(rpc, "get_status", [alice_status(upstream)])
    assert garbled.code == -32051


async def test_unreachable_instance(rpc: Rpc) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dead = await failure(
        rpc, "get_status", {"status_id": "1", "base_url": f"http://127.0.0.1:{port}"}
    )
    assert dead.code == -32052
    assert "127.0.0.1" not in dead.error["message"]


async def test_rate_limit_waits_when_close_and_fails_fast_when_far(
    rpc: Rpc, upstream: RunningSandbox
) -> None:
    faults = upstream.sandbox.faults
    status_id = alice_status(upstream)
    waited = faults.add("/api/v1/statuses/", "rate_limit", reset_in=0.5)
    assert (await rpc.call("get_status", [status_id]))["id"] == status_id
    assert waited.hits == 1
    faults.add("/api/v1/statuses/", "rate_limit", reset_in=600)
    limited = await failure(rpc, "get_status", [status_id])
    assert limited.code == -32029
    assert limited.data["http_status"] == 429
    assert limited.data["rate_limit_reset"].endswith("Z")


async def test_reads_are_retried_writes_are_not(rpc: Rpc, upstream: RunningSandbox) -> None:
    faults = upstream.sandbox.faults
    status_id = alice_status(upstream)
    flaky = faults.add("/api/v1/statuses/", "status", status=503, count=2, method="GET")
    before = len(upstream.sandbox.recorded)
    assert (await rpc.call("get_status", [status_id]))["id"] == status_id
    assert flaky.hits == 2
    assert len(sent(upstream, before)) == 3
    faults.add("/api/v1/statuses/", "status", status=503, count=1, method="POST")
    before = len(upstream.sandbox.recorded)
    refused = await failure(rpc, "add_favourite_status", [status_id])
    assert refused.code == -32050
    assert [r.method for r in sent(upstream, before)] == ["POST"]


async def test_publish_status_retry_creates_exactly_one_status(
    rpc: Rpc, upstream: RunningSandbox
) -> None:
    sb = upstream.sandbox
    # The post is created, then the connection drops before the answer: the caller's
    # retry must not publish twice.
    lost = sb.faults.add("/api/v1/statuses", "drop", method="POST", after=True)
    before = len(sb.recorded)
    posted = await rpc.call("publish_status", {"status": "exactly once"})
    assert lost.hits == 1
    attempts = [r for r in sent(upstream, before) if r.method == "POST"]
    assert len(attempts) == 2
    keys = {r.headers["Idempotency-Key"] for r in attempts}
    assert len(keys) == 1
    assert [s.id for s in sb.statuses.values() if s.text == "exactly once"] == [posted["id"]]


@pytest.mark.parametrize(
    "evil", ["../../api/v1/accounts/verify_credentials", "%2e%2e", "a/b", "..", "1?x=1", "1#f"]
)
async def test_ids_stay_inside_their_endpoint(
    rpc: Rpc, upstream: RunningSandbox, evil: str
) -> None:
    before = len(upstream.sandbox.recorded)
    answer = await rpc.raw("get_status", [evil])
    requests = sent(upstream, before)
    if "error" in answer and answer["error"]["code"] == -32602:  # refused before sending
        assert requests == []
        return
    assert answer["error"]["code"] == -32004
    [request] = requests
    assert request.path.startswith("/api/v1/statuses/")
    assert "/" not in request.path.removeprefix("/api/v1/statuses/")
    assert request.query == []


async def test_paginate_three_pages_by_link_cursors(rpc: Rpc, upstream: RunningSandbox) -> None:
    sb = upstream.sandbox
    alice = sb.account_by_username("alice").id
    for i in range(4):
        bookmark(sb, alice, post_status(sb, alice, f"bookmarked {i}"))
    marked = {status_id for (actor, status_id) in sb.bookmarks if actor == alice}
    assert len(marked) == 5
    before = len(sb.recorded)
    page = await rpc.call(
        "paginate", {"method": "get_bookmarked_statuses", "params": {"limit": 2}, "pages": 3}
    )
    ids = [s["id"] for s in page["items"]]
    assert sorted(ids) == sorted(marked)
    assert page["next"] is None
    requests = sent(upstream, before)
    assert len(requests) == 3
    for previous, request in itertools.pairwise(requests):
        # each cursor is the one the server's Link header gave, not an item's id
        assert previous.response is not None
        link = previous.response.headers["Link"]
        cursor = request.query_values("max_id")[0]
        assert f"max_id={cursor}" in link
        assert cursor not in marked
    bad = await failure(
        rpc, "paginate", {"method": "get_bookmarked_statuses", "params": {"limit": "2"}}
    )
    assert bad.code == -32602
    assert "params.limit: must be an integer" in bad.error["message"]
    single = await failure(rpc, "paginate", {"method": "get_status"})
    assert single.code == -32602


async def test_upload_media_waits_for_processing(
    rpc: Rpc, upstream: RunningSandbox, tmp_path: Path
) -> None:
    upstream.sandbox.force_async_media = True
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64)
    inline = {"data": base64.b64encode(clip.read_bytes()).decode(), "filename": clip.name}
    media = await rpc.call("upload_media", {"file": inline, "description": "clip"})
    assert media["url"]
    polls = [r for r in sent(upstream, 0) if r.path == f"/api/v1/media/{media['id']}"]
    assert len(polls) >= 2
    posted = await rpc.call("publish_status", {"status": "with clip", "media_ids": [media["id"]]})
    assert posted["attachments"][0]["id"] == media["id"]
    gone = await failure(rpc, "upload_media", {"file": str(tmp_path / "missing.png")})
    assert gone.code == -32602
    assert "file" in gone.error["message"]
