"""Web Push delivery: real encrypted, VAPID-signed pushes to a receiver on 127.0.0.1, checked
by code independent of the sandbox's sender (see `push_receiver`) and against pywebpush."""

from __future__ import annotations

import json

import aiohttp
import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from py_vapid import Vapid01, Vapid02
from pywebpush import webpush_async
from yarl import URL

from mastod.sandbox import OWNER_TOKEN, RunningSandbox, Sandbox
from tests.sandbox.conftest import act, subscribe
from tests.sandbox.push_receiver import (
    PushReceiver,
    Received,
    UserAgent,
    b64,
    params,
    unb64,
    verify_vapid,
)

PAYLOAD_KEYS = [
    "access_token", "preferred_locale", "notification_id", "notification_type", "icon",
    "title", "body",
]  # fmt: skip


def check_headers(push: Received, encoding: str, base_url: str) -> None:
    h = push.headers
    assert h["Content-Encoding"] == encoding
    assert h["Content-Type"] == "application/octet-stream"
    assert h["Content-Length"] == str(len(push.body))
    assert (h["TTL"], h["Urgency"]) == ("172800", "normal")
    assert h["User-Agent"].startswith("Mastodon/4.4.0 (http.rb/")
    assert h["Unsubscribe-URL"].startswith(f"{base_url}/api/web/push_subscriptions/")
    assert h["Date"].endswith(" GMT")
    if encoding == "aesgcm":
        salt, dh = params(h["Encryption"])["salt"], params(h["Crypto-Key"])["dh"]
        assert "=" not in salt + dh
        assert (len(unb64(salt)), len(unb64(dh))) == (16, 65)
        assert list(params(h["Crypto-Key"])) == ["dh", "p256ecdsa"]
    else:
        assert "Encryption" not in h
        assert "Crypto-Key" not in h


@pytest.mark.parametrize(
    ("standard", "encoding"), [(True, "aes128gcm"), (False, "aesgcm")], ids=["standard", "legacy"]
)
async def test_every_act_is_pushed_encrypted_and_signed(
    client: aiohttp.ClientSession,
    running: RunningSandbox,
    sandbox: Sandbox,
    receiver: PushReceiver,
    standard: bool,
    encoding: str,
) -> None:
    ua = UserAgent()
    sub = await subscribe(client, f"{receiver.url}/push/alice?x=1", ua, standard=standard)
    expected = {
        "mention": ("You were mentioned by Bob", "Hello @alice!"),
        "favourite": ("Bob favorited your post", "@bob thank you!"),
        "follow": ("Bob is now following you", "Bob posts about the fediverse."),
        "reblog": ("Bob boosted your post", "@bob thank you!"),
    }
    pushed = []
    for action, (title, body) in expected.items():
        [made] = await act(client, action)
        push = await receiver.next()
        assert push.path == "/push/alice?x=1"
        payload = ua.decrypt(push)
        assert list(payload) == PAYLOAD_KEYS
        assert payload == {
            "access_token": OWNER_TOKEN,
            "preferred_locale": "en",
            "notification_id": int(made["id"]),
            "notification_type": action,
            "icon": f"{running.url}/_sandbox/files/missing.png",
            "title": title,
            "body": body,
        }
        if standard:
            assert json.loads(ua.open_aes128gcm(push.body)) == payload
        check_headers(push, encoding, running.url)
        claims = verify_vapid(push, sub["server_key"], receiver.url)
        assert claims["sub"] == "mailto:admin@sandbox.invalid"
        pushed.append(made["id"])
    async with client.get("/api/v1/notifications", params={"limit": "4"}) as resp:
        assert [n["id"] for n in await resp.json()] == pushed[::-1]
    await running.push.settle()
    assert [(d.encoding, d.status, d.outcome) for d in sandbox.push_deliveries] == [
        (encoding, 201, "delivered")
    ] * 4
    assert [d.notification_id for d in sandbox.push_deliveries] == pushed


@pytest.mark.parametrize(
    ("encoding", "vapid"), [("aes128gcm", Vapid02), ("aesgcm", Vapid01)], ids=["vapid", "webpush"]
)
async def test_the_layout_matches_pywebpush(
    client: aiohttp.ClientSession,
    receiver: PushReceiver,
    encoding: str,
    vapid: type[Vapid01],
) -> None:
    """pywebpush, an independent sender, passes the receiver's checks, so they are sound; the
    sandbox's push uses the same header names, schemes and parameters."""
    ua = UserAgent()
    key = vapid()
    key.generate_keys()
    endpoint = f"{receiver.url}/push/pywebpush"
    server_key = b64(key.public_key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint))
    async with aiohttp.ClientSession() as session:
        await webpush_async(
            {"endpoint": endpoint, "keys": ua.keys()},
            data=json.dumps({"hello": "world"}),
            vapid_private_key=key,
            vapid_claims={"sub": "mailto:test@example.invalid"},
            content_encoding=encoding,
            ttl=60,
            aiohttp_session=session,
        )
    reference = await receiver.next()
    assert ua.decrypt(reference) == {"hello": "world"}
    verify_vapid(reference, server_key, receiver.url)

    sub = await subscribe(client, endpoint, ua, standard=encoding == "aes128gcm")
    await act(client, "mention")
    ours = await receiver.next()
    verify_vapid(ours, sub["server_key"], receiver.url)
    for name in ("Content-Encoding", "Encryption", "Crypto-Key", "Authorization", "TTL"):
        assert (name in ours.headers) == (name in reference.headers), name
    assert ours.headers["Content-Encoding"] == reference.headers["Content-Encoding"]
    scheme, _, rest = ours.headers["Authorization"].partition(" ")
    ref_scheme, _, ref_rest = reference.headers["Authorization"].partition(" ")
    assert scheme == ref_scheme
    assert set(params(rest)) == set(params(ref_rest))
    for name in ("Encryption", "Crypto-Key"):
        if name in ours.headers:
            assert set(params(ours.headers[name])) == set(params(reference.headers[name]))


async def test_the_body_is_cut_and_the_json_escaped_as_rails_does(
    client: aiohttp.ClientSession, receiver: PushReceiver
) -> None:
    ua = UserAgent()
    await subscribe(client, f"{receiver.url}/push/a", ua)
    text = "@alice fish &amp; <b>chips</b>, 1 < 2 " + "é" * 200
    await act(client, "mention", text=text)
    push = await receiver.next()
    plain = ua.open_aes128gcm(push.body)
    assert b"\\u0026" in plain
    assert b"\\u003c" in plain
    assert b"<" not in plain
    assert b"&" not in plain
    assert "é".encode() in plain  # UTF-8, not \\u escapes
    body = json.loads(plain)["body"]
    assert body == ("@alice fish & chips, 1 < 2 " + "é" * 200)[:137] + "..."
    assert len(body) == 140


async def test_the_unsubscribe_url_ends_the_subscription(
    client: aiohttp.ClientSession, anon: aiohttp.ClientSession, receiver: PushReceiver
) -> None:
    await subscribe(client, f"{receiver.url}/push/a", UserAgent())
    await act(client, "mention")
    path = URL((await receiver.next()).headers["Unsubscribe-URL"]).path
    for _ in range(2):  # a second DELETE finds nothing and still answers 200
        async with anon.delete(path) as resp:
            assert resp.status == 200
            assert await resp.read() == b""
    async with client.get("/api/v1/push/subscription") as resp:
        assert resp.status == 404
