"""The webhook on loopback, fed real encrypted Web Push by pywebpush playing Mastodon."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pytest
import structlog
import yarl
from py_vapid import Vapid02
from pywebpush import WebPusher

from mastod.push.decrypt import PushPayload
from mastod.push.keys import PushKeys
from mastod.push.receiver import PushReceiver
from mastod.push.webhook import PushRequest
from tests.push.conftest import (
    PAYLOAD_TOKEN,
    PUBLIC_URL,
    WEBHOOK_SECRET,
    Hook,
    Instance,
    mastodon_payload,
)


def assert_no_secret(logs: list[dict[str, Any]], keys: PushKeys) -> None:
    text = repr(logs)
    for secret in (PAYLOAD_TOKEN, WEBHOOK_SECRET, keys.auth):
        assert secret not in text


@pytest.mark.parametrize("encoding", ["aes128gcm", "aesgcm"])
async def test_real_pushes_reach_on_push_without_the_token(
    hook: Hook, instance: Instance, keys: PushKeys, encoding: str
) -> None:
    with structlog.testing.capture_logs() as logs:
        status = await instance.webpush(hook.url, keys, encoding, mastodon_payload(4242))
        await hook.settle()

    assert status == 201
    assert hook.received == [
        PushPayload(
            notification_id="4242",
            notification_type="mention",
            title="You were mentioned by alice",
            body="@bob hello there",
            icon="https://instance.example/avatars/original/missing.png",
            preferred_locale="en",
        )
    ]
    assert (hook.receiver.accepted, hook.receiver.rejected) == (1, 0)
    accepted = [e for e in logs if e["event"] == "push.accepted"]
    assert accepted[0]["notification_id"] == "4242"
    assert accepted[0]["encoding"] == encoding
    assert_no_secret(logs, keys)


async def test_mastodons_legacy_header_layout(
    hook: Hook, instance: Instance, keys: PushKeys
) -> None:
    """Mastodon writes `Crypto-Key: dh=...;p256ecdsa=...` (dh first), pywebpush the reverse."""
    pusher = WebPusher({"endpoint": hook.url, "keys": {"p256dh": keys.p256dh, "auth": keys.auth}})
    sealed = pusher.encode(mastodon_payload(5).encode(), "aesgcm")
    vapid = instance.vapid_headers("aesgcm")
    headers = {
        "Content-Type": "application/octet-stream",
        "Content-Encoding": "aesgcm",
        "Encryption": f"salt={sealed['salt'].decode()}",
        "Crypto-Key": f"dh={sealed['crypto_key'].decode()};{vapid['Crypto-Key']}",
        "Authorization": vapid["Authorization"],
        "Ttl": "172800",
        "Urgency": "normal",
    }
    async with (
        aiohttp.ClientSession() as session,
        session.post(hook.url, data=sealed["body"], headers=headers) as response,
    ):
        assert response.status == 201
    await hook.settle()
    assert [p.notification_id for p in hook.received] == ["5"]


def forged_push(instance: Instance, keys: PushKeys, case: str) -> tuple[PushKeys, dict[str, str]]:
    """(keys the body is encrypted to, headers) for one kind of bad push."""
    attacker = Vapid02()
    attacker.generate_keys()
    now = int(time.time())
    if case == "wrong VAPID key":
        return keys, instance.vapid_headers("aes128gcm", signer=attacker)
    if case == "bad signature":
        headers = instance.vapid_headers("aes128gcm", signer=attacker)
        genuine_key = instance.vapid_headers("aes128gcm")["Authorization"].rsplit(",k=", 1)[1]
        return keys, {
            "Authorization": headers["Authorization"].rsplit(",k=", 1)[0] + ",k=" + genuine_key
        }
    if case == "wrong aud":
        return keys, instance.vapid_headers(
            "aes128gcm", instance.claims(aud="https://evil.example")
        )
    if case == "expired exp, forged signature":
        claims = instance.claims(exp=now - 60 * 60)
        return keys, instance.vapid_headers("aes128gcm", claims, signer=attacker)
    if case == "no Authorization":
        return keys, {}
    if case == "encrypted to another key pair":
        return PushKeys.generate(), instance.vapid_headers("aes128gcm")
    if case == "wrong auth secret":
        other = PushKeys.from_private_key(keys.private_key, bytes(16))
        return other, instance.vapid_headers("aes128gcm")
    raise AssertionError(case)


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("wrong VAPID key", "VAPID key is not the instance's"),
        ("bad signature", "VAPID signature does not verify"),
        ("wrong aud", "VAPID aud is not our public origin"),
        ("expired exp, forged signature", "VAPID key is not the instance's"),
        ("no Authorization", "no VAPID authorization"),
        ("encrypted to another key pair", "cannot decrypt (aes128gcm)"),
        ("wrong auth secret", "cannot decrypt (aes128gcm)"),
    ],
)
async def test_forged_pushes_are_acknowledged_then_dropped(
    hook: Hook, instance: Instance, keys: PushKeys, case: str, reason: str
) -> None:
    target, headers = forged_push(instance, keys, case)
    with structlog.testing.capture_logs() as logs:
        status = await instance.push(hook.url, target, headers=headers)
        await hook.settle()

    # 2xx even so: the path was right, and a 4xx could cost us the real subscription.
    assert status == 201
    assert hook.received == []
    assert (hook.receiver.accepted, hook.receiver.rejected) == (0, 1)
    assert [(e["event"], e["reason"]) for e in logs if e["event"] == "push.rejected"] == [
        ("push.rejected", reason)
    ]
    assert_no_secret(logs, keys)


@pytest.mark.parametrize(
    ("offset", "reason"),
    [(-2 * 24 * 3600, "VAPID token expired"), (6 * 60, "VAPID exp more than 24 h away")],
)
async def test_a_skewed_clock_still_triggers_a_catch_up(
    hook: Hook, instance: Instance, keys: PushKeys, offset: int, reason: str
) -> None:
    """Signed by the instance, with its clock `offset` seconds off ours: accepted (it is a
    trigger to catch up), the skew logged once per episode, with the offset."""
    exp = int(time.time()) + offset + 24 * 3600
    with structlog.testing.capture_logs() as logs:
        for notification_id in (1, 2):
            await instance.push(
                hook.url, keys, data=mastodon_payload(notification_id),
                headers=instance.vapid_headers("aes128gcm", instance.claims(exp=exp)),
            )  # fmt: skip
            await hook.settle()
        assert hook.receiver.skew is not None
        await instance.webpush(hook.url, keys, "aes128gcm", mastodon_payload(3))
        await hook.settle()
    assert [p.notification_id for p in hook.received] == ["1", "2", "3"]
    assert (hook.receiver.accepted, hook.receiver.rejected, hook.receiver.skewed) == (3, 0, 2)
    skews = [e for e in logs if e["event"] == "push.clock_skew"]
    assert [(e["reason"], e["window_s"]) for e in skews] == [(reason, 300.0)]
    assert abs(skews[0]["offset_s"] - offset) <= 5  # the time the test took to get there
    assert [e["event"] for e in logs if e["event"].startswith("push.clock")] == [
        "push.clock_skew",
        "push.clock_skew_ended",
    ]
    assert hook.receiver.skew is None


async def test_garbled_body_is_dropped(hook: Hook, instance: Instance, keys: PushKeys) -> None:
    headers = {"Content-Encoding": "aes128gcm", **instance.vapid_headers("aes128gcm")}
    with structlog.testing.capture_logs() as logs:
        async with (
            aiohttp.ClientSession() as session,
            session.post(hook.url, data=b"\x00" * 200, headers=headers) as response,
        ):
            assert response.status == 201
        await hook.settle()
    assert hook.received == []
    assert [e["reason"] for e in logs if e["event"] == "push.rejected"] == [
        "cannot decrypt (aes128gcm)"
    ]


async def test_replay_with_another_key_is_dropped(
    hook: Hook, instance: Instance, keys: PushKeys
) -> None:
    """A captured genuine body, re-sent under an attacker's VAPID signature."""
    pusher = WebPusher({"endpoint": hook.url, "keys": {"p256dh": keys.p256dh, "auth": keys.auth}})
    body = pusher.encode(mastodon_payload(77).encode(), "aes128gcm")["body"]
    attacker = Vapid02()
    attacker.generate_keys()
    genuine = {"Content-Encoding": "aes128gcm", **instance.vapid_headers("aes128gcm")}
    replayed = {
        "Content-Encoding": "aes128gcm",
        **instance.vapid_headers("aes128gcm", signer=attacker),
    }
    async with aiohttp.ClientSession() as session:
        for headers in (genuine, replayed):
            async with session.post(hook.url, data=body, headers=headers) as response:
                assert response.status == 201
    await hook.settle()
    assert [p.notification_id for p in hook.received] == ["77"]
    assert (hook.receiver.accepted, hook.receiver.rejected) == (1, 1)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"/push/{WEBHOOK_SECRET}"),
        ("PUT", f"/push/{WEBHOOK_SECRET}"),
        ("DELETE", f"/push/{WEBHOOK_SECRET}"),
        ("HEAD", f"/push/{WEBHOOK_SECRET}"),
        ("OPTIONS", f"/push/{WEBHOOK_SECRET}"),
        ("POST", "/push/wrong-secret"),
        ("POST", f"/push/{WEBHOOK_SECRET[:-1]}"),
        ("POST", f"/push/{WEBHOOK_SECRET}x"),
        ("POST", f"/push/{WEBHOOK_SECRET}/"),
        ("POST", f"/push/{WEBHOOK_SECRET}/../{WEBHOOK_SECRET}"),
        ("POST", f"//push/{WEBHOOK_SECRET}"),
        ("POST", "/push/"),
        ("POST", "/rpc"),
        ("GET", "/rpc"),
        ("GET", "/health"),
        ("GET", "/"),
        ("POST", f"/PUSH/{WEBHOOK_SECRET}"),
    ],
)
async def test_everything_else_is_an_empty_404(hook: Hook, method: str, path: str) -> None:
    async with (
        aiohttp.ClientSession() as session,
        # encoded=True: sent exactly as written, `..` and `//` included
        session.request(method, yarl.URL(hook.base + path, encoded=True), data=b"{}") as response,
    ):
        assert response.status == 404
        assert await response.read() == b""
    assert len(hook.tasks) == 0
    assert hook.received == []


async def test_oversized_body_is_413(hook: Hook) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(hook.url, data=b"x" * 5000) as response:
            assert response.status == 413

        async def chunks() -> Any:  # no Content-Length: the limit holds while reading
            for _ in range(10):
                yield b"y" * 1000

        async with session.post(hook.url, data=chunks()) as response:
            assert response.status == 413
    assert len(hook.tasks) == 0
    assert hook.received == []


async def test_ack_is_immediate_even_when_on_push_is_slow(
    hook: Hook, instance: Instance, keys: PushKeys
) -> None:
    release = asyncio.Event()
    entered = asyncio.Event()

    async def slow(payload: PushPayload) -> None:
        entered.set()
        await release.wait()

    hook.on_push.append(slow)
    async with asyncio.timeout(2):
        status = await instance.push(hook.url, keys)
    assert status == 201
    await asyncio.wait_for(entered.wait(), 2)
    assert hook.received == []  # still inside on_push, well after the 201
    release.set()
    await hook.settle()
    assert len(hook.received) == 1


async def test_a_failing_on_push_is_logged_and_the_next_push_works(
    hook: Hook, instance: Instance, keys: PushKeys
) -> None:
    calls = 0

    async def flaky(payload: PushPayload) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("store unavailable")

    hook.on_push.append(flaky)
    with structlog.testing.capture_logs() as logs:
        assert await instance.push(hook.url, keys, data=mastodon_payload(1)) == 201
        await hook.settle()
        assert await instance.push(hook.url, keys, data=mastodon_payload(2)) == 201
        await hook.settle()
    assert [p.notification_id for p in hook.received] == ["2"]
    assert [e["notification_id"] for e in logs if e["event"] == "push.handler_failed"] == ["1"]
    assert_no_secret(logs, keys)


async def test_a_push_is_dropped_while_the_server_key_is_unknown(
    instance: Instance, keys: PushKeys
) -> None:
    received: list[PushPayload] = []

    async def unknown() -> bytes | None:
        return None

    async def on_push(payload: PushPayload) -> None:
        received.append(payload)

    receiver = PushReceiver(keys, server_key=unknown, audience=lambda: PUBLIC_URL, on_push=on_push)
    pusher = WebPusher(
        {"endpoint": "https://x", "keys": {"p256dh": keys.p256dh, "auth": keys.auth}}
    )
    body = pusher.encode(mastodon_payload().encode(), "aes128gcm")["body"]
    headers = {"content-encoding": "aes128gcm"}
    headers["authorization"] = instance.vapid_headers("aes128gcm")["Authorization"]
    with structlog.testing.capture_logs() as logs:
        await receiver(PushRequest(body, headers))
    assert received == []
    assert receiver.rejected == 1
    assert [e["reason"] for e in logs] == ["instance VAPID key not known"]
