"""Encoding, shaping and the action signatures, without a server."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from mastod.mastodon.client import MastodonClient
from mastod.mastodon.encoding import encode_query, fill_path, form_pairs
from mastod.mastodon.shaping import shape
from tests.mastodon.conftest import FakeUpstream, Reply, make_config


def test_form_pairs_follow_rails_conventions() -> None:
    params = {
        "api": object(),
        "status_id": "1",
        "text": "x",
        "none": None,
        "no": False,
        "zero": 0,
        "ids": ["a", 2],
        "source": {"privacy": "private", "language": None},
        "fields_attributes": [{"name": "n", "value": "v"}],
        "empty": [],
    }

    assert form_pairs(params, skip=frozenset({"status_id"})) == [
        ("text", "x"),
        ("no", "false"),
        ("zero", "0"),
        ("ids[]", "a"),
        ("ids[]", "2"),
        ("source[privacy]", "private"),
        ("fields_attributes[0][name]", "n"),
        ("fields_attributes[0][value]", "v"),
    ]


def test_unencodable_values_are_a_programming_error() -> None:
    with pytest.raises(TypeError):
        form_pairs({"x": object()})


@pytest.mark.parametrize(
    "pairs",
    [
        [],
        [("limit", "80"), ("min_id", "110000000000000001")],
        [("types[]", "mention"), ("types[]", "follow")],
        [("q", "a b+c&d=e"), ("acct", "user@example.social"), ("x", "é/?#%")],
        [("max_id", "1.5~x-y_z"), ("", "")],
    ],
)
def test_query_strings_are_urlencodes(pairs: list[tuple[str, str]]) -> None:
    assert encode_query(pairs) == urlencode(pairs)


def test_fill_path_reports_what_it_used() -> None:
    assert fill_path("/a/{x}/b/{y}", {"x": "1 2", "y": 3, "z": 4}) == (
        "/a/1%202/b/3",
        frozenset({"x", "y"}),
    )


def test_shaping_renames_statuses_wherever_they_are() -> None:
    status = {"account": {}, "content": "", "media_attachments": [1], "tags": [2]}
    quote = {**status, "quote": {"state": "accepted", "quoted_status": status}}
    shaped = {"account": {}, "content": "", "attachments": [1], "hashtags": [2]}
    announcement = {"content": "", "tags": [], "emojis": []}

    assert shape({}) is None
    assert shape([]) == []
    assert shape(quote) == {**shaped, "quote": {"state": "accepted", "quoted_status": shaped}}
    assert shape([announcement]) == [announcement]  # not a Status: untouched
    assert shape({"type": "follow", "account": {"id": "1"}}) == {
        "type": "follow",
        "account": {"id": "1"},
    }


async def test_lifecycle_and_user_agent(upstream: FakeUpstream) -> None:
    client = MastodonClient(make_config(upstream.url, access_token=None), user_agent="tester/1")
    with pytest.raises(RuntimeError):
        await client.api().get("/api/v1/accounts/verify_credentials")
    await client.start()
    try:
        upstream.reply(Reply(body={"id": "1"}))
        assert await client.api().get("/api/v1/accounts/verify_credentials") == {"id": "1"}
    finally:
        await client.close()
        await client.close()  # closing twice is harmless
    assert "Authorization" not in upstream.seen[0].headers  # no token: public calls only
    assert upstream.seen[0].headers["User-Agent"] == "tester/1"
