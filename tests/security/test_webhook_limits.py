"""The public webhook withstands slow and many connections, and replayed pushes cost nothing
(issue 10, points 2 and 5). The real daemon in-process with Web Push on: its webhook listener
is the one `PushService` starts, and the pushes are the sandbox's genuine ones.

- a connection that does not deliver its headers, or its body, within `webhook.read_timeout`
  is closed;
- at `webhook.max_connections` a new connection is closed at once, a Unix-socket call still
  answers, and a genuine push gets in once a slot frees;
- no answer names the software (`Server`);
- a captured push sent again is answered 201 and does nothing (no upstream request), distinct
  pushes about a notification already stored cost no request, and a burst of pushes about
  notifications the instance does not list costs a handful of catch-up requests, not one each.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from mastod.notify.sources import CATCH_UP_SPACING
from mastod.sandbox.push_payload import push_payload
from mastod.sandbox.webpush import build_push
from tests.fuzz.clients import LineClient, RawHttp
from tests.fuzz.rig import Rig, request, running_daemon
from tests.security.proc import free_port
from tests.waiting import closed_by_server, until

CAP = 4
LIST = "/api/v1/notifications"


@dataclass
class Hooked:
    rig: Rig
    port: int
    secret: str

    @property
    def path(self) -> str:
        return f"/push/{self.secret}"

    def delivered(self) -> list[Any]:
        return [d for d in self.rig.sandbox.push_deliveries if d.outcome == "delivered"]

    def lists(self) -> int:
        return sum(1 for r in self.rig.sandbox.recorded if r.path == LIST and r.method == "GET")

    def catch_ups(self) -> int:
        """List requests that fetch what is newer than the log (a sweep, periodic and not
        triggered by pushes, reads the newest page without `min_id`)."""
        return sum(
            1
            for r in self.rig.sandbox.recorded
            if r.path == LIST and r.method == "GET" and any(k == "min_id" for k, _ in r.query)
        )

    async def status(self) -> dict[str, Any]:
        client = await LineClient.connect(self.rig.socket_path)
        await client.send(request("status") + b"\n")
        answer: dict[str, Any] = (await client.recv("status"))["result"]
        client.close()
        return answer

    async def act(self, action: str = "mention") -> None:
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                f"{self.rig.upstream.url}/_sandbox/act",
                json={"actor": "bob", "action": action, "text": "@alice hi"},
            ) as response,
        ):
            assert response.status == 200, await response.text()


async def start(tmp_path: Path, **webhook: Any) -> AsyncIterator[Hooked]:
    port = free_port()
    async with running_daemon(
        tmp_path,
        notifications={"source": "push"},
        webhook={
            "host": "127.0.0.1",
            "port": port,
            "public_url": f"http://127.0.0.1:{port}",
            **webhook,
        },
    ) as rig:
        await until(lambda: bool(rig.sandbox.push_subscriptions), "the push subscription")
        keys = json.loads((rig.config.state_dir / "push-keys.json").read_text())
        yield Hooked(rig, port, keys["webhook_secret"])


@pytest.fixture
async def strict(tmp_path: Path) -> AsyncIterator[Hooked]:
    async for hooked in start(tmp_path, read_timeout=0.5):
        yield hooked


@pytest.fixture
async def capped(tmp_path: Path) -> AsyncIterator[Hooked]:
    async for hooked in start(tmp_path, max_connections=CAP, read_timeout=120):
        yield hooked


@pytest.mark.parametrize(
    "partial",
    [
        b"",  # nothing at all
        b"POST /push/x HTTP/1.1\r\nHost: 127.0.0.1\r\n",  # headers never finished
        b"POST /push/{secret} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 500\r\n\r\nabc",
    ],
    ids=["silent", "slow-headers", "slow-body"],
)
async def test_slow_connections_are_closed(strict: Hooked, partial: bytes) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", strict.port)
    writer.write(partial.replace(b"{secret}", strict.secret.encode()))
    await writer.drain()
    assert await closed_by_server(reader) == b""  # closed, and nothing was answered
    writer.close()
    notifications = (await strict.status())["notifications"]
    assert notifications["pushes"]["accepted"] == 0
    assert notifications["connections"]["timed_out"] == 1


@pytest.mark.parametrize("then", [b"", b"GET / HTTP/1.1\r\nHost: x\r\n"], ids=["idle", "slow"])
async def test_a_kept_alive_connection_gets_the_same_deadline(strict: Hooked, then: bytes) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", strict.port)
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
    assert head.startswith(b"HTTP/1.1 404")
    writer.write(then)
    assert await closed_by_server(reader) == b""
    writer.close()


async def test_no_server_header(strict: Hooked) -> None:
    http = RawHttp("127.0.0.1", strict.port)
    for method, path in (("POST", strict.path), ("GET", "/"), ("POST", "/push/wrong")):
        reply = await http.request(method, path, [], b"\x00" * 32)
        assert reply.status in (201, 404)
        assert "server" not in reply.headers, reply.headers
    http.close()
    for garbage in (b"GARBAGE\r\n\r\n", b"POST / HTTP/1.1\r\nContent-Length: zz\r\n\r\n"):
        reader, writer = await asyncio.open_connection("127.0.0.1", strict.port)
        writer.write(garbage)  # answered by aiohttp's own error page, past every app hook
        answer = await closed_by_server(reader)
        writer.close()
        assert answer.startswith(b"HTTP/1."), answer
        assert b" 400 " in answer[:20], answer
        assert b"\r\nserver:" not in answer.lower(), answer


async def test_at_the_cap_new_connections_are_closed_and_the_rest_works(capped: Hooked) -> None:
    idle = [await asyncio.open_connection("127.0.0.1", capped.port) for _ in range(CAP)]
    reader, writer = await asyncio.open_connection("127.0.0.1", capped.port)
    writer.write(f"POST {capped.path} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n".encode())
    assert await closed_by_server(reader) == b""  # refused at once: no answer
    writer.close()
    client = await LineClient.connect(capped.rig.socket_path)  # the daemon still serves
    await client.send(request("status") + b"\n")
    assert "result" in await client.recv("a Unix socket call with the webhook at its cap")
    client.close()
    idle[0][1].close()  # one slot frees: a genuine push gets in
    await capped.act("mention")
    await until(lambda: bool(capped.delivered()), "the push delivered")
    status = await capped.status()
    assert status["notifications"]["pushes"]["accepted"] == 1
    assert status["notifications"]["connections"]["refused"] >= 1
    for _, idle_writer in idle[1:]:
        idle_writer.close()


async def subscribed(hooked: Hooked) -> LineClient:
    client = await LineClient.connect(hooked.rig.socket_path)
    await client.send(request("subscribe") + b"\n")
    assert "result" in await client.recv("subscribed")
    return client


async def next_notification(client: LineClient) -> dict[str, Any]:
    """The next notification pushed on a subscribed connection: it is stored by then, so
    the catch-up that fetched it is done."""
    while True:
        line = await asyncio.wait_for(client.reader.readline(), 30)
        assert line, "the connection closed"
        frame = json.loads(line)
        if frame.get("method") == "notification":
            notification: dict[str, Any] = frame["params"]["notification"]
            return notification


async def pushes(hooked: Hooked) -> dict[str, int]:
    counts: dict[str, int] = (await hooked.status())["notifications"]["pushes"]
    return counts


async def test_a_replayed_push_is_absorbed(strict: Hooked) -> None:
    listener = await subscribed(strict)
    await strict.act("mention")
    await next_notification(listener)
    listener.close()
    captured = strict.delivered()[0]
    before = strict.lists()
    http = RawHttp("127.0.0.1", strict.port)
    headers = [(k, v) for k, v in captured.headers.items() if k.lower() != "content-length"]
    for _ in range(50):
        reply = await http.request("POST", strict.path, headers, captured.body)
        assert reply.status == 201
    http.close()
    while (counts := await pushes(strict))["replayed"] < 50:
        await asyncio.sleep(0.02)
    assert counts == {"accepted": 1, "rejected": 0, "replayed": 50, "clock_skewed": 0}
    assert strict.lists() == before


async def send_all(strict: Hooked, burst: list[Any]) -> None:
    """POST `burst` one after the other, as a busy instance's worker sends them."""
    http = RawHttp("127.0.0.1", strict.port)
    for push in burst:
        headers = [(k, v) for k, v in push.headers.items() if k.lower() != "content-length"]
        assert (await http.request("POST", strict.path, headers, push.body)).status == 201
    http.close()


async def mentioned(strict: Hooked) -> tuple[LineClient, Any, Any]:
    """A subscriber that got one mention by push; the push subscription and that
    notification, as the sandbox holds them."""
    sandbox = strict.rig.sandbox
    listener = await subscribed(strict)
    await strict.act("mention")
    await next_notification(listener)
    [subscription] = sandbox.push_subscriptions.values()
    return listener, subscription, sandbox.notifications[strict.delivered()[0].notification_id]


async def burst_then_mention(strict: Hooked, listener: LineClient, burst: list[Any]) -> None:
    """Send `burst`, wait until every push of it is accepted, then a mention: its catch-up
    runs after the burst's, so the burst's are done once it is delivered."""
    await send_all(strict, burst)
    while (await pushes(strict))["accepted"] < 1 + len(burst):
        await asyncio.sleep(0.02)
    await strict.act("mention")
    await next_notification(listener)


async def test_pushes_about_a_stored_notification_cost_no_request(strict: Hooked) -> None:
    sandbox = strict.rig.sandbox
    listener, subscription, notification = await mentioned(strict)
    burst = [  # distinct genuine pushes (fresh encryption and signature each): retries
        build_push(sandbox, subscription, push_payload(sandbox, subscription, notification))
        for _ in range(30)
    ]
    before = strict.lists()
    await burst_then_mention(strict, listener, burst)
    listener.close()
    assert strict.lists() == before + 1  # the closing mention's catch-up, nothing for the 30


async def test_a_burst_of_pushes_of_what_is_not_there_costs_a_handful_of_requests(
    strict: Hooked,
) -> None:
    sandbox = strict.rig.sandbox
    listener, subscription, shown = await mentioned(strict)
    # pushes of notifications the instance does not list (deleted since): each catch-up run
    # finds nothing new
    burst = [
        build_push(
            sandbox,
            subscription,
            push_payload(sandbox, subscription, replace(shown, id=str(int(shown.id) + 1000 + n))),
        )
        for n in range(30)
    ]
    before = strict.catch_ups()
    loop = asyncio.get_running_loop()
    started = loop.time()
    await burst_then_mention(strict, listener, burst)
    elapsed = loop.time() - started
    listener.close()
    assert (await pushes(strict))["accepted"] == 1 + len(burst) + 1
    spent = strict.catch_ups() - before
    # a run that found nothing new makes the next wait CATCH_UP_SPACING however slowly this
    # machine sends: the bound is a rate, not a count. One run starts at once, one more per
    # spacing, and one follows the run that fetched the closing mention (its push arrives
    # while that run is under way; a run that found something does not wait).
    most = 2 + int(elapsed / CATCH_UP_SPACING)
    assert spent <= most, f"{spent} list requests in {elapsed:.2f} s"
