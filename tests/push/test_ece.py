"""`mastod.push.ece` opens what http_ece seals, in both encodings, one record or many, and
refuses a message cut at a record boundary or sealed to another key."""

from __future__ import annotations

import os

import http_ece
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from mastod.push import ece
from mastod.push.keys import PushKeys


def point(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


def seal(keys: PushKeys, plaintext: bytes, encoding: str, rs: int) -> tuple[bytes, bytes, bytes]:
    """(body, salt, sender key) as a push server makes them, with a fresh sender key."""
    sender = ec.generate_private_key(ec.SECP256R1())
    salt = os.urandom(16)
    body = http_ece.encrypt(
        plaintext,
        salt=salt,
        private_key=sender,
        dh=keys.public_key,
        auth_secret=keys.auth_secret,
        rs=rs,
        version=encoding,
    )
    return body, salt, point(sender)


def open_sealed(
    keys: PushKeys, body: bytes, salt: bytes, sender: bytes, encoding: str, rs: int
) -> bytes:
    if encoding == "aes128gcm":
        return ece.open_aes128gcm(body, keys)
    return ece.open_aesgcm(body, keys, salt=salt, sender=sender, rs=rs)


CASES = [
    ("aes128gcm", 4096, 300),  # what Mastodon sends: one record
    ("aes128gcm", 40, 300),  # many records
    ("aes128gcm", 40, 1),
    ("aesgcm", 4096, 300),
    ("aesgcm", 25, 300),
    ("aesgcm", 25, 50),  # a full last record: an empty one follows
    ("aesgcm", 4096, 0),
]


@pytest.mark.parametrize(("encoding", "rs", "size"), CASES)
def test_opens_what_http_ece_seals(encoding: str, rs: int, size: int) -> None:
    keys = PushKeys.generate()
    plaintext = os.urandom(size)
    body, salt, sender = seal(keys, plaintext, encoding, rs)
    assert open_sealed(keys, body, salt, sender, encoding, rs) == plaintext


@pytest.mark.parametrize("encoding", ["aes128gcm", "aesgcm"])
def test_a_message_cut_at_a_record_boundary_is_refused(encoding: str) -> None:
    keys = PushKeys.generate()
    rs = 40 if encoding == "aes128gcm" else 25
    body, salt, sender = seal(keys, os.urandom(300), encoding, rs)
    start, record = (86, rs) if encoding == "aes128gcm" else (0, rs + ece.TAG)
    last = (len(body) - start) % record or record
    cut = body[: len(body) - last]  # whole records, but not the last one
    with pytest.raises(ValueError, match=r"record delimiter|record size or length"):
        open_sealed(keys, cut, salt, sender, encoding, rs)


@pytest.mark.parametrize("encoding", ["aes128gcm", "aesgcm"])
def test_another_key_pair_cannot_open_it(encoding: str) -> None:
    keys, other = PushKeys.generate(), PushKeys.generate()
    body, salt, sender = seal(keys, b"hello", encoding, 4096)
    with pytest.raises(Exception):  # noqa: B017,PT011 - InvalidTag, whatever its type
        open_sealed(other, body, salt, sender, encoding, 4096)
