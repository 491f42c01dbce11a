"""Decryption: the PROTOCOL.md §2.5 vectors, pywebpush's output, garbage, and the payload."""

from __future__ import annotations

import base64
import json

import http_ece
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from pywebpush import WebPusher

from mastod.push.decrypt import PushPayload, decrypt, open_push, parse_payload
from mastod.push.errors import PushRejected
from mastod.push.keys import PushKeys
from tests.push.conftest import PAYLOAD_TOKEN, mastodon_payload


def b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def keys_from(private_value: int, auth: bytes) -> PushKeys:
    return PushKeys.from_private_key(ec.derive_private_key(private_value, ec.SECP256R1()), auth)


# RFC 8291 Appendix A (also in Mastodon's spec/workers/web/push_notification_worker_spec.rb).
RFC_UA_PRIVATE = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94"
RFC_UA_PUBLIC = (
    "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"
)
RFC_AUTH = "BTBZMqHH6r4Tts7J_aSIgg"
RFC_BODY = (
    "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS"
    "6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qul"
    "cy4a-fN"
)

# A real legacy (aesgcm) push captured from Mastodon, from Mastodon.py's
# tests/test_push.py::test_decrypt (MIT licence). Its access token has been revoked.
MP_PRIVATE = 86377660131518823691452242868806126400423244879788569019894692873283793307753
MP_AUTH = bytes.fromhex("e7790f70b992e0a0c5d57e5172d7aa16")
MP_HEADERS = {
    "content-encoding": "aesgcm",
    "encryption": "salt=O14vjCdbxxhRUTkrsp98vw",
    "crypto-key": "dh=BKz_CMlF6kVURVImPDsz3bNbTv-9QTGtXpE4Fd3wQGF44fVTj32-APndoccYdjXY2U-mdTen1"
    "PDm_pHacpEmD0M;p256ecdsa=BDSAB3e_l5Qp4X50UYSSrKiZFZWDAgHlWIDhgBjXJuUzb0HrpqoCdFhMCh4o2xYHTqp"
    "vyTJ3SfFtrILLiXXWT5k",
}
MP_BODY = bytes.fromhex(
    "105c623cdd69ac6486c84a31b67d35014b853bd2d4577a4eab0b7c3344e95f59506373479f68aefebb3a7a26"
    "c48e6b89dea2db46dcdd5b703c689e958dd4f0d0c1890901eb7556b1a44670e3bf916793be20e5d4eee2b046"
    "61428ad00062e45183d5d9839a1dd56adb22c5b0f557a7327234725d614c73a88c1a1968fe58295f74d470c9"
    "d2641b3f19c8582802d518e493e2da01b462e4d0460860133b3ec489bcc38eb89b4a7ec47d5ddbdcf1775916"
    "67f8914eeefd921ecdd27ef20689cda5cd97b77bc5e1e4b09f37c68a35dabb6dcec58d9360260ea983a27c70"
    "3ba48b29c8070d62216182f5459200597bd494f8f00db56386fbd02abba12114d511c8af49b36aca37c49ce0"
    "9c3012c0d18a7bcdc47e5cc299f064290345913b6dbedb86efd7a73ed161f18321ae42aaf0da1b3b86d83b5d"
    "9ee3fa2a21072c09bde7fca7a8ba5bcf8965ac27db8867d95ce443084c62b6434154cc21a4ce9274331c3101"
)


def test_rfc8291_vector() -> None:
    keys = keys_from(int.from_bytes(b64d(RFC_UA_PRIVATE), "big"), b64d(RFC_AUTH))
    assert keys.p256dh == RFC_UA_PUBLIC
    body = b64d(RFC_BODY)
    assert body[16:20] == (4096).to_bytes(4, "big")
    assert body[20] == 65
    plaintext = decrypt(body, {"content-encoding": "aes128gcm"}, keys)
    assert plaintext == b"When I grow up, I want to be a watermelon"


def test_mastodon_legacy_capture() -> None:
    keys = keys_from(MP_PRIVATE, MP_AUTH)
    # The capture's token, learned independently, to prove it is dropped.
    token = json.loads(
        http_ece.decrypt(
            MP_BODY,
            salt=b64d("O14vjCdbxxhRUTkrsp98vw"),
            dh=b64d(MP_HEADERS["crypto-key"].split(";")[0][3:]),
            private_key=keys.private_key,
            auth_secret=MP_AUTH,
            version="aesgcm",
        )
    )["access_token"]
    assert token

    payload = open_push(MP_BODY, MP_HEADERS, keys)

    assert payload == PushPayload(
        notification_id="334290",
        notification_type="mention",
        title="You were mentioned by fake halcy",
        body="@halcy push test",
        icon="https://icosahedron.website/system/accounts/avatars/000/057/229/original/"
        "70f81f368f447dff.png",
        preferred_locale="en",
    )
    assert not hasattr(payload, "access_token")
    assert token not in repr(payload)


@pytest.mark.parametrize("encoding", ["aes128gcm", "aesgcm"])
def test_pywebpush_output_opens(encoding: str) -> None:
    keys = PushKeys.generate()
    pusher = WebPusher(
        {"endpoint": "https://x", "keys": {"p256dh": keys.p256dh, "auth": keys.auth}}
    )
    sealed = pusher.encode(mastodon_payload(notification_id=7).encode(), encoding)
    headers = {"content-encoding": encoding}
    if encoding == "aesgcm":
        headers["encryption"] = f"salt={sealed['salt'].decode()}"
        headers["crypto-key"] = f"dh={sealed['crypto_key'].decode()}"
    payload = open_push(sealed["body"], headers, keys)
    assert payload.notification_id == "7"
    assert payload.notification_type == "mention"


def sealed_legacy(keys: PushKeys) -> tuple[bytes, dict[str, str]]:
    pusher = WebPusher(
        {"endpoint": "https://x", "keys": {"p256dh": keys.p256dh, "auth": keys.auth}}
    )
    sealed = pusher.encode(mastodon_payload().encode(), "aesgcm")
    return sealed["body"], {
        "content-encoding": "aesgcm",
        "encryption": f"salt={sealed['salt'].decode()}",
        "crypto-key": f"dh={sealed['crypto_key'].decode()}",
    }


def sealed_standard(keys: PushKeys) -> tuple[bytes, dict[str, str]]:
    pusher = WebPusher(
        {"endpoint": "https://x", "keys": {"p256dh": keys.p256dh, "auth": keys.auth}}
    )
    body = pusher.encode(mastodon_payload().encode(), "aes128gcm")["body"]
    return body, {"content-encoding": "aes128gcm"}


def flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("standard: truncated", "cannot decrypt (aes128gcm)"),
        ("standard: ciphertext flipped", "cannot decrypt (aes128gcm)"),
        ("standard: sender key flipped", "cannot decrypt (aes128gcm)"),
        ("standard: empty body", "cannot decrypt (aes128gcm)"),
        ("standard: to another key pair", "cannot decrypt (aes128gcm)"),
        ("legacy: ciphertext flipped", "cannot decrypt (aesgcm)"),
        ("legacy: to another key pair", "cannot decrypt (aesgcm)"),
        ("legacy: no salt", "aesgcm push without Encryption salt or Crypto-Key dh"),
        ("legacy: short salt", "aesgcm push with invalid salt, key or record size"),
        ("legacy: salt not base64", "aesgcm push with unreadable Encryption or Crypto-Key"),
        ("unknown encoding", "unsupported Content-Encoding"),
    ],
)
def test_garbled_pushes_are_rejected(case: str, reason: str) -> None:
    keys, other = PushKeys.generate(), PushKeys.generate()
    kind, _, what = case.partition(": ")
    target = other if what == "to another key pair" else keys
    body, headers = (sealed_standard if kind == "standard" else sealed_legacy)(target)
    if what == "truncated":
        body = body[:-5]
    elif what == "ciphertext flipped":
        body = flip(body, len(body) - 20)
    elif what == "sender key flipped":
        body = flip(body, 40)
    elif what == "empty body":
        body = b""
    elif what == "no salt":
        del headers["encryption"]
    elif what == "short salt":
        headers["encryption"] = "salt=AAAA"
    elif what == "salt not base64":
        headers["encryption"] = "salt=%%%%"
    elif case == "unknown encoding":
        headers["content-encoding"] = "gzip"
    with pytest.raises(PushRejected) as caught:
        open_push(body, headers, keys)
    assert caught.value.reason == reason
    assert keys.auth not in str(caught.value)


def test_payload_drops_the_access_token() -> None:
    payload = parse_payload(mastodon_payload(notification_id=12).encode())
    assert payload.notification_id == "12"
    assert payload.title == "You were mentioned by alice"
    assert PAYLOAD_TOKEN not in repr(payload)


def test_payload_accepts_string_ids_and_ignores_odd_fields() -> None:
    raw = json.dumps(
        {"notification_id": "99", "notification_type": "follow", "title": 5, "extra": [1]}
    )
    assert parse_payload(raw.encode()) == PushPayload("99", "follow", title=None)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"not json " + PAYLOAD_TOKEN.encode(), "payload is not a JSON object"),
        (b"[1, 2]", "payload is not a JSON object"),
        (b"\xff\xfe", "payload is not a JSON object"),
        (b"[" * 100_000, "payload is not a JSON object"),
        (json.dumps({"access_token": PAYLOAD_TOKEN}).encode(), "payload has no notification_id"),
        (json.dumps({"notification_id": True}).encode(), "payload has no notification_id"),
        (json.dumps({"notification_id": 1}).encode(), "payload has no notification_type"),
    ],
)
def test_bad_payloads_are_rejected_without_keeping_the_text(raw: bytes, reason: str) -> None:
    with pytest.raises(PushRejected) as caught:
        parse_payload(raw)
    assert caught.value.reason == reason
    # not even the suppressed context: a JSONDecodeError keeps the whole document
    assert caught.value.__context__ is None
    assert caught.value.__cause__ is None
    assert PAYLOAD_TOKEN not in str(caught.value)
