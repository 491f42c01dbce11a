"""Push subscription endpoints and the instance entities."""

from __future__ import annotations

import base64

import aiohttp
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from mastod.sandbox import OTHER_TOKEN, RunningSandbox, Sandbox
from tests.sandbox.conftest import auth


def _keys() -> tuple[str, str]:
    point = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    return base64.urlsafe_b64encode(point).decode().rstrip("="), base64.b64encode(
        b"0" * 16
    ).decode()


async def test_subscription_lifecycle(client: aiohttp.ClientSession, sandbox: Sandbox) -> None:
    async with client.get("/api/v1/push/subscription") as resp:
        assert resp.status == 404
    p256dh, auth_secret = _keys()
    form = [
        ("subscription[endpoint]", "https://push.example/abc"),
        ("subscription[keys][p256dh]", p256dh),
        ("subscription[keys][auth]", auth_secret),
        ("subscription[standard]", "true"),
        ("data[alerts][mention]", "true"),
        ("data[alerts][follow]", "false"),
        ("data[policy]", "followed"),
    ]
    async with client.post("/api/v1/push/subscription", data=form) as resp:
        assert resp.status == 200, await resp.text()
        sub = await resp.json()
    assert isinstance(sub["id"], int)
    assert sub["standard"] is True
    assert sub["alerts"] == {"mention": True, "follow": False}
    assert sub["policy"] == "followed"
    assert sub["server_key"] == sandbox.vapid_public_key
    point = base64.urlsafe_b64decode(sub["server_key"])
    assert len(point) == 65
    assert point[0] == 4
    async with client.get("/api/v2/instance") as resp:
        assert (await resp.json())["configuration"]["vapid"]["public_key"] == sub["server_key"]
    # PUT replaces data wholesale; a top-level `policy` is ignored, as by the server.
    async with client.put(
        "/api/v1/push/subscription", json={"data": {"alerts": {"poll": True}}, "policy": "none"}
    ) as resp:
        updated = await resp.json()
    assert updated["alerts"] == {"poll": True}
    assert updated["policy"] == "all"
    async with client.get("/api/v1/push/subscription", headers=auth(OTHER_TOKEN)) as resp:
        assert resp.status == 404  # one subscription per token
    async with client.delete("/api/v1/push/subscription") as resp:
        assert await resp.json() == {}
    async with client.get("/api/v1/push/subscription") as resp:
        assert resp.status == 404


async def test_second_post_replaces_the_first(
    client: aiohttp.ClientSession, sandbox: Sandbox
) -> None:
    p256dh, auth_secret = _keys()
    body = {
        "subscription": {
            "endpoint": "https://a.example/1",
            "keys": {"p256dh": p256dh, "auth": auth_secret},
        }
    }
    async with client.post("/api/v1/push/subscription", json=body) as resp:
        first = await resp.json()
    body["subscription"]["endpoint"] = "https://a.example/2"
    async with client.post("/api/v1/push/subscription", json=body) as resp:
        second = await resp.json()
    assert second["id"] != first["id"]
    assert second["standard"] is False
    assert [s.endpoint for s in sandbox.push_subscriptions.values()] == ["https://a.example/2"]


async def test_subscription_validation(client: aiohttp.ClientSession) -> None:
    _, auth_secret = _keys()
    async with client.post("/api/v1/push/subscription", json={"data": {}}) as resp:
        assert resp.status == 400
    bad = {"subscription": {"endpoint": "app://x", "keys": {"p256dh": "AAAA", "auth": auth_secret}}}
    async with client.post("/api/v1/push/subscription", json=bad) as resp:
        assert resp.status == 422
        assert await resp.json() == {
            "error": "Validation failed: Endpoint is invalid, Key p256dh is invalid"
        }


async def test_instance_v1_and_v2(anon: aiohttp.ClientSession, running: RunningSandbox) -> None:
    base = running.url
    async with anon.get("/api/v2/instance") as resp:
        v2 = await resp.json()
    assert v2["configuration"]["urls"]["streaming"] == base.replace("http://", "ws://")
    assert v2["domain"] == base.removeprefix("http://")
    async with anon.get("/api/v1/instance") as resp:
        v1 = await resp.json()
    assert v1["urls"]["streaming_api"] == base.replace("http://", "ws://")
    assert v1["stats"]["user_count"] == 3
