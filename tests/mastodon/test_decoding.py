"""`shaping.loads`: Mastodon's JSON decoded by orjson with the Statuses renamed, or by the
stdlib wherever the two would read a body differently; the answer is the same either way."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mastod.jsontext import NonFinite
from mastod.mastodon.errors import UnexpectedResponse
from mastod.mastodon.responses import decode
from mastod.mastodon.shaping import loads, shape


def reference(text: bytes) -> Any:
    """What the stdlib makes of `text`, then renamed by the full walk."""
    return shape(json.loads(text))


def account(n: int) -> dict[str, Any]:
    return {
        "id": str(100 + n),
        "username": f"user{n}",
        "note": "<p>about</p>",
        "fields": [{"name": "site", "value": "x", "verified_at": None}],
        "emojis": [],
        "moved": None,
    }


def status(n: int = 0) -> dict[str, Any]:
    """A Status as Mastodon sends one: nested objects, lists of them, a float or two."""
    return {
        "id": str(109999999999999999 - n),
        "created_at": "2026-12-07T00:00:00.000Z",
        "content": f'<p>post {n} \u00e9 "quoted"</p>',
        "account": account(n),
        "media_attachments": [
            {"id": str(n * 10 + k), "type": "image", "meta": {"focus": {"x": -0.5, "y": 0.25}}}
            for k in range(2)
        ],
        "mentions": [{"id": "3", "acct": "friend"}],
        "tags": [{"name": "tag", "url": "https://social.example/tags/tag"}],
        "emojis": [],
        "card": {"url": "https://example.com", "title": "t", "width": 400},
        "poll": None,
        "reblog": None,
        "favourites_count": n,
    }


def timeline(count: int = 20) -> list[dict[str, Any]]:
    return [status(n) for n in range(count)]


def reblog_of(inner: dict[str, Any]) -> dict[str, Any]:
    return {**status(7), "content": "", "reblog": inner}


ANNOUNCEMENT = {"id": "1", "content": "<p>hi</p>", "tags": [{"name": "a"}], "mentions": []}
DOCUMENTS: dict[str, Any] = {
    "status": status(),
    "timeline": timeline(),
    "reblog": reblog_of(status(1)),
    "a page with a reblog last": [*timeline(3), reblog_of(status(4))],
    "quote": {**status(), "quote": {"state": "accepted", "quoted_status": status(2)}},
    "notifications": [
        {"id": "5", "type": "mention", "account": status()["account"], "status": status(3)},
        {"id": "6", "type": "follow", "account": status()["account"]},
    ],
    "conversation": [{"id": "9", "unread": True, "accounts": [], "last_status": status(5)}],
    "context": {"ancestors": [status(1)], "descendants": [status(2), reblog_of(status(3))]},
    "search": {"accounts": [], "statuses": [status(1), status(2)], "hashtags": [{"name": "t"}]},
    "announcement (not a Status)": [ANNOUNCEMENT],
    "'content' as a value": [{"type": "content", "v": "content"}, status()],
    "a key inside a post's text": {**status(), "content": '<p>"content":{"account":1}</p>'},
    "an account": status()["account"],
    "a string": "content",
    "nothing": [],
}


@pytest.mark.parametrize("name", DOCUMENTS)
def test_the_same_as_the_stdlib_with_the_full_walk(name: str) -> None:
    text = json.dumps(DOCUMENTS[name]).encode()
    assert loads(text) == reference(text)
    compact = json.dumps(DOCUMENTS[name], separators=(",", ":"), ensure_ascii=False).encode()
    assert loads(compact) == reference(compact)


def test_every_status_renamed_where_mastodon_puts_them() -> None:
    page = loads(json.dumps(DOCUMENTS["a page with a reblog last"]).encode())
    assert all("attachments" in item and "media_attachments" not in item for item in page)
    assert "hashtags" in page[-1]["reblog"]
    assert "tags" not in page[-1]["reblog"]
    announcement = loads(json.dumps([ANNOUNCEMENT]).encode())[0]
    assert announcement["tags"] == [{"name": "a"}]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (b'{"id":123456789012345678901234567890}', {"id": 123456789012345678901234567890}),
        (b"[18446744073709551616, -9223372036854775809]", [2**64, -(2**63) - 1]),
        (b'{"id":-9223372036854775809}', {"id": -(2**63) - 1}),  # 19 digits, below int64
        (b'{"id":-9223372036854775808}', {"id": -(2**63)}),
        (b'{"a":"\\ud800"}', {"a": "\ud800"}),
    ],
)
def test_what_orjson_would_change_takes_the_stdlib(text: bytes, expected: Any) -> None:
    decoded = loads(text)
    assert decoded == expected
    assert all(type(v) is type(e) for v, e in zip(_leaves(decoded), _leaves(expected), strict=True))


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _leaves(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in _leaves(item)]
    return [value]


def test_nan_and_infinity_are_kept_and_marked() -> None:
    decoded = loads(b'{"a":NaN,"b":Infinity,"c":1e400,"d":0.5}')
    assert all(isinstance(decoded[key], NonFinite) for key in "abc")
    assert type(decoded["d"]) is float


@pytest.mark.parametrize("text", [b"{oops", b"[1,]", b'{"a":1}x', b"\xff\xfe", b"\xef\xbb\xbf{}"])
def test_what_is_not_json_is_an_unexpected_response(text: bytes) -> None:
    with pytest.raises(UnexpectedResponse, match="malformed or truncated JSON"):
        decode(200, "application/json", text)
