"""Who sent a push: the VAPID JWT (RFC 8292), checked against our instance's `server_key`.

Mastodon signs every push with its instance VAPID key: `Authorization: vapid t=<jwt>,k=<key>`
for standard pushes, `Authorization: WebPush <jwt>` with `Crypto-Key: p256ecdsa=<key>` for
legacy ones. The JWT claims `aud` (the endpoint's origin), `exp` (now + 24 h) and `sub`
(`mailto:` the admin). A push passes only if the key it names is the instance's, the ES256
signature verifies with the instance's key, `aud` is our public origin and `exp` is in the
future but no more than 24 h away, give or take `clock_skew` seconds (`webhook.clock_skew`)
either way. A push that passes everything but the `exp` range raises `ClockSkewed`: the
instance did sign it, and our clock or theirs is wrong. Headers are given as a mapping with
lower-case names.
"""

from __future__ import annotations

import functools
import hmac
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils

from mastod import jsontext
from mastod.net import origin
from mastod.push import b64
from mastod.push.errors import ClockSkewed, PushRejected

MAX_LIFETIME = 24 * 3600  # RFC 8292 §2: exp no more than 24 hours after the request
CLOCK_SKEW = 300.0  # seconds our clock and the instance's may disagree by (the default)
_SEPARATORS = re.compile(r"[,;]")
_ES256 = ec.ECDSA(hashes.SHA256())


@dataclass(frozen=True, slots=True)
class VapidClaims:
    aud: str
    exp: int
    sub: str


def header_params(value: str) -> dict[str, str]:
    """`a=1;b=2,c="3"` -> {"a": "1", "b": "2", "c": "3"} (names lower-cased, first one wins)."""
    params: dict[str, str] = {}
    for piece in _SEPARATORS.split(value):
        name, equals, item = piece.strip().partition("=")
        if equals and name.strip():
            params.setdefault(name.strip().lower(), item.strip().strip('"'))
    return params


def credentials(headers: Mapping[str, str]) -> tuple[str, str]:
    """The JWT and the public key text a push presents, from either Authorization scheme."""
    scheme, _, rest = headers.get("authorization", "").strip().partition(" ")
    scheme = scheme.lower()
    if scheme == "vapid":
        params = header_params(rest)
        token, key = params.get("t"), params.get("k")
    elif scheme == "webpush":
        token = rest.strip()
        key = header_params(headers.get("crypto-key", "")).get("p256ecdsa")
    else:
        raise PushRejected("no VAPID authorization")
    if not token:
        raise PushRejected("VAPID token missing")
    if not key:
        raise PushRejected("VAPID key missing")
    return token, key


def verify_vapid(
    headers: Mapping[str, str],
    *,
    server_key: bytes,
    audience: str,
    now: float | None = None,
    clock_skew: float = CLOCK_SKEW,
) -> VapidClaims:
    """Check a push's VAPID authorization; raise PushRejected(reason) unless it holds
    (ClockSkewed when only `exp` is out of range).

    `server_key` is the instance's VAPID public key (the uncompressed point), `audience` our
    public URL or origin.
    """
    token, key_text = credentials(headers)
    try:
        presented = _key_bytes(key_text)
    except ValueError:
        raise PushRejected("VAPID key is not base64") from None
    if not hmac.compare_digest(presented, server_key):
        raise PushRejected("VAPID key is not the instance's")
    claims = _verified_claims(token, server_key)
    now = time.time() if now is None else now
    return _check_claims(claims, _origin(audience), now, clock_skew)


def _verified_claims(token: str, server_key: bytes) -> dict[str, Any]:
    parts = token.split(".")
    if len(parts) != 3:
        raise PushRejected("VAPID token is not a JWT")
    if not _is_es256(parts[0]):
        raise PushRejected("VAPID token is not ES256")
    try:
        signature = b64.decode(parts[2])
        public = _public_key(server_key)
    except ValueError:
        raise PushRejected("VAPID signature unreadable") from None
    if len(signature) != 64:
        raise PushRejected("VAPID signature unreadable")
    # JWS carries r || s (RFC 7518 §3.4); cryptography verifies the DER form
    der = utils.encode_dss_signature(
        int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    )
    try:
        public.verify(der, f"{parts[0]}.{parts[1]}".encode("ascii"), _ES256)
    except (InvalidSignature, UnicodeEncodeError):
        raise PushRejected("VAPID signature does not verify") from None
    return _json_part(parts[1])


# What is the same in every push of an instance, worked out once: our origin and the one in
# `aud`, the key the push names, the JWT header.
_origin = functools.lru_cache(maxsize=8)(origin)
_key_bytes = functools.lru_cache(maxsize=8)(b64.decode)


@functools.lru_cache(maxsize=8)
def _is_es256(header_part: str) -> bool:
    """The JWT header says ES256 (PushRejected if it is no JSON object)."""
    return _json_part(header_part).get("alg") == "ES256"


@functools.lru_cache(maxsize=4)
def _public_key(point: bytes) -> ec.EllipticCurvePublicKey:
    """The instance key as an object, decoded (and checked on the curve) once, not per push."""
    return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)


def _json_part(part: str) -> dict[str, Any]:
    try:
        value = jsontext.loads(b64.decode(part))
    except (ValueError, RecursionError):
        value = None
    if not isinstance(value, dict):
        raise PushRejected("VAPID token is not a JWT")
    return value


def _check_claims(
    claims: dict[str, Any], expected_aud: str, now: float, skew: float
) -> VapidClaims:
    aud, exp, sub = claims.get("aud"), claims.get("exp"), claims.get("sub")
    if not isinstance(aud, str) or _origin(aud) != expected_aud:
        raise PushRejected("VAPID aud is not our public origin")
    if not isinstance(exp, int) or isinstance(exp, bool):
        raise PushRejected("VAPID exp missing")
    if not isinstance(sub, str) or not sub.strip():
        raise PushRejected("VAPID sub missing")
    # last: everything else holds, so the instance signed this and only a clock is off
    if exp <= now - skew:
        raise ClockSkewed("VAPID token expired", exp - MAX_LIFETIME - now)
    if exp > now + MAX_LIFETIME + skew:
        raise ClockSkewed("VAPID exp more than 24 h away", exp - MAX_LIFETIME - now)
    return VapidClaims(aud, exp, sub)
