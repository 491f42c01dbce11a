"""Link-header pagination: cursors come from the server, never from item ids."""

from __future__ import annotations

from typing import Any

import pytest

from mastod.actions.pagination import paginate
from mastod.mastodon.client import Api
from mastod.mastodon.errors import InvalidParam
from mastod.mastodon.pagination import Links, cursor_of, parse_links
from tests.mastodon.conftest import FakeUpstream, Reply, Seen


def status(n: int) -> dict[str, Any]:
    return {"id": f"s{n}", "account": {"id": "1"}, "content": "", "media_attachments": []}


class Bookmarks:
    """Three pages, cursored like Mastodon's bookmarks: by internal bookmark ids (`bm_*`),
    which are not the ids of the statuses returned."""

    def __init__(self, host: str) -> None:
        self.host = host

    def link(self, path: str, **rels: str) -> dict[str, str]:
        parts = [f'<{self.host}{path}?limit=2&{query}>; rel="{rel}"' for rel, query in rels.items()]
        return {"Link": ", ".join(parts)} if parts else {}

    def __call__(self, seen: Seen) -> Reply:
        query = dict(seen.query)
        if "min_id" in query:
            return Reply(body=[])
        items, links = {
            None: ([5, 4], {"next": "max_id=bm_40", "prev": "min_id=bm_50"}),
            "bm_40": ([3, 2], {"next": "max_id=bm_20", "prev": "min_id=bm_30"}),
            "bm_20": ([1], {"prev": "min_id=bm_10"}),
        }[query.get("max_id")]
        return Reply(body=[status(n) for n in items], headers=self.link(seen.path, **links))


@pytest.fixture
def bookmarks(upstream: FakeUpstream) -> Bookmarks:
    server = Bookmarks(upstream.url)
    upstream.default = server
    return server


async def test_three_pages_by_link_cursors(
    api: Api, upstream: FakeUpstream, bookmarks: Bookmarks
) -> None:
    result = await paginate(api, "get_bookmarked_statuses", {"limit": 2}, pages=5)

    assert [item["id"] for item in result["items"]] == ["s5", "s4", "s3", "s2", "s1"]
    assert result["items"][0]["attachments"] == []  # shaped like the action's own result
    assert result["next"] is None
    assert result["prev"] == {"limit": "2", "min_id": "bm_50"}
    assert [seen.query for seen in upstream.seen] == [
        [("limit", "2")],
        [("limit", "2"), ("max_id", "bm_40")],
        [("limit", "2"), ("max_id", "bm_20")],
    ]


async def test_continue_from_a_returned_cursor(
    api: Api, upstream: FakeUpstream, bookmarks: Bookmarks
) -> None:
    first = await paginate(api, "get_bookmarked_statuses", {"limit": 2})
    second = await paginate(api, "mastodon.get_bookmarked_statuses", cursor=first["next"])

    assert [item["id"] for item in first["items"]] == ["s5", "s4"]
    assert first["next"] == {"limit": "2", "max_id": "bm_40"}
    assert [item["id"] for item in second["items"]] == ["s3", "s2"]
    assert second["prev"] == {"limit": "2", "min_id": "bm_30"}


async def test_prev_direction_stops_at_an_empty_page(
    api: Api, upstream: FakeUpstream, bookmarks: Bookmarks
) -> None:
    result = await paginate(
        api, "get_bookmarked_statuses", pages=3, direction="prev", cursor={"max_id": "bm_40"}
    )

    assert [item["id"] for item in result["items"]] == ["s3", "s2"]
    assert result["next"] == {"limit": "2", "max_id": "bm_20"}
    assert result["prev"] is None
    assert upstream.seen[1].query == [("limit", "2"), ("min_id", "bm_30")]


async def test_path_params_stay_on_every_page(
    api: Api, upstream: FakeUpstream, bookmarks: Bookmarks
) -> None:
    result = await paginate(
        api, "get_followers", {"account_id": "a/1", "limit": 2, "offset": 9}, pages=2
    )

    assert len(result["items"]) == 4
    assert [seen.path for seen in upstream.seen] == ["/api/v1/accounts/a%2F1/followers"] * 2
    assert upstream.seen[0].query == [("limit", "2")]


async def test_a_link_to_another_host_only_lends_its_query(
    api: Api, upstream: FakeUpstream, bookmarks: Bookmarks
) -> None:
    bookmarks.host = "http://127.0.0.2:9"

    result = await paginate(api, "get_bookmarked_statuses", {"limit": 2}, pages=2)

    assert len(result["items"]) == 4
    assert len(upstream.seen) == 2  # the second page came from our instance, with our token


@pytest.mark.parametrize(
    ("method", "params", "extra", "param"),
    [
        ("search", {"query": "x"}, {}, "method"),
        ("get_lists", {}, {}, "method"),
        ("get_followers", {"limit": 2}, {}, "params"),
        ("get_home_timeline", {"access_token": "x"}, {}, "params"),
        ("get_notifications", {"notification_id": "1"}, {}, "params"),
        ("get_home_timeline", {}, {"pages": 0}, "pages"),
        ("get_home_timeline", {}, {"pages": 21}, "pages"),
        ("get_home_timeline", {}, {"cursor": {"max_id": {"$gt": 1}}}, "cursor"),
    ],
)
async def test_bad_requests(
    api: Api,
    upstream: FakeUpstream,
    method: str,
    params: dict[str, Any],
    extra: dict[str, Any],
    param: str,
) -> None:
    upstream.default = Reply(body={"id": "1"})

    with pytest.raises(InvalidParam) as caught:
        await paginate(api, method, params, **extra)

    assert caught.value.param == param


async def test_page_and_page_at(api: Api, upstream: FakeUpstream, bookmarks: Bookmarks) -> None:
    page = await api.page("GET", "/api/v1/bookmarks", {"limit": 2})
    following = await api.page_at(f"{upstream.url}/api/v1/bookmarks?limit=2&max_id=bm_40")

    assert page.next == {"limit": "2", "max_id": "bm_40"}
    assert [item["id"] for item in following.items] == ["s3", "s2"]
    assert upstream.seen[1].query == [("limit", "2"), ("max_id", "bm_40")]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.2:9/api/v1/bookmarks?max_id=1",
        "https://127.0.0.1/api/v1/bookmarks",
        "/api/v1/bookmarks",
    ],
)
async def test_page_at_refuses_other_hosts(api: Api, upstream: FakeUpstream, url: str) -> None:
    with pytest.raises(InvalidParam):
        await api.page_at(url)

    assert upstream.seen == []


@pytest.mark.parametrize(
    ("header", "links"),
    [
        (
            '<https://h/api/v1/x?max_id=7>; rel="next", <https://h/api/v1/x?min_id=9>; rel="prev"',
            Links("https://h/api/v1/x?max_id=7", "https://h/api/v1/x?min_id=9"),
        ),
        ("<https://h/a?max_id=1>; rel=next", Links(next="https://h/a?max_id=1")),
        ('</a?min_id=2>; title="x, y"; rel="prev previous"', Links(prev="https://h/a?min_id=2")),
        ('<https://h/a?max_id=1>; rel="next last"', Links(next="https://h/a?max_id=1")),
        (
            "<?max_id=3>; rel=next, <https://h/b>; rel=next",
            Links(next="https://h/api/v1/x?max_id=3"),
        ),
        ("<HTTPS://h/a?max_id=4>; rel=next", Links(next="https://h/a?max_id=4")),
        ("", Links()),
        ("garbage", Links()),
    ],
)
def test_parse_links(header: str, links: Links) -> None:
    assert parse_links(header, "https://h/api/v1/x") == links


def test_cursor_keeps_repeated_keys() -> None:
    url = "https://h/api/v1/notifications?types[]=mention&types[]=follow&max_id=5"
    assert cursor_of(url) == {"types[]": ["mention", "follow"], "max_id": "5"}
    assert cursor_of(None) is None
