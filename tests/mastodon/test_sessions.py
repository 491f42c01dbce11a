"""Per-call base_url/access_token overrides, and the bounded pool of sessions behind them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest

from mastod.actions.statuses import get_status
from mastod.mastodon.client import MastodonClient
from mastod.mastodon.errors import InvalidParam
from mastod.mastodon.sessions import normalize_base_url
from tests.mastodon.conftest import STATUS_BODY, TOKEN, FakeUpstream, Reply


@pytest.fixture
async def others() -> AsyncIterator[list[FakeUpstream]]:
    fakes = [FakeUpstream() for _ in range(3)]
    for fake in fakes:
        await fake.start()
        fake.default = Reply(body=STATUS_BODY)
    yield fakes
    for fake in fakes:
        await fake.stop()


async def test_override_reaches_another_instance_with_its_token(
    client: MastodonClient, upstream: FakeUpstream, others: list[FakeUpstream]
) -> None:
    second = others[0]

    await get_status(client.api(base_url=second.url + "/", access_token="other-token"), "1")
    await get_status(client.api(access_token="same-host-token"), "1")

    assert second.seen[0].headers["Authorization"] == "Bearer other-token"
    assert upstream.seen[0].headers["Authorization"] == "Bearer same-host-token"


async def test_the_configured_token_never_goes_to_another_instance(
    client: MastodonClient, others: list[FakeUpstream]
) -> None:
    await get_status(client.api(base_url=others[0].url), "1")

    assert "Authorization" not in others[0].seen[0].headers
    assert TOKEN not in repr(dict(others[0].seen[0].headers))


async def test_the_pool_is_bounded_and_closes_evicted_sessions_after_their_calls(
    client: MastodonClient, upstream: FakeUpstream, others: list[FakeUpstream]
) -> None:
    sessions: list[aiohttp.ClientSession] = []
    new_session = client._new_session

    def recording(fresh: bool) -> aiohttp.ClientSession:
        session = new_session(fresh)
        if not fresh:  # the keep-alive session each entry serves reads with
            sessions.append(session)
        return session

    client._pool._factory = recording
    others[0].reply(Reply(body=STATUS_BODY, delay=0.3))

    slow = asyncio.create_task(get_status(client.api(base_url=others[0].url), "1"))
    await asyncio.sleep(0.1)  # the slow call is in flight on the first override's session
    await get_status(client.api(base_url=others[1].url), "1")
    await get_status(client.api(base_url=others[2].url), "1")  # evicts the first (max 2)

    assert client.session_count == 2
    assert not sessions[0].closed  # still serving the slow call
    assert (await slow)["id"] == STATUS_BODY["id"]
    assert sessions[0].closed
    assert not sessions[1].closed
    assert not sessions[2].closed

    await get_status(client.api(base_url=others[0].url), "1")  # back: a new session
    assert len(sessions) == 4
    assert client.session_count == 2
    assert sessions[1].closed  # least recently used


async def test_tokens_for_one_instance_share_its_session(
    client: MastodonClient, upstream: FakeUpstream
) -> None:
    upstream.default = Reply(body=STATUS_BODY)

    for token in ("a", "b", "c"):
        await get_status(client.api(access_token=token), "1")

    assert client.session_count == 0  # all on the default session
    assert len({seen.peer for seen in upstream.seen}) == 1  # and its keep-alive connection


@pytest.mark.parametrize(
    ("url", "normal"),
    [
        ("https://Mastodon.Example/", "https://mastodon.example"),
        ("http://127.0.0.1:8080/prefix/", "http://127.0.0.1:8080/prefix"),
    ],
)
def test_base_urls_are_normalised(url: str, normal: str) -> None:
    assert normalize_base_url(url) == normal


@pytest.mark.parametrize(
    "url",
    ["ftp://host", "mastodon.example", "https://u:p@host", "https://host/?x=1", "https://h/#f"],
)
def test_odd_base_urls_are_refused(client: MastodonClient, url: str) -> None:
    with pytest.raises(InvalidParam) as caught:
        client.api(base_url=url)

    assert caught.value.param == "base_url"
