"""Oversized input is refused on every listener, and what it asked for does not run: a Unix
socket frame over `rpc.max_frame_bytes` (an error frame, the connection stays usable), an HTTP
body over it (413, with Content-Length and chunked), a WebSocket message over it (closed with
1009, the next connection is served), a webhook body over `webhook.max_body_bytes` (413)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from mastod.config import RpcConfig, WebhookConfig
from tests.fuzz.clients import LineClient, RawHttp, bounded
from tests.fuzz.oracle import INVALID_REQUEST, Reply, check_object
from tests.fuzz.rig import RPC_TOKEN, Rig, running_daemon
from tests.fuzz.transports import UnixTransport, WsTransport
from tests.fuzz.webpush import WEBHOOK_SECRET, running_hook

LIMIT = RpcConfig().max_frame_bytes


def oversized_publish(extra: int = 1) -> bytes:
    """A publish_status call just over the frame limit (the status text makes it so)."""
    params = {"status": ""}
    head = {"jsonrpc": "2.0", "id": 9, "method": "publish_status", "params": params}
    size = len(json.dumps(head))
    params["status"] = "x" * (LIMIT - size + extra)
    frame = json.dumps(head).encode()
    assert len(frame) == LIMIT + extra
    return frame


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    async with running_daemon(tmp_path) as running:
        yield running


def published(rig: Rig) -> int:
    return sum(1 for r in rig.sandbox.recorded if r.path == "/api/v1/statuses")


@pytest.mark.parametrize("extra", [1, 4096, 3 * LIMIT])
async def test_unix_frame_over_the_limit(rig: Rig, extra: int) -> None:
    client = await LineClient.connect(rig.socket_path)
    await client.send(oversized_publish(extra) + b"\n")
    answer = await client.recv("the oversized frame")
    check_object(answer, Reply((None,), frozenset({INVALID_REQUEST})))
    assert str(LIMIT) in answer["error"]["message"]
    transport = UnixTransport(client)
    await transport.probe()  # the same connection goes on
    await transport.close()
    assert published(rig) == 0


async def test_unix_frame_at_the_limit_is_served(rig: Rig) -> None:
    client = await LineClient.connect(rig.socket_path)
    await client.send(oversized_publish(0) + b"\n")
    answer = await client.recv("the frame at the limit")
    client.close()
    assert "error" not in answer or answer["error"]["code"] != INVALID_REQUEST, answer


@pytest.mark.parametrize("extra", [1, LIMIT])
async def test_http_body_over_the_limit_is_413(rig: Rig, extra: int) -> None:
    http = RawHttp("127.0.0.1", rig.port)
    auth = [("Authorization", f"Bearer {RPC_TOKEN}"), ("Content-Type", "application/json")]
    reply = await http.request("POST", "/rpc", auth, oversized_publish(extra))
    http.close()
    assert reply.status == 413
    check_object(reply.json(), Reply((None,), frozenset({INVALID_REQUEST})))
    assert published(rig) == 0


async def send_chunked(port: int, path: str, headers: list[tuple[str, str]], body: bytes) -> int:
    """POST `body` with Transfer-Encoding: chunked (no Content-Length); the status."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers) + "\r\n"
    writer.write(head.encode())
    try:
        for start in range(0, len(body), 65536):
            chunk = body[start : start + 65536]
            writer.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            await writer.drain()
        writer.write(b"0\r\n\r\n")
        await writer.drain()
    except ConnectionError:
        pass  # the server may answer and close before it has read everything
    status_line = await bounded("the answer to a chunked body", reader.readline())
    writer.close()
    return int(status_line.split()[1])


async def test_http_chunked_body_over_the_limit_is_413(rig: Rig) -> None:
    """Without Content-Length the limit is found while reading (this was answered -32700
    while the body was read with a single content.read(), before 9a37956)."""
    auth = [("Authorization", f"Bearer {RPC_TOKEN}"), ("Content-Type", "application/json")]
    status = await send_chunked(rig.port, "/rpc", auth, oversized_publish(LIMIT))
    assert published(rig) == 0
    assert status == 413


async def test_websocket_message_over_the_limit_closes_1009(rig: Rig) -> None:
    transport = await WsTransport.open(rig)
    await transport.ws.send_bytes(oversized_publish(1))
    msg = await bounded("the close", transport.ws.receive())
    assert msg.type in (
        aiohttp.WSMsgType.CLOSE,
        aiohttp.WSMsgType.CLOSED,
        aiohttp.WSMsgType.CLOSING,
    )
    assert transport.ws.close_code == aiohttp.WSCloseCode.MESSAGE_TOO_BIG
    await transport.close()
    fresh = await WsTransport.open(rig)
    await fresh.probe()
    await fresh.close()
    assert published(rig) == 0


MAX_BODY = WebhookConfig().max_body_bytes


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_webhook_body_over_the_limit_is_413(chunked: bool) -> None:
    async with running_hook() as hook:
        body = b"\x00" * (MAX_BODY + 1)
        if chunked:
            status = await send_chunked(hook.port, hook.path, [], body)
        else:
            http = RawHttp("127.0.0.1", hook.port)
            status = (await http.request("POST", f"/push/{WEBHOOK_SECRET}", [], body)).status
            http.close()
        await hook.settle()
        assert status == 413
        assert hook.receiver.accepted + hook.receiver.rejected == 0  # never handed on
