"""Ids are quoted into one path segment: no id can reach another endpoint."""

from __future__ import annotations

import pytest

from mastod.actions.lists import get_list_accounts
from mastod.actions.statuses import add_favourite_status, get_status
from mastod.mastodon.client import Api
from mastod.mastodon.errors import InvalidParam
from tests.mastodon.conftest import STATUS_BODY, FakeUpstream, Reply


@pytest.mark.parametrize(
    ("status_id", "raw_path"),
    [
        ("../../admin", "/api/v1/statuses/..%2F..%2Fadmin/favourite"),
        ("%2e%2e", "/api/v1/statuses/%252e%252e/favourite"),
        ("a/b", "/api/v1/statuses/a%2Fb/favourite"),
        ("1?admin=1#x", "/api/v1/statuses/1%3Fadmin%3D1%23x/favourite"),
        ("..%2F", "/api/v1/statuses/..%252F/favourite"),
        ("01J8ZQ7X9A", "/api/v1/statuses/01J8ZQ7X9A/favourite"),  # ULIDs, as GoToSocial uses
        (109, "/api/v1/statuses/109/favourite"),
    ],
)
async def test_ids_reach_the_intended_endpoint(
    api: Api, upstream: FakeUpstream, status_id: str | int, raw_path: str
) -> None:
    upstream.default = Reply(body=STATUS_BODY)

    await add_favourite_status(api, status_id)

    [seen] = upstream.seen
    assert seen.path == raw_path
    assert seen.query == []


@pytest.mark.parametrize("status_id", ["", ".", ".."])
async def test_segments_that_would_collapse_are_refused(
    api: Api, upstream: FakeUpstream, status_id: str
) -> None:
    with pytest.raises(InvalidParam) as caught:
        await get_status(api, status_id)

    assert caught.value.param == "status_id"
    assert upstream.seen == []


async def test_a_missing_path_id_is_refused(api: Api, upstream: FakeUpstream) -> None:
    with pytest.raises(InvalidParam) as caught:
        await get_list_accounts(api)  # the reference defaults list_id to None

    assert (caught.value.param, caught.value.reason) == ("list_id", "is required")
    assert upstream.seen == []
