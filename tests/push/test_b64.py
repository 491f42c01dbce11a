"""`b64.decode`: URL-safe or standard base64, padded or not; ValueError for anything else."""

from __future__ import annotations

import base64

import pytest

from mastod.push import b64

RAW = bytes(range(256))


@pytest.mark.parametrize("length", [0, 1, 2, 3, 16, 32, 64, 65, 255])
def test_every_spelling_of_the_same_bytes(length: int) -> None:
    raw = RAW[-length:] if length else b""
    standard = base64.b64encode(raw).decode()
    urlsafe = base64.urlsafe_b64encode(raw).decode()
    for text in (standard, urlsafe, standard.rstrip("="), urlsafe.rstrip("="), f" {urlsafe}\n"):
        assert b64.decode(text) == raw
    assert b64.encode(raw) == urlsafe.rstrip("=")


@pytest.mark.parametrize(
    "text",
    ["a", "abcde", "ab=c", "a b c d", "ab*d", "ab.d", "=abc", "abc\x00", "é", "YQ\u00a0==x"],
)
def test_anything_else_is_a_value_error(text: str) -> None:
    with pytest.raises(ValueError, match="not base64"):
        b64.decode(text)
