"""`subscribe` refuses a notification type Mastodon does not have (a typo would otherwise wait
silently for ever), naming it and listing the valid ones, as the config loader does."""

from __future__ import annotations

from pathlib import Path

import pytest

from mastod.config import NOTIFICATION_TYPES
from tests.fuzz.clients import LineClient, RawHttp
from tests.fuzz.rig import RPC_TOKEN, request, running_daemon


@pytest.mark.parametrize("types", [["mentions"], ["mention", "favorite"], ["MENTION"], [""]])
async def test_unknown_types_are_refused(tmp_path: Path, types: list[str]) -> None:
    async with running_daemon(tmp_path) as rig:
        client = await LineClient.connect(rig.socket_path)
        await client.send(request("subscribe", {"types": types}) + b"\n")
        error = (await client.recv("the refusal"))["error"]
        await client.send(request("subscribe", {"types": ["mention", "admin.sign_up"]}) + b"\n")
        accepted = await client.recv("a valid subscribe")
        client.close()
    assert error["code"] == -32602
    unknown = next(t for t in types if t not in NOTIFICATION_TYPES)
    assert f"unknown type {unknown!r}" in error["message"]
    assert all(name in error["message"] for name in NOTIFICATION_TYPES)
    assert "subscription" in accepted["result"]


async def test_events_refuses_unknown_types_too(tmp_path: Path) -> None:
    async with running_daemon(tmp_path) as rig:
        http = RawHttp("127.0.0.1", rig.port)
        auth = [("Authorization", f"Bearer {RPC_TOKEN}")]
        reply = await http.request("GET", "/events?types=mention,mentions", auth)
        http.close()
    assert reply.status == 400
    assert "unknown type 'mentions'" in reply.json()["error"]
