"""Web Push test rig: Mastodon played by independent code, our webhook on loopback.

- `Instance`: the instance's VAPID key (py_vapid) and a sender that encrypts and signs like
  Mastodon's worker, with pywebpush, never with our own code.
- `Hook`: the real webhook app with the real receiver on 127.0.0.1, collecting `on_push`.
- fixtures over `fakes`: `mastodon` (its push API on loopback) with a real `api` bound to it,
  and `fake_ngrok` (the `pyngrok.ngrok` functions we call; ngrok is never started).
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from cryptography.hazmat.primitives import serialization
from py_vapid import Vapid01, Vapid02
from pyngrok import ngrok
from pywebpush import WebPusher, webpush_async

from mastod.config import MastodonConfig
from mastod.mastodon.client import Api, MastodonClient
from mastod.push.decrypt import PushPayload
from mastod.push.keys import PushKeys
from mastod.push.receiver import PushReceiver
from mastod.push.webhook import create_webhook_app
from mastod.tasks import TaskSet
from tests.push.fakes import FakeMastodon, FakeNgrok
from tests.servers import serve

PUBLIC_URL = "https://hooks.example"
WEBHOOK_SECRET = "hook-secret-0123456789-abcdefghijklmnopqrstu"
# The live OAuth token Mastodon puts in every payload: must never get past the decryption.
PAYLOAD_TOKEN = "payload-access-token-QWERTYUIOPasdfghjkl0987"
API_TOKEN = "api-token-for-the-fake-instance-0042"
CONTACT = "mailto:admin@instance.example"


def point(vapid: Vapid01) -> bytes:
    public: bytes = vapid.public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return public


def mastodon_payload(notification_id: int = 334290, **over: Any) -> str:
    """The JSON Mastodon's Web::NotificationSerializer sends."""
    payload = {
        "access_token": PAYLOAD_TOKEN,
        "preferred_locale": "en",
        "notification_id": notification_id,
        "notification_type": "mention",
        "icon": "https://instance.example/avatars/original/missing.png",
        "title": "You were mentioned by alice",
        "body": "@bob hello there",
    }
    payload.update(over)
    return json.dumps(payload)


@dataclass
class Instance:
    """A Mastodon instance's push side: its VAPID key, sending as its worker does."""

    vapid: Vapid02 = field(default_factory=Vapid02)

    def __post_init__(self) -> None:
        self.vapid.generate_keys()

    @property
    def server_key(self) -> str:
        """As the subscription API returns it: URL-safe base64 with `=` padding."""
        return base64.urlsafe_b64encode(point(self.vapid)).decode()

    @property
    def server_point(self) -> bytes:
        return point(self.vapid)

    def claims(self, **over: Any) -> dict[str, Any]:
        claims: dict[str, Any] = {
            "aud": PUBLIC_URL,
            "exp": int(time.time()) + 24 * 3600,
            "sub": CONTACT,
        }
        claims.update(over)
        return {k: v for k, v in claims.items() if v is not None}

    def vapid_headers(
        self, encoding: str, claims: dict[str, Any] | None = None, signer: Vapid01 | None = None
    ) -> dict[str, str]:
        """`vapid t=,k=` for aes128gcm, `WebPush` + `Crypto-Key: p256ecdsa=` for aesgcm."""
        key = (signer or self.vapid).private_key
        vapid = Vapid02(private_key=key) if encoding == "aes128gcm" else Vapid01(private_key=key)
        headers: dict[str, str] = vapid.sign(self.claims() if claims is None else claims)
        return headers

    async def push(
        self,
        url: str,
        keys: PushKeys,
        *,
        encoding: str = "aes128gcm",
        data: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> int:
        """Encrypt `data` to `keys` with pywebpush and POST it; the HTTP status."""
        subscription = {"endpoint": url, "keys": {"p256dh": keys.p256dh, "auth": keys.auth}}
        sent = dict(self.vapid_headers(encoding) if headers is None else headers)
        response = await WebPusher(subscription).send_async(
            data or mastodon_payload(), sent, ttl=172800, content_encoding=encoding
        )
        assert isinstance(response, aiohttp.ClientResponse)
        return response.status

    async def webpush(self, url: str, keys: PushKeys, encoding: str, data: str) -> int:
        """pywebpush's one-call API, signing with this instance's key."""
        subscription: dict[str, Any] = {
            "endpoint": url,
            "keys": {"p256dh": keys.p256dh, "auth": keys.auth},
        }
        signer = Vapid02 if encoding == "aes128gcm" else Vapid01
        response = await webpush_async(
            subscription,
            data,
            vapid_private_key=signer(private_key=self.vapid.private_key),
            vapid_claims={"sub": CONTACT, "aud": PUBLIC_URL},
            content_encoding=encoding,
            ttl=172800,
        )
        assert isinstance(response, aiohttp.ClientResponse)
        return response.status


@pytest.fixture
def instance() -> Instance:
    return Instance()


@pytest.fixture
def keys() -> PushKeys:
    return PushKeys.generate()


@pytest.fixture
async def tasks() -> AsyncIterator[TaskSet]:
    group = TaskSet("push-test")
    yield group
    await group.cancel()


async def settle(tasks: TaskSet, limit: float = 5.0) -> None:
    """Wait until the background work the webhook spawned has finished."""
    async with asyncio.timeout(limit):
        while len(tasks):
            await asyncio.sleep(0.005)


@dataclass
class Hook:
    """The webhook app with the real receiver, listening on loopback."""

    base: str
    receiver: PushReceiver
    tasks: TaskSet
    received: list[PushPayload]
    on_push: list[Callable[[PushPayload], Awaitable[None]]]

    @property
    def url(self) -> str:
        return f"{self.base}/push/{WEBHOOK_SECRET}"

    async def settle(self) -> None:
        await settle(self.tasks)


@pytest.fixture
async def hook(instance: Instance, keys: PushKeys, tasks: TaskSet) -> AsyncIterator[Hook]:
    received: list[PushPayload] = []
    extra: list[Callable[[PushPayload], Awaitable[None]]] = []

    async def on_push(payload: PushPayload) -> None:
        for step in extra:
            await step(payload)
        received.append(payload)

    async def server_key() -> bytes | None:
        return instance.server_point

    receiver = PushReceiver(
        keys, server_key=server_key, audience=lambda: PUBLIC_URL, on_push=on_push
    )
    app = create_webhook_app(WEBHOOK_SECRET, receiver, max_body_bytes=4096, tasks=tasks)
    runner, base, _ = await serve(app, access_log=None)
    yield Hook(base, receiver, tasks, received, extra)
    await runner.cleanup()


@pytest.fixture
async def mastodon(instance: Instance) -> AsyncIterator[FakeMastodon]:
    fake = FakeMastodon(instance.server_key)
    await fake.start()
    yield fake
    await fake.close()


@pytest.fixture
async def api(mastodon: FakeMastodon) -> AsyncIterator[Api]:
    client = MastodonClient(
        MastodonConfig(base_url=mastodon.url, access_token=API_TOKEN, max_retries=0)
    )
    await client.start()
    yield client.api()
    await client.close()


@pytest.fixture
def fake_ngrok(monkeypatch: pytest.MonkeyPatch) -> FakeNgrok:
    made = FakeNgrok()
    for name in ("connect", "get_tunnels", "disconnect", "kill"):
        monkeypatch.setattr(ngrok, name, getattr(made, name))
    monkeypatch.delenv("PYNGROK_NGROK_PATH", raising=False)
    return made
