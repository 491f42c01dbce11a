"""Fixtures: a sandbox on a real loopback port whose traffic must conform to the OpenAPI schema,
a Web Push receiver, and helpers to make bob act, subscribe to pushes and read streams."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from mastod.sandbox import OWNER_TOKEN, RunningSandbox, Sandbox, start_sandbox
from mastod.sandbox.routes.push import ALERT_TYPES
from tests.sandbox.openapi_check import check_recorded
from tests.sandbox.push_receiver import PushReceiver, UserAgent

STREAMING = "/api/v1/streaming"
NOTIFICATIONS = f"{STREAMING}?stream=user:notification"
BARRIER = {"type": "subscribe", "stream": "barrier"}
UNKNOWN = {"error": "Unknown stream type", "status": 400}


def auth(token: str = OWNER_TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def sandbox() -> Sandbox:
    sb = Sandbox()
    sb.record_responses = True
    return sb


@pytest.fixture
async def running(sandbox: Sandbox) -> AsyncIterator[RunningSandbox]:
    """The sandbox served on 127.0.0.1; on teardown every exchange is checked against the schema."""
    server = await start_sandbox(sandbox=sandbox)
    try:
        yield server
    finally:
        await server.close()
    violations = check_recorded(sandbox.recorded)
    assert not violations, "schema violations:\n" + "\n".join(map(str, violations))


@pytest.fixture
async def client(running: RunningSandbox) -> AsyncIterator[aiohttp.ClientSession]:
    """A session bound to the sandbox's base URL, authenticated as alice by default."""
    async with aiohttp.ClientSession(base_url=running.url, headers=auth()) as session:
        yield session


@pytest.fixture
async def anon(running: RunningSandbox) -> AsyncIterator[aiohttp.ClientSession]:
    """A session bound to the sandbox with no token."""
    async with aiohttp.ClientSession(base_url=running.url) as session:
        yield session


@pytest.fixture
async def ws_session(running: RunningSandbox) -> AsyncIterator[aiohttp.ClientSession]:
    """A session bound to the sandbox with no default headers, for WebSocket handshakes."""
    async with aiohttp.ClientSession(base_url=running.url) as session:
        yield session


@pytest.fixture
async def receiver() -> AsyncIterator[PushReceiver]:
    """A Web Push endpoint on 127.0.0.1 (`receiver.url` + `/push/<name>`)."""
    server = PushReceiver()
    await server.start()
    try:
        yield server
    finally:
        await server.close()


async def act(client: aiohttp.ClientSession, action: str, **extra: str) -> list[dict[str, Any]]:
    """`POST /_sandbox/act` (bob by default); the notifications it made."""
    async with client.post("/_sandbox/act", json={"action": action, **extra}) as resp:
        assert resp.status == 200, await resp.text()
        made: list[dict[str, Any]] = (await resp.json())["notifications"]
    return made


async def subscribe(
    client: aiohttp.ClientSession,
    endpoint: str,
    ua: UserAgent,
    *,
    standard: bool = True,
    alerts: dict[str, bool] | None = None,
    policy: str = "all",
    token: str = OWNER_TOKEN,
) -> dict[str, Any]:
    """Register a push subscription (every alert on by default); the entity."""
    body = {
        "subscription": {"endpoint": endpoint, "keys": ua.keys(), "standard": standard},
        "data": {"alerts": alerts or dict.fromkeys(ALERT_TYPES, True), "policy": policy},
    }
    async with client.post("/api/v1/push/subscription", json=body, headers=auth(token)) as resp:
        assert resp.status == 200, await resp.text()
        entity: dict[str, Any] = await resp.json()
    assert entity["standard"] is standard
    return entity


async def frame(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    """The next text frame, decoded."""
    message = await ws.receive(timeout=5)
    assert message.type is aiohttp.WSMsgType.TEXT, message
    value: dict[str, Any] = json.loads(message.data)
    return value


async def barrier(ws: aiohttp.ClientWebSocketResponse) -> list[dict[str, Any]]:
    """Everything the server queued before it read this point; messages are handled in order,
    so a subscription sent earlier is in force once this returns."""
    await ws.send_json(BARRIER)
    seen = []
    while (received := await frame(ws)) != UNKNOWN:
        seen.append(received)
    return seen
