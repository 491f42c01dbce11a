"""The real webhook app with the real receiver on 127.0.0.1, and an instance that makes real
pushes (pywebpush + py_vapid, never our own code) for the fuzzers and security tests."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import serialization
from py_vapid import Vapid01, Vapid02
from pywebpush import WebPusher

from mastod.config import WebhookConfig
from mastod.push.decrypt import PushPayload
from mastod.push.keys import PushKeys
from mastod.push.receiver import PushReceiver
from mastod.push.webhook import create_webhook_app
from mastod.tasks import TaskSet
from tests.fuzz.support import HANG_BOUND
from tests.servers import serve

PUBLIC_URL = "https://hooks.example"
WEBHOOK_SECRET = "fuzz-hook-secret-Zq81mPn4Lw0aXc7Rt5Yb"
PAYLOAD_TOKEN = "payload-access-token-Fz9Qe2Wr7Ty1Ui3Op5As"
MAX_BODY = WebhookConfig().max_body_bytes


@dataclass
class Push:
    """One push as Mastodon would send it: body, headers, and what it says."""

    body: bytes
    headers: dict[str, str]
    payload: dict[str, Any]


class Instance:
    """A Mastodon instance's push side: its VAPID key, encrypting as its worker does."""

    def __init__(self) -> None:
        self.vapid = Vapid02()
        self.vapid.generate_keys()

    @property
    def point(self) -> bytes:
        public: bytes = self.vapid.public_key.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return public

    def push(self, keys: PushKeys, notification_id: int, encoding: str = "aes128gcm") -> Push:
        payload = {
            "access_token": PAYLOAD_TOKEN,
            "preferred_locale": "en",
            "notification_id": notification_id,
            "notification_type": "mention",
            "icon": "https://instance.example/avatars/original/missing.png",
            "title": "You were mentioned by alice",
            "body": "@bob hello there",
        }
        subscription = {"endpoint": PUBLIC_URL, "keys": {"p256dh": keys.p256dh, "auth": keys.auth}}
        encoded = WebPusher(subscription).encode(json.dumps(payload).encode(), encoding)
        claims = {"aud": PUBLIC_URL, "exp": int(time.time()) + 23 * 3600, "sub": "mailto:a@b.c"}
        signer = Vapid02 if encoding == "aes128gcm" else Vapid01
        headers: dict[str, str] = dict(signer(private_key=self.vapid.private_key).sign(claims))
        headers["Content-Encoding"] = encoding
        headers["TTL"] = "172800"
        if "crypto_key" in encoded:
            dh = "dh=" + encoded["crypto_key"].decode()
            headers["Crypto-Key"] = (
                f"{headers['Crypto-Key']};{dh}" if "Crypto-Key" in headers else dh
            )
        if "salt" in encoded:
            headers["Encryption"] = "salt=" + encoded["salt"].decode()
        return Push(bytes(encoded["body"]), headers, payload)


@dataclass
class Hook:
    port: int
    keys: PushKeys
    instance: Instance
    receiver: PushReceiver
    tasks: TaskSet
    received: list[PushPayload] = field(default_factory=list)

    @property
    def path(self) -> str:
        return f"/push/{WEBHOOK_SECRET}"

    async def settle(self) -> None:
        """Wait until the receiver has dealt with every push acknowledged so far."""
        async with asyncio.timeout(HANG_BOUND):
            while len(self.tasks):
                await asyncio.sleep(0.005)


@asynccontextmanager
async def running_hook() -> AsyncIterator[Hook]:
    keys = PushKeys.generate()
    instance = Instance()
    tasks = TaskSet("fuzz-webhook")
    received: list[PushPayload] = []

    async def on_push(payload: PushPayload) -> None:
        received.append(payload)

    async def server_key() -> bytes | None:
        return instance.point

    receiver = PushReceiver(
        keys, server_key=server_key, audience=lambda: PUBLIC_URL, on_push=on_push
    )
    app = create_webhook_app(WEBHOOK_SECRET, receiver, max_body_bytes=MAX_BODY, tasks=tasks)
    runner, _, port = await serve(app, access_log=None, shutdown_timeout=5.0)
    try:
        yield Hook(port, keys, instance, receiver, tasks, received)
    finally:
        await tasks.cancel()
        await runner.cleanup()


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")
