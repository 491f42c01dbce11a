"""Retries: idempotent requests on 502/503/504 and dead connections; never a plain POST twice
(it takes a fresh connection); publish_status reuses its key, and is resent at once from a
dead pooled connection."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable

import pytest

from mastod.actions.statuses import add_favourite_status, get_status, publish_status
from mastod.mastodon.client import Api, MastodonClient
from mastod.mastodon.errors import ServerError, Unreachable
from tests.mastodon.conftest import STATUS_BODY, FakeUpstream, Reply, Seen, make_config


async def test_get_is_retried_on_503_and_succeeds(api: Api, upstream: FakeUpstream) -> None:
    upstream.reply(Reply(503, {"error": "try again"}), Reply(502), Reply(body=STATUS_BODY))

    result = await get_status(api, "109")

    assert result["id"] == "109"
    assert len(upstream.seen) == 3


async def test_get_gives_up_after_max_retries(api: Api, upstream: FakeUpstream) -> None:
    upstream.default = Reply(504, "gateway timeout", content_type="text/plain")

    with pytest.raises(ServerError):
        await get_status(api, "109")

    assert len(upstream.seen) == 1 + 2  # max_retries=2


async def test_retry_after_on_503_is_honoured(api: Api, upstream: FakeUpstream) -> None:
    upstream.reply(Reply(503, headers={"Retry-After": "0"}), Reply(body=STATUS_BODY))

    assert (await get_status(api, "109"))["id"] == "109"


async def test_post_is_not_retried_on_503(api: Api, upstream: FakeUpstream) -> None:
    upstream.reply(Reply(503, {"error": "try again"}), Reply(body=STATUS_BODY))

    with pytest.raises(ServerError):
        await add_favourite_status(api, "109")

    assert len(upstream.seen) == 1


async def test_post_dropped_on_a_fresh_connection_is_not_retried(
    api: Api, upstream: FakeUpstream
) -> None:
    upstream.default = Reply(drop=True)

    with pytest.raises(Unreachable):
        await add_favourite_status(api, "109")

    assert len(upstream.seen) == 1


async def test_get_timing_out_is_retried(upstream: FakeUpstream) -> None:
    client = MastodonClient(make_config(upstream.url, timeout=0.3, max_retries=1))
    await client.start()
    upstream.reply(Reply(body=STATUS_BODY, delay=1.0), Reply(body=STATUS_BODY))
    try:
        assert (await get_status(client.api(), "109"))["id"] == "109"
        upstream.reply(Reply(body=STATUS_BODY, delay=1.0))
        with pytest.raises(Unreachable, match="Timed out"):
            await add_favourite_status(client.api(), "109")
    finally:
        await client.close()
    assert len(upstream.seen) == 3


class IdempotentStatuses:
    """Like Mastodon: one status per Idempotency-Key. The first answer is lost in a 503 after
    the status was created, as a gateway timing out in front of a slow server would do."""

    def __init__(self) -> None:
        self.created: dict[str, str] = {}
        self.failures = 1

    def __call__(self, seen: Seen) -> Reply:
        key = seen.headers["Idempotency-Key"]
        status_id = self.created.setdefault(key, str(100 + len(self.created)))
        if self.failures:
            self.failures -= 1
            return Reply(503, {"error": "upstream timed out"})
        return Reply(body={**STATUS_BODY, "id": status_id})


async def test_publish_status_retries_with_the_same_key(api: Api, upstream: FakeUpstream) -> None:
    server = IdempotentStatuses()
    upstream.default = server

    first = await publish_status(api, "hello")
    second = await publish_status(api, "hello")

    keys = [seen.headers["Idempotency-Key"] for seen in upstream.seen]
    assert len(keys) == 3
    assert keys[0] == keys[1] != keys[2]
    assert len(server.created) == 2  # one status per call, despite the retry
    assert first["id"] == "100"
    assert second["id"] == "101"


async def test_publish_status_uses_the_callers_key(api: Api, upstream: FakeUpstream) -> None:
    upstream.reply(Reply(drop=True), Reply(body=STATUS_BODY))

    await publish_status(api, "hello", idempotency_key="my-key-1")

    assert [seen.headers["Idempotency-Key"] for seen in upstream.seen] == ["my-key-1"] * 2


async def test_connection_close_after_every_response(api: Api, upstream: FakeUpstream) -> None:
    upstream.default = Reply(body=STATUS_BODY, close=True)

    for _ in range(4):
        await add_favourite_status(api, "109")

    assert len(upstream.seen) == 4
    assert len({seen.peer for seen in upstream.seen}) == 4


def drops_reused_connections() -> Callable[[Seen], Reply]:
    """An upstream that answers a request on a new connection and drops one on a connection
    it has answered before: a keep-alive connection the server has closed."""
    peers: set[object] = set()

    def reply(seen: Seen) -> Reply:
        reused = seen.peer in peers
        peers.add(seen.peer)
        return Reply(drop=True) if reused else Reply(body=STATUS_BODY)

    return reply


async def test_dead_keep_alive_connection_is_resent_once_for_a_read(
    api: Api, upstream: FakeUpstream
) -> None:
    upstream.default = drops_reused_connections()

    await get_status(api, "109")
    await get_status(api, "109")  # rides the pooled connection the server drops

    first, dropped, retried = upstream.seen
    assert first.peer == dropped.peer != retried.peer
    assert [seen.method for seen in upstream.seen] == ["GET"] * 3


async def test_a_keyed_write_on_a_dead_pooled_connection_is_resent_at_once(
    upstream: FakeUpstream,
) -> None:
    """publish_status rides the pooled connection (its key makes a second send safe); when the
    server had closed it, the status is sent again at once, even with `max_retries: 0`."""
    upstream.default = drops_reused_connections()
    client = MastodonClient(make_config(upstream.url, max_retries=0))
    await client.start()
    try:
        await get_status(client.api(), "109")
        await publish_status(client.api(), "hello")  # rides the connection the server drops
    finally:
        await client.close()

    first, dropped, resent = upstream.seen
    assert first.peer == dropped.peer != resent.peer
    assert dropped.headers["Idempotency-Key"] == resent.headers["Idempotency-Key"]


async def test_writes_take_a_fresh_connection_and_are_never_resent(
    api: Api, upstream: FakeUpstream
) -> None:
    """A POST never rides a pooled connection the server may have closed; and when its
    answer is lost the server may have acted on it, so it is not sent again."""
    upstream.reply(Reply(body=STATUS_BODY), Reply(body=STATUS_BODY))
    await add_favourite_status(api, "109")
    await add_favourite_status(api, "109")
    assert upstream.seen[0].peer != upstream.seen[1].peer
    upstream.default = Reply(drop=True)
    with pytest.raises(Unreachable):
        await add_favourite_status(api, "109")
    assert len(upstream.seen) == 3


@pytest.fixture
async def closing_server() -> AsyncIterator[tuple[str, list[bytes]]]:
    """A raw HTTP/1.1 server that answers one request per connection and then closes it,
    without saying `Connection: close` (as some small servers do)."""
    requests: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            (int(line.split(b":")[1]) for line in head.split(b"\r\n")
             if line.lower().startswith(b"content-length:")),
            0,
        )  # fmt: skip
        await reader.readexactly(length)
        requests.append(head.split(b"\r\n")[0])
        body = json.dumps(STATUS_BODY).encode()
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}", requests
    server.close()
    await server.wait_closed()


async def test_server_closing_after_every_response(
    closing_server: tuple[str, list[bytes]],
) -> None:
    url, requests = closing_server
    client = MastodonClient(make_config(url))
    await client.start()
    try:
        for _ in range(5):
            await add_favourite_status(client.api(), "109")
            await get_status(client.api(), "109")
    finally:
        await client.close()
    assert requests.count(b"POST /api/v1/statuses/109/favourite HTTP/1.1") == 5
