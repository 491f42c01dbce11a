"""A Web Push receiver for tests, written apart from the sandbox's sender.

`UserAgent` is what a browser (or the daemon) holds: a P-256 key pair and an auth secret. It
decrypts with http_ece called the receiving way (the sender's key and salt read back from
the body header or the `Crypto-Key`/`Encryption` headers), and `open_aes128gcm` repeats the
RFC 8291 derivation with bare `cryptography` primitives, so a push is checked by code that
shares nothing with the sandbox's encryption. `verify_vapid` checks the VAPID JWT with
`cryptography` and py_vapid. `PushReceiver` is the endpoint: an aiohttp server on 127.0.0.1
that keeps every request and answers with the statuses it is told to.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
from dataclasses import dataclass, field
from typing import Any

import http_ece
from aiohttp import web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from multidict import CIMultiDict, CIMultiDictProxy
from py_vapid import Vapid01, Vapid02

from tests.servers import serve


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def params(value: str) -> dict[str, str]:
    """`a=1;b=2` or `a=1,b=2` -> {"a": "1", "b": "2"}."""
    pairs = (p.strip().split("=", 1) for p in value.replace(",", ";").split(";") if "=" in p)
    return {k.strip(): v.strip() for k, v in pairs}


@dataclass(frozen=True)
class Received:
    path: str
    headers: CIMultiDictProxy[str]
    body: bytes


@dataclass
class UserAgent:
    """The receiving side's keys, registered as `subscription[keys]`."""

    private_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    auth: bytes = field(default_factory=lambda: os.urandom(16))

    @property
    def public(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )

    def keys(self) -> dict[str, str]:
        # Standard base64 with padding, as Mastodon.py sends; the server must accept it.
        return {
            "p256dh": base64.b64encode(self.public).decode(),
            "auth": base64.b64encode(self.auth).decode(),
        }

    def decrypt(self, push: Received) -> dict[str, Any]:
        """The payload JSON, decrypted as its `Content-Encoding` says."""
        encoding = push.headers["Content-Encoding"]
        if encoding == "aes128gcm":
            plain = http_ece.decrypt(
                push.body, private_key=self.private_key, auth_secret=self.auth, version=encoding
            )
        else:
            assert encoding == "aesgcm", encoding
            salt = unb64(params(push.headers["Encryption"])["salt"])
            sender = unb64(params(push.headers["Crypto-Key"])["dh"])
            plain = http_ece.decrypt(
                push.body, salt=salt, dh=sender, private_key=self.private_key,
                auth_secret=self.auth, keylabel="P-256", version=encoding,
            )  # fmt: skip
        value = json.loads(plain)
        assert isinstance(value, dict)
        return value

    def open_aes128gcm(self, body: bytes) -> bytes:
        """RFC 8291 §3.4 and RFC 8188 by hand (one record), checking the header's layout."""
        salt, record_size, id_length = body[:16], int.from_bytes(body[16:20], "big"), body[20]
        assert (record_size, id_length) == (4096, 65)
        sender = body[21:86]
        ecdh = self.private_key.exchange(
            ec.ECDH(), ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), sender)
        )
        info = b"WebPush: info\x00" + self.public + sender
        ikm = _hkdf(self.auth, ecdh, info, 32)
        key = _hkdf(salt, ikm, b"Content-Encoding: aes128gcm\x00", 16)
        nonce = _hkdf(salt, ikm, b"Content-Encoding: nonce\x00", 12)
        assert len(body) - 86 <= record_size
        padded = AESGCM(key).decrypt(nonce, body[86:], None).rstrip(b"\x00")
        assert padded[-1:] == b"\x02"  # the last (and only) record
        return padded[:-1]


def _hkdf(salt: bytes, ikm: bytes, info: bytes, length: int) -> bytes:
    return HKDF(hashes.SHA256(), length, salt, info).derive(ikm)


def verify_vapid(push: Received, server_key: str, audience: str) -> dict[str, Any]:
    """Check the push's VAPID credentials against `server_key` (as the subscription entity
    shows it); returns the JWT claims."""
    authorization = push.headers["Authorization"]
    scheme, _, rest = authorization.partition(" ")
    if push.headers["Content-Encoding"] == "aes128gcm":
        assert scheme == "vapid"
        token, key = params(rest)["t"], params(rest)["k"]
        assert Vapid02.verify(authorization)
    else:
        assert scheme == "WebPush"
        token, key = rest, params(push.headers["Crypto-Key"])["p256ecdsa"]
        assert Vapid01.verify(key, authorization)
    assert "=" not in key
    assert unb64(key) == unb64(server_key.rstrip("="))
    head, claims, signature = token.split(".")
    assert json.loads(unb64(head)) == {"typ": "JWT", "alg": "ES256"}
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64(key))
    raw = unb64(signature)
    der = utils.encode_dss_signature(
        int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
    )
    try:
        public.verify(der, f"{head}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise AssertionError("VAPID signature does not verify") from None
    decoded: dict[str, Any] = json.loads(unb64(claims))
    assert decoded["aud"] == audience
    assert time.time() < decoded["exp"] <= time.time() + 24 * 3600 + 5
    assert decoded["sub"].startswith("mailto:")
    return decoded


class PushReceiver:
    """A push endpoint on 127.0.0.1: every request lands in `received`; the answers are
    taken from `statuses` in turn (201 once it is empty), after `delay` seconds."""

    def __init__(self) -> None:
        self.received: asyncio.Queue[Received] = asyncio.Queue()
        self.statuses: list[int] = []
        self.delay = 0.0
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/push/{name}", self._handle)
        self._runner, self.url, _ = await serve(app, access_log=None)
        return self.url

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def next(self, timeout: float = 5.0) -> Received:
        return await asyncio.wait_for(self.received.get(), timeout)

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.received.put_nowait(
            Received(request.path_qs, CIMultiDictProxy(CIMultiDict(request.headers)), body)
        )
        if self.delay:
            await asyncio.sleep(self.delay)
        return web.Response(status=self.statuses.pop(0) if self.statuses else 201)
