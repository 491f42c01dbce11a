"""Encrypted Content-Encoding for Web Push, the receiving side: the two formats Mastodon sends.

- `aes128gcm` (RFC 8291 over RFC 8188): salt, record size and the sender's key in the body's
  header; the auth secret mixed in with the `WebPush: info` context; each record ends with a
  delimiter (2 for the last one, 1 before) and zero padding.
- legacy `aesgcm` (draft-ietf-webpush-encryption-04): salt and sender key in the `Encryption`
  and `Crypto-Key` headers (read by the caller); the auth secret mixed in with
  `Content-Encoding: auth`; the key and nonce infos carry the `P-256` context; each record
  starts with a two-byte padding length.

Both are an ECDH with our key, a few HMAC-SHA-256 (HKDF with one output block) and AES-GCM
per record. These are the steps `http_ece.decrypt` takes, without its per-call objects
(`HKDF`, `Cipher`, `default_backend()`), which cost about as much as the ECDH itself.
Every failure raises ValueError (or cryptography's InvalidTag); none carries key material.
"""

from __future__ import annotations

import hmac

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from mastod.push.keys import PushKeys

TAG = 16  # AES-GCM tag bytes, at the end of every record
_CURVE = ec.SECP256R1()
_ECDH = ec.ECDH()


def open_aes128gcm(body: bytes, keys: PushKeys) -> bytes:
    """The plaintext of an RFC 8291 message (`Content-Encoding: aes128gcm`)."""
    if len(body) < 21:
        raise ValueError("no aes128gcm header")
    salt, rs, id_len = body[:16], int.from_bytes(body[16:20], "big"), body[20]
    sender = body[21 : 21 + id_len]
    content = body[21 + id_len :]
    if rs <= TAG + 1 or not content:
        raise ValueError("bad record size or no record")
    secret = _ecdh(keys, sender)
    ikm = _expand(_hmac(keys.auth_secret, secret), b"WebPush: info\0" + keys.public_key + sender)
    prk = _hmac(salt, ikm)
    aead = AESGCM(_expand(prk, b"Content-Encoding: aes128gcm\0")[:16])
    nonce = _expand(prk, b"Content-Encoding: nonce\0")[:12]
    records = []
    for counter, start in enumerate(range(0, len(content), rs)):
        data = aead.decrypt(_iv(nonce, counter), content[start : start + rs], None)
        data = data.rstrip(b"\0")
        last = start + rs >= len(content)
        if not data or data[-1] != (2 if last else 1):
            raise ValueError("bad record delimiter")
        records.append(data[:-1])
    return b"".join(records)


def open_aesgcm(body: bytes, keys: PushKeys, *, salt: bytes, sender: bytes, rs: int) -> bytes:
    """The plaintext of a legacy message (`Content-Encoding: aesgcm`): `salt` from
    `Encryption`, the sender's public key from `Crypto-Key: dh=`, `rs` the record size."""
    chunk = rs + TAG
    if len(salt) != 16 or rs <= 2 or not body or len(body) % chunk == 0:
        raise ValueError("bad salt, record size or length")
    secret = _ecdh(keys, sender)
    ikm = _expand(_hmac(keys.auth_secret, secret), b"Content-Encoding: auth\0")
    context = b"P-256\0" + _prefixed(keys.public_key) + _prefixed(sender)
    prk = _hmac(salt, ikm)
    aead = AESGCM(_expand(prk, b"Content-Encoding: aesgcm\0" + context)[:16])
    nonce = _expand(prk, b"Content-Encoding: nonce\0" + context)[:12]
    records = []
    for counter, start in enumerate(range(0, len(body), chunk)):
        data = aead.decrypt(_iv(nonce, counter), body[start : start + chunk], None)
        pad = int.from_bytes(data[:2], "big")
        if len(data) < 2 + pad or data[2 : 2 + pad].count(0) != pad:
            raise ValueError("bad padding")
        records.append(data[2 + pad :])
    return b"".join(records)


def _ecdh(keys: PushKeys, sender: bytes) -> bytes:
    return keys.private_key.exchange(
        _ECDH, ec.EllipticCurvePublicKey.from_encoded_point(_CURVE, sender)
    )


def _hmac(key: bytes, message: bytes) -> bytes:
    return hmac.digest(key, message, "sha256")


def _expand(prk: bytes, info: bytes) -> bytes:
    """HKDF-Expand's first block (RFC 5869): every output here is at most 32 bytes."""
    return _hmac(prk, info + b"\x01")


def _iv(nonce: bytes, counter: int) -> bytes:
    """RFC 8188 §2.3: the nonce with the record's sequence number XORed into its low bits."""
    return nonce[:4] + (int.from_bytes(nonce[4:], "big") ^ counter).to_bytes(8, "big")


def _prefixed(point: bytes) -> bytes:
    return len(point).to_bytes(2, "big") + point
