"""One Web Push request, built as Mastodon 4.4+ builds it (PROTOCOL.md §2.3, §2.4).

The payload is encrypted with http_ece to the subscription's `p256dh`/`auth` under a fresh
ephemeral P-256 key and salt, and signed with a VAPID JWT (ES256, with `cryptography`):

* `standard: true`: `Content-Encoding: aes128gcm` (RFC 8291; the body starts with the RFC 8188
  header: salt, rs = 4096, the 65-byte sender key) and `Authorization: vapid t=<jwt>,k=<key>`;
* `standard: false`: `Content-Encoding: aesgcm` (draft-04, the body is one record),
  `Encryption: salt=<salt>`, `Crypto-Key: dh=<sender key>;p256ecdsa=<key>` and
  `Authorization: WebPush <jwt>`.

Both carry `Content-Type: application/octet-stream`, `Content-Length`, `Ttl: 172800`,
`Urgency: normal`, `Unsubscribe-URL`, and the `User-Agent`, `Date` and `Accept-Encoding: gzip`
of Mastodon's HTTP client. Keys and salts are URL-safe base64 without padding. The JWT
claims `aud` (the endpoint's origin), `exp` (now + 24 h, as Mastodon's `WebPushRequest`) and
`sub` (`mailto:` the instance's contact address).
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any, Literal
from urllib.parse import urlsplit

import http_ece
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils

from mastod.sandbox import records as r
from mastod.sandbox.constants import CONTACT_EMAIL, HTTP_RB_VERSION, MASTODON_VERSION
from mastod.sandbox.state import Sandbox

Encoding = Literal["aes128gcm", "aesgcm"]

TTL = "172800"  # Web::PushNotificationWorker::TTL, 48 hours
URGENCY = "normal"
RECORD_SIZE = 4096
MAX_PLAINTEXT = 3993  # one 4096-byte aes128gcm record; Webpush::Encryption refuses more
JWT_LIFETIME = 24 * 3600  # WebPushRequest::PAYLOAD_EXPIRATION
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class PushRequest:
    """What is POSTed to the subscription's endpoint."""

    endpoint: str
    encoding: Encoding
    headers: dict[str, str]
    body: bytes


def build_push(sb: Sandbox, sub: r.PushSubscription, payload: bytes) -> PushRequest:
    """Encrypt `payload` for `sub` and sign it with the sandbox's VAPID key."""
    encoding, body, dh, salt = encrypt(payload, sub)
    jwt = vapid_jwt(sb.vapid_private_key, sub.endpoint, sb.clock())
    key = b64url(point(sb.vapid_private_key.public_key()))
    headers = {
        "User-Agent": f"Mastodon/{MASTODON_VERSION} (http.rb/{HTTP_RB_VERSION}; +{sb.url}/)",
        "Date": formatdate(sb.clock(), usegmt=True),
        "Accept-Encoding": "gzip",
        "Content-Type": "application/octet-stream",
        "Content-Length": str(len(body)),
        "Ttl": TTL,
        "Urgency": URGENCY,
        "Unsubscribe-URL": f"{sb.url}/api/web/push_subscriptions/{sub.unsubscribe_token}",
        "Content-Encoding": encoding,
    }
    if encoding == "aes128gcm":
        headers["Authorization"] = f"vapid t={jwt},k={key}"
    else:
        headers["Encryption"] = f"salt={b64url(salt)}"
        headers["Crypto-Key"] = f"dh={b64url(dh)};p256ecdsa={key}"
        headers["Authorization"] = f"WebPush {jwt}"
    return PushRequest(sub.endpoint, encoding, headers, body)


def encrypt(payload: bytes, sub: r.PushSubscription) -> tuple[Encoding, bytes, bytes, bytes]:
    """`(encoding, body, sender public key, salt)`; the encoding follows `sub.standard`."""
    if len(payload) > MAX_PLAINTEXT:
        raise ValueError("message is too big")
    receiver = decode_key(sub.p256dh)
    auth = decode_key(sub.auth)
    sender = ec.generate_private_key(ec.SECP256R1())
    salt = os.urandom(16)
    body: bytes
    if sub.standard:
        # The sender's public key goes into the body header as the key id.
        body = http_ece.encrypt(
            payload, salt=salt, private_key=sender, dh=receiver, auth_secret=auth,
            rs=RECORD_SIZE, version="aes128gcm",
        )  # fmt: skip
        return "aes128gcm", body, point(sender.public_key()), salt
    body = http_ece.encrypt(
        payload, salt=salt, private_key=sender, dh=receiver, auth_secret=auth,
        keylabel="P-256", version="aesgcm",
    )  # fmt: skip
    return "aesgcm", body, point(sender.public_key()), salt


def vapid_jwt(key: ec.EllipticCurvePrivateKey, endpoint: str, now: float) -> str:
    """`JWT.encode({aud, exp, sub}, key, "ES256", typ: "JWT")`: the signature is r || s."""
    claims = {
        "aud": audience(endpoint),
        "exp": int(now) + JWT_LIFETIME,
        "sub": f"mailto:{CONTACT_EMAIL}",
    }
    signing_input = f"{_segment({'typ': 'JWT', 'alg': 'ES256'})}.{_segment(claims)}"
    der = key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
    r_value, s_value = utils.decode_dss_signature(der)
    signature = r_value.to_bytes(32, "big") + s_value.to_bytes(32, "big")
    return f"{signing_input}.{b64url(signature)}"


def audience(endpoint: str) -> str:
    """`Addressable::URI#normalized_site`: scheme and host in lower case, default port left out."""
    parts = urlsplit(endpoint)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    if parts.port is not None and parts.port != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{parts.port}"
    return f"{scheme}://{host}"


def decode_key(value: str) -> bytes:
    """`Webpush.decode64`: URL-safe base64, padding optional; standard base64 also passes."""
    cleaned = value.strip().replace("+", "-").replace("/", "_").rstrip("=")
    return base64.urlsafe_b64decode(cleaned + "=" * (-len(cleaned) % 4))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def point(key: ec.EllipticCurvePublicKey) -> bytes:
    """The 65-byte uncompressed point of a P-256 public key."""
    return key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


def _segment(value: dict[str, Any]) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())
