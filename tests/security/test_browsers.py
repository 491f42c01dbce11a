"""Browsers get nothing (issue 10, point 3), with the token required and without it: a request
to `/rpc` (POST, WebSocket) or `/events` naming a foreign `Origin` is refused with 403, and
`POST /rpc` takes only `Content-Type: application/json` (415): a web page can neither publish
with a simple request nor read notifications on a WebSocket. Nothing reaches the upstream."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.fuzz.clients import RawHttp
from tests.fuzz.rig import RPC_TOKEN, Rig, request, running_daemon

PUBLISH = request("publish_status", {"status": "from a web page"})
FOREIGN = ["http://evil.example", "null", "http://127.0.0.1:1", "https://localhost.evil.example"]


@pytest.fixture(params=[True, False], ids=["token", "no-token"])
async def rig(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Rig]:
    token = RPC_TOKEN if request.param else None
    async with running_daemon(tmp_path, token=token) as running:
        yield running


def headers(rig: Rig, **extra: str) -> list[tuple[str, str]]:
    given = [(name.replace("_", "-"), value) for name, value in extra.items()]
    return [("Authorization", f"Bearer {RPC_TOKEN}")] * bool(rig.token) + given


def published(rig: Rig) -> int:
    return sum(1 for r in rig.sandbox.recorded if r.path == "/api/v1/statuses")


@pytest.mark.parametrize("origin", FOREIGN)
async def test_a_foreign_origin_is_refused_everywhere(rig: Rig, origin: str) -> None:
    http = RawHttp("127.0.0.1", rig.port)
    sent = headers(rig, Origin=origin, Content_Type="application/json")
    reply = await http.request("POST", "/rpc", sent, PUBLISH)
    assert reply.status == 403
    reply = await http.request("GET", "/events", headers(rig, Origin=origin))
    assert reply.status == 403
    http.close()
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await session.ws_connect(
                f"{rig.http_url}/rpc", headers=dict(headers(rig)), origin=origin
            )
        assert refused.value.status == 403
    assert published(rig) == 0


async def test_the_listeners_own_origin_and_no_origin_are_served(rig: Rig) -> None:
    http = RawHttp("127.0.0.1", rig.port)  # sends `Host: 127.0.0.1`, no port
    for extra in ({"Origin": "http://127.0.0.1"}, {}):
        reply = await http.request(
            "POST", "/rpc", headers(rig, Content_Type="application/json", **extra), PUBLISH
        )
        assert reply.status == 200, reply.body
    http.close()
    own = f"http://127.0.0.1:{rig.port}"  # aiohttp sends `Host: 127.0.0.1:<port>`
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(f"{rig.http_url}/rpc", headers=dict(headers(rig)), origin=own)
        await ws.close()
    assert published(rig) == 2


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"],
)
async def test_post_needs_application_json(rig: Rig, content_type: str | None) -> None:
    http = RawHttp("127.0.0.1", rig.port)
    extra = {} if content_type is None else {"Content_Type": content_type}
    reply = await http.request("POST", "/rpc", headers(rig, **extra), PUBLISH)
    http.close()
    assert reply.status == 415
    assert published(rig) == 0
