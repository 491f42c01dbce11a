"""VAPID: tokens made by py_vapid (the sender's library) against our checker."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest
from py_vapid import Vapid02
from py_vapid.jwt import sign

from mastod.push.errors import ClockSkewed, PushRejected
from mastod.push.vapid import header_params, origin, verify_vapid
from tests.push.conftest import CONTACT, PUBLIC_URL, Instance


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def standard(token: str, key: str) -> dict[str, str]:
    return {"authorization": f"vapid t={token},k={key}"}


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://Hooks.Example", "https://hooks.example"),
        ("https://hooks.example:443/push/abc", "https://hooks.example"),
        ("http://hooks.example:80", "http://hooks.example"),
        ("https://hooks.example:8443/", "https://hooks.example:8443"),
        ("https://[2001:DB8::1]:8443/x", "https://[2001:db8::1]:8443"),
    ],
)
def test_origin_is_normalised_like_mastodons_aud(url: str, expected: str) -> None:
    assert origin(url) == expected


def test_header_params() -> None:
    assert header_params('dh=BAB; p256ecdsa="BCD",salt=xyz') == {
        "dh": "BAB",
        "p256ecdsa": "BCD",
        "salt": "xyz",
    }


@pytest.mark.parametrize("encoding", ["aes128gcm", "aesgcm"])
def test_mastodons_tokens_pass(instance: Instance, encoding: str) -> None:
    headers = {k.lower(): v for k, v in instance.vapid_headers(encoding).items()}
    claims = verify_vapid(headers, server_key=instance.server_point, audience=PUBLIC_URL)
    assert claims.aud == PUBLIC_URL
    assert claims.sub == CONTACT
    assert claims.exp > time.time()


def test_mastodons_exact_header_layouts_pass(instance: Instance) -> None:
    """`vapid t=<jwt>,k=<key without =>` and `WebPush <jwt>` + `dh=...;p256ecdsa=...`."""
    token = sign(instance.claims(), instance.vapid.private_key)
    key = b64(instance.server_point)
    for headers in (
        {"authorization": f"vapid t={token},k={key}"},
        {"authorization": f"vapid t={token}, k={key}"},
        {"authorization": f"WebPush {token}", "crypto-key": f"dh=BAgtUks5;p256ecdsa={key}"},
    ):
        assert verify_vapid(headers, server_key=instance.server_point, audience=PUBLIC_URL)


def test_a_clock_a_little_ahead_of_ours_is_tolerated(instance: Instance) -> None:
    claims = instance.claims(exp=int(time.time()) + 24 * 3600 + 120)
    token = sign(claims, instance.vapid.private_key)
    headers = standard(token, b64(instance.server_point))
    assert verify_vapid(headers, server_key=instance.server_point, audience=PUBLIC_URL)


@pytest.mark.parametrize(("ahead", "reason"), [
    (60, "VAPID exp more than 24 h away"), (-24 * 3600 - 60, "VAPID token expired"),
])  # fmt: skip
def test_the_skew_window_is_configured_and_symmetric(
    instance: Instance, ahead: int, reason: str
) -> None:
    """`exp` a minute past either end of the range: within the default window, outside a zero
    one, and then the error says how far the instance's clock seems from ours (taking `exp`
    as its signing time + 24 h)."""
    now = time.time()
    claims = instance.claims(exp=int(now) + 24 * 3600 + ahead)
    headers = standard(sign(claims, instance.vapid.private_key), b64(instance.server_point))
    check = {"server_key": instance.server_point, "audience": PUBLIC_URL, "now": now}
    assert verify_vapid(headers, **check)  # both within the default window
    with pytest.raises(ClockSkewed) as raised:
        verify_vapid(headers, **check, clock_skew=0)
    assert raised.value.reason == reason
    assert ahead - 1 <= raised.value.offset <= ahead


def forged(instance: Instance, case: str) -> dict[str, str]:
    """Headers for one kind of forgery."""
    attacker = Vapid02()
    attacker.generate_keys()
    server_key = b64(instance.server_point)
    now = int(time.time())
    claims: dict[str, Any] = instance.claims()
    if case == "attacker key":
        return {
            k.lower(): v for k, v in instance.vapid_headers("aes128gcm", signer=attacker).items()
        }
    if case == "attacker signature, instance key":
        return standard(sign(claims, attacker.private_key), server_key)
    if case == "claims changed after signing":
        header, _, signature = sign(claims, instance.vapid.private_key).split(".")
        payload = b64(json.dumps({**claims, "aud": "https://evil.example"}).encode())
        return standard(f"{header}.{payload}.{signature}", server_key)
    if case == "signature truncated":
        return standard(sign(claims, instance.vapid.private_key)[:-4], server_key)
    if case == "alg none":
        header = b64(b'{"typ":"JWT","alg":"none"}')
        return standard(f"{header}.{b64(json.dumps(claims).encode())}.", server_key)
    overrides = {
        "wrong aud": {"aud": "https://evil.example"},
        "aud with another port": {"aud": PUBLIC_URL + ":8443"},
        "expired": {"exp": now - 3600},
        "exp more than 24 h away": {"exp": now + 48 * 3600},
        "exp not a number": {"exp": str(now + 60)},
        "no sub": {"sub": None},
        "no exp": {"exp": None},
    }[case]
    claims = {k: v for k, v in {**claims, **overrides}.items() if v is not None}
    return standard(sign(claims, instance.vapid.private_key), server_key)


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("attacker key", "VAPID key is not the instance's"),
        ("attacker signature, instance key", "VAPID signature does not verify"),
        ("claims changed after signing", "VAPID signature does not verify"),
        ("signature truncated", "VAPID signature unreadable"),
        ("alg none", "VAPID token is not ES256"),
        ("wrong aud", "VAPID aud is not our public origin"),
        ("aud with another port", "VAPID aud is not our public origin"),
        ("expired", "VAPID token expired"),
        ("exp more than 24 h away", "VAPID exp more than 24 h away"),
        ("exp not a number", "VAPID exp missing"),
        ("no exp", "VAPID exp missing"),
        ("no sub", "VAPID sub missing"),
    ],
)
def test_forgeries_are_rejected_with_a_reason(instance: Instance, case: str, reason: str) -> None:
    with pytest.raises(PushRejected) as caught:
        verify_vapid(forged(instance, case), server_key=instance.server_point, audience=PUBLIC_URL)
    assert caught.value.reason == reason


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"authorization": "Bearer abc"},
        {"authorization": "vapid k=BAAA"},
        {"authorization": "vapid t=a.b.c"},
        {"authorization": "WebPush a.b.c"},
        {"authorization": "vapid t=a.b.c,k=!!!"},
        {"authorization": "vapid t=abc,k=BAAA"},
    ],
)
def test_missing_or_malformed_authorization_is_rejected(
    instance: Instance, headers: dict[str, str]
) -> None:
    with pytest.raises(PushRejected) as caught:
        verify_vapid(headers, server_key=instance.server_point, audience=PUBLIC_URL)
    assert caught.value.reason.startswith(("no VAPID", "VAPID"))
