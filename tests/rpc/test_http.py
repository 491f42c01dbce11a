"""HTTP POST /rpc, WebSocket GET /rpc and /health over a real loopback port."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest

from tests.rpc.conftest import TOKEN, Calls, HttpServer

AUTH = {"Authorization": f"Bearer {TOKEN}"}
JSON = {"Content-Type": "application/json"}
ADD = {"jsonrpc": "2.0", "id": 1, "method": "add", "params": [1, 2]}
COUNT = {"jsonrpc": "2.0", "id": 1, "method": "count"}


async def post(
    server: HttpServer, body: Any, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{server.url}/rpc", data=data, headers={**JSON, **(headers or {})}
        ) as response,
    ):
        text = await response.text()
        return response.status, json.loads(text) if text else None


async def test_single_and_batch(http_server: HttpServer) -> None:
    assert await post(http_server, ADD, AUTH) == (200, {"jsonrpc": "2.0", "result": 3, "id": 1})
    status, answers = await post(http_server, [ADD, {**ADD, "id": 2, "method": "nope"}], AUTH)
    assert status == 200
    assert [("result" in a, a["id"]) for a in answers] == [(True, 1), (False, 2)]


async def test_notification_gets_204(http_server: HttpServer, calls: Calls) -> None:
    status, body = await post(http_server, {"jsonrpc": "2.0", "method": "count"}, AUTH)
    assert (status, body, calls.count) == (204, None, 1)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": TOKEN},
        {"Authorization": f"Basic {TOKEN}"},
    ],
)
async def test_missing_or_wrong_token_is_401_and_runs_nothing(
    http_server: HttpServer, calls: Calls, headers: dict[str, str]
) -> None:
    status, body = await post(http_server, COUNT, headers)
    assert status == 401
    assert body == {"error": "missing or wrong bearer token"}
    assert calls.count == 0


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("127.0.0.1:8765", True),
        ("localhost", True),
        ("[::1]:8765", True),
        ("mastod.internal:8765", True),
        ("evil.example", False),
        ("127.0.0.1.evil.example", False),
        ("localhost.evil.example:8765", False),
    ],
)
async def test_host_guard(http_server: HttpServer, calls: Calls, host: str, allowed: bool) -> None:
    status, body = await post(http_server, COUNT, {**AUTH, "Host": host})
    if allowed:
        assert status == 200
    else:
        assert (status, body, calls.count) == (403, {"error": "Host not allowed"}, 0)


async def test_oversized_body_is_413_with_jsonrpc_error(http_server: HttpServer) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "echo", "params": ["x" * 5000]}
    status, answer = await post(http_server, body, AUTH)
    assert status == 413
    assert answer["error"]["code"] == -32600


async def test_malformed_json_is_parse_error(http_server: HttpServer) -> None:
    status, answer = await post(http_server, b"{oops", AUTH)
    assert (status, answer["error"]["code"]) == (200, -32700)


async def test_health_needs_no_token_and_holds_no_secret(http_server: HttpServer) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{http_server.url}/health") as response,
    ):
        assert response.status == 200
        body = await response.json()
    assert body == {"status": "ok"}
    assert TOKEN not in json.dumps(body)


async def test_plain_get_rpc_explains_itself(http_server: HttpServer) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{http_server.url}/rpc", headers=AUTH) as response,
    ):
        assert response.status == 400


async def test_websocket_needs_the_token(http_server: HttpServer) -> None:
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.WSServerHandshakeError) as failure:
            await session.ws_connect(f"{http_server.url}/rpc")
    assert failure.value.status == 401


async def test_websocket_frames_both_ways_answered_as_completed(http_server: HttpServer) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(f"{http_server.url}/rpc", headers=AUTH) as ws,
    ):
        await ws.send_str(
            json.dumps({"jsonrpc": "2.0", "id": "s", "method": "slow", "params": [0.3, "late"]})
        )
        for i in range(20):
            await ws.send_str(json.dumps({**ADD, "id": i, "params": [i, 1]}))
        await ws.send_str("{garbage")
        answers = [json.loads((await ws.receive(timeout=5)).data) for _ in range(22)]
        assert answers[-1] == {"jsonrpc": "2.0", "result": "late", "id": "s"}
        results = {a["id"]: a.get("result") for a in answers[:-1]}
        assert results[None] is None
        assert all(results[i] == i + 1 for i in range(20))


async def test_websocket_oversized_message_closes_only_that_connection(
    http_server: HttpServer,
) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(f"{http_server.url}/rpc", headers=AUTH) as ws:
            await ws.send_str("x" * 10_000)
            msg = await ws.receive(timeout=5)
            assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
            assert ws.close_code == 1009
        status, _ = await post(http_server, ADD, AUTH)
        assert status == 200


async def test_many_concurrent_http_clients(http_server: HttpServer) -> None:
    results = await asyncio.gather(
        *(post(http_server, {**ADD, "id": i, "params": [i, i]}, AUTH) for i in range(50))
    )
    assert all(body["result"] == 2 * body["id"] for _, body in results)
