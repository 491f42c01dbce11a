"""Open a push: decrypt by `Content-Encoding`, then read Mastodon's payload without its token.

`aes128gcm` (RFC 8291 over RFC 8188) carries salt and the sender's key in the body header;
legacy `aesgcm` carries them in `Encryption: salt=...` and `Crypto-Key: dh=...`. Both are
undone by `http_ece`. The decoder is picked per request from the header, never from config:
servers older than Mastodon 4.4 send `aesgcm` even when asked for the standard.

The payload (`Web::NotificationSerializer`) includes `access_token`, the live token the
subscription was made with. It is dropped the moment the JSON is parsed: no object, log line
or exception made here holds it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import http_ece

from mastod import jsontext
from mastod.push import b64
from mastod.push.errors import PushRejected
from mastod.push.keys import PushKeys
from mastod.push.vapid import header_params


@dataclass(frozen=True, slots=True)
class PushPayload:
    """What a push says: which notification to fetch, and Mastodon's teaser text for it."""

    notification_id: str  # a JSON number in the payload; REST ids are strings
    notification_type: str
    title: str | None = None
    body: str | None = None
    icon: str | None = None
    preferred_locale: str | None = None


def decrypt(body: bytes, headers: Mapping[str, str], keys: PushKeys) -> bytes:
    """The plaintext of a push (headers with lower-case names); PushRejected if unreadable."""
    encoding = headers.get("content-encoding", "").strip().lower()
    if encoding == "aes128gcm":
        options: dict[str, Any] = {}
    elif encoding == "aesgcm":
        options = _legacy_options(headers)
    else:
        raise PushRejected("unsupported Content-Encoding")
    try:
        plaintext = http_ece.decrypt(
            body,
            private_key=keys.private_key,
            auth_secret=keys.auth_secret,
            version=encoding,
            **options,
        )
    # Hostile input can fail anywhere in http_ece (header parsing, point decoding, GCM tag),
    # with any exception type; none of them carries the key or plaintext.
    except Exception:
        raise PushRejected(f"cannot decrypt ({encoding})") from None
    if not isinstance(plaintext, bytes):
        raise PushRejected(f"cannot decrypt ({encoding})")
    return plaintext


def _legacy_options(headers: Mapping[str, str]) -> dict[str, Any]:
    encryption = header_params(headers.get("encryption", ""))
    crypto_key = header_params(headers.get("crypto-key", ""))
    if "salt" not in encryption or "dh" not in crypto_key:
        raise PushRejected("aesgcm push without Encryption salt or Crypto-Key dh")
    try:
        salt = b64.decode(encryption["salt"])
        dh = b64.decode(crypto_key["dh"])
        rs = int(encryption.get("rs", "4096"))
    except ValueError:
        raise PushRejected("aesgcm push with unreadable Encryption or Crypto-Key") from None
    if len(salt) != 16 or len(dh) != 65 or not 18 <= rs <= 1 << 24:
        raise PushRejected("aesgcm push with invalid salt, key or record size")
    return {"salt": salt, "dh": dh, "rs": rs, "keylabel": "P-256"}


def parse_payload(plaintext: bytes) -> PushPayload:
    """Mastodon's payload without `access_token`; PushRejected if it is not one."""
    try:
        data = jsontext.loads(plaintext)
    except (ValueError, RecursionError):
        # the JSONDecodeError keeps the whole document (token included): let it go here
        data = None
    if isinstance(data, dict):
        data.pop("access_token", None)
    else:
        raise PushRejected("payload is not a JSON object")
    notification_id = data.get("notification_id")
    if isinstance(notification_id, int) and not isinstance(notification_id, bool):
        notification_id = str(notification_id)
    if not isinstance(notification_id, str) or not notification_id.strip():
        raise PushRejected("payload has no notification_id")
    notification_type = data.get("notification_type")
    if not isinstance(notification_type, str) or not notification_type:
        raise PushRejected("payload has no notification_type")
    return PushPayload(
        notification_id=notification_id,
        notification_type=notification_type,
        title=_text(data.get("title")),
        body=_text(data.get("body")),
        icon=_text(data.get("icon")),
        preferred_locale=_text(data.get("preferred_locale")),
    )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def open_push(body: bytes, headers: Mapping[str, str], keys: PushKeys) -> PushPayload:
    """Decrypt and parse; the plaintext (with its token) never leaves this call."""
    return parse_payload(decrypt(body, headers, keys))
