"""Store, hub and intake on a temporary state dir, served over the real transports on
loopback: a Unix socket and the HTTP app (WebSocket `/rpc`, `POST /rpc`, SSE `/events`)."""

from __future__ import annotations

import asyncio
import json
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from mastod.config import MastodonConfig
from mastod.mastodon.client import Api, MastodonClient
from mastod.notify.hub import Hub
from mastod.notify.intake import Intake
from mastod.notify.store import NotificationStore
from mastod.rpc.dispatch import Dispatcher
from mastod.rpc.http import create_rpc_app
from mastod.rpc.registry import Registry
from mastod.rpc.subscriptions import events_handler, register_subscriptions
from mastod.rpc.unix import UnixServer
from mastod.tasks import TaskSet
from tests.notify.fake import TOKEN as UPSTREAM_TOKEN
from tests.notify.fake import FakeMastodon
from tests.servers import serve

TOKEN = "notify-test-rpc-token-0123456789"
READ_TIMEOUT = 10.0  # a hang guard only: no assertion depends on how fast anything is


def note(nid: int | str, type_: str = "mention", *, pad: int = 0) -> dict[str, Any]:
    """A Notification entity as Mastodon sends it (its status not yet renamed)."""
    entity: dict[str, Any] = {
        "id": str(nid),
        "type": type_,
        "created_at": "2026-11-27T12:00:00.000Z",
        "account": {"id": "7", "username": "bob", "acct": "bob@remote.example"},
    }
    if type_ in ("mention", "status", "reblog", "favourite", "poll", "update"):
        entity["status"] = {
            "id": f"9{nid}",
            "content": "<p>hi " + "x" * pad + "</p>",
            "account": {"id": "1", "username": "alice"},
            "media_attachments": [{"id": "3", "type": "image"}],
            "tags": [{"name": "demo"}],
        }
    return entity


async def until(predicate: Callable[[], bool], timeout: float = READ_TIMEOUT) -> None:
    """Wait for `predicate` to hold (polling); fail the test if it never does."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.005)


class Client(ABC):
    """A JSON-RPC client on one connection; notifications that arrive while it waits for an
    answer are kept in `backlog` in order."""

    def __init__(self) -> None:
        self.backlog: list[dict[str, Any]] = []
        self._next_id = 0

    @abstractmethod
    async def send(self, frame: dict[str, Any]) -> None: ...

    @abstractmethod
    async def recv(self) -> dict[str, Any]: ...

    @abstractmethod
    async def close(self) -> None: ...

    async def call(self, method: str, params: Any = None) -> dict[str, Any]:
        self._next_id += 1
        request: dict[str, Any] = {"jsonrpc": "2.0", "id": self._next_id, "method": method}
        if params is not None:
            request["params"] = params
        await self.send(request)
        while True:
            frame = await self.recv()
            if frame.get("id") == self._next_id and "method" not in frame:
                return frame
            self.backlog.append(frame)

    async def subscribe(self, **params: Any) -> str:
        answer = await self.call("subscribe", params)
        return str(answer["result"]["subscription"])

    async def next_message(self) -> dict[str, Any]:
        return self.backlog.pop(0) if self.backlog else await self.recv()

    async def notifications_until(self, last_id: str) -> list[str]:
        """Ids of the notification messages received, up to and including `last_id`."""
        ids: list[str] = []
        while not ids or ids[-1] != last_id:
            frame = await self.next_message()
            assert frame["method"] == "notification", frame
            ids.append(frame["params"]["notification"]["id"])
        return ids


class UnixClient(Client):
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        super().__init__()
        self.reader, self.writer = reader, writer

    async def send(self, frame: dict[str, Any]) -> None:
        self.writer.write(json.dumps(frame).encode() + b"\n")
        await self.writer.drain()

    async def recv(self) -> dict[str, Any]:
        line = await asyncio.wait_for(self.reader.readline(), READ_TIMEOUT)
        assert line, "connection closed"
        frame: dict[str, Any] = json.loads(line)
        return frame

    async def close(self) -> None:
        self.writer.close()


class WsClient(Client):
    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        super().__init__()
        self.ws = ws

    async def send(self, frame: dict[str, Any]) -> None:
        await self.ws.send_str(json.dumps(frame))

    async def recv(self) -> dict[str, Any]:
        msg = await asyncio.wait_for(self.ws.receive(), READ_TIMEOUT)
        assert msg.type is aiohttp.WSMsgType.TEXT, msg
        frame: dict[str, Any] = json.loads(msg.data)
        return frame

    async def close(self) -> None:
        await self.ws.close()


@dataclass
class Rpc:
    """The notification stack behind real listeners, and a way to open clients on them."""

    store: NotificationStore
    hub: Hub
    intake: Intake
    socket_path: Path
    http_url: str
    session: aiohttp.ClientSession
    runner: web.AppRunner
    clients: list[Client] = field(default_factory=list)
    responses: list[aiohttp.ClientResponse] = field(default_factory=list)

    async def unix(self) -> UnixClient:
        # the default 64 KiB limit: a client that stops reading soon pushes back on the server
        reader, writer = await asyncio.open_unix_connection(str(self.socket_path))
        client = UnixClient(reader, writer)
        self.clients.append(client)
        return client

    async def websocket(self) -> WsClient:
        ws = await self.session.ws_connect(
            f"{self.http_url}/rpc", headers={"Authorization": f"Bearer {TOKEN}"}
        )
        client = WsClient(ws)
        self.clients.append(client)
        return client

    async def ingest(self, *notifications: dict[str, Any]) -> None:
        for notification in notifications:
            assert await self.intake.ingest(notification)


Opener = Callable[[Rpc], Awaitable[Client]]


@pytest.fixture
def queue_size() -> int:
    return 1000


@pytest.fixture
def replay_page() -> int:
    return 100


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[NotificationStore]:
    notifications = NotificationStore(tmp_path / "state", maintenance_interval=3600)
    await notifications.start()
    yield notifications
    await notifications.close()


@pytest.fixture
async def hub(store: NotificationStore, queue_size: int, replay_page: int) -> AsyncIterator[Hub]:
    fan_out = Hub(store, queue_size=queue_size, replay_page=replay_page)
    await fan_out.start()
    yield fan_out
    await fan_out.close()


@pytest.fixture
def intake(store: NotificationStore, hub: Hub) -> Intake:
    return Intake(store, hub)


@pytest.fixture
async def rpc(
    tmp_path: Path, store: NotificationStore, hub: Hub, intake: Intake
) -> AsyncIterator[Rpc]:
    registry = Registry()
    register_subscriptions(registry, hub)
    dispatcher = Dispatcher(registry)
    tasks = TaskSet("test.rpc")
    unix = UnixServer(tmp_path / "run" / "mastod.sock", dispatcher, tasks=tasks)
    await unix.start()
    app = create_rpc_app(
        dispatcher,
        token=TOKEN,
        allowed_hosts=[],
        tasks=tasks,
        health=lambda: {"status": "ok"},
        events=events_handler(hub, keepalive=0.2),
    )
    # shutdown_timeout: as long as a daemon's grace could be
    runner, url, _ = await serve(app, shutdown_timeout=60.0)
    session = aiohttp.ClientSession()
    stack = Rpc(store, hub, intake, unix.path, url, session, runner)
    yield stack
    for client in stack.clients:
        await client.close()
    for response in stack.responses:
        response.close()
    await session.close()
    await runner.cleanup()
    await unix.close()
    await tasks.cancel()


async def open_unix(rpc: Rpc) -> Client:
    return await rpc.unix()


async def open_websocket(rpc: Rpc) -> Client:
    return await rpc.websocket()


TRANSPORTS = pytest.mark.parametrize(
    "open_client", [open_unix, open_websocket], ids=["unix", "websocket"]
)


@pytest.fixture
async def fake() -> AsyncIterator[FakeMastodon]:
    server = FakeMastodon()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def client(fake: FakeMastodon) -> AsyncIterator[MastodonClient]:
    config = MastodonConfig(
        base_url=fake.url, access_token=UPSTREAM_TOKEN, max_retries=0, rate_limit_max_wait=0.0
    )
    mastodon = MastodonClient(config)
    await mastodon.start()
    yield mastodon
    await mastodon.close()


@pytest.fixture
def api(client: MastodonClient) -> Api:
    return client.api()
