"""The streaming API on the sandbox's own host (PROTOCOL.md §3; `configuration.urls.streaming`
is the sandbox's ws:// base URL), as Mastodon's `streaming/index.js` serves it.

* `GET /api/v1/streaming` as a WebSocket. The token is `Authorization: Bearer <token>`, else
  the `access_token` query parameter, else `Sec-WebSocket-Protocol` (echoed back). A missing
  or unknown token refuses the upgrade with a bare 401 whose `X-Error-Message` says `Missing
  access token` or `Invalid access token`. Streams are chosen with `?stream=` and with
  `{"type": "subscribe"|"unsubscribe", "stream": "...", "tag"?, "list"?}` messages; a refused
  subscription (scopes, unknown stream) answers `{"error": "...", "status": 401|400}` in the
  socket, which stays open. Binary messages close it with 1003. The server pings every 30 s.
* `GET /api/v1/streaming/health`: `OK`.
* `GET /api/v1/streaming/<user|user/notification|public|...>` as Server-Sent Events, with
  errors as `{"error": "..."}` JSON; the stream opens with `:)` and sends `:thump` every 15 s.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from mastod.sandbox import records as r
from mastod.sandbox.keys import SANDBOX_KEY
from mastod.sandbox.state import Sandbox
from mastod.sandbox.streams import Close, Event, StreamClient, StreamError, compact, first

log = logging.getLogger(__name__)
routes = web.RouteTableDef()

PING_INTERVAL = 30.0
SSE_HEARTBEAT = 15.0
SSE_DISCONNECT_CHECK = 1.0
SSE_STREAMS = {
    "user": "user", "user/notification": "user:notification", "public": "public",
    "public/local": "public:local", "public/remote": "public:remote", "hashtag": "hashtag",
    "hashtag/local": "hashtag:local", "direct": "direct", "list": "list",
}  # fmt: skip
_BINARY = b"The mastodon streaming server does not support binary messages"
_UNSUBSCRIBE_FAILED = "Error unsubscribing from channel"


@routes.get("/api/v1/streaming/health")
async def health(request: web.Request) -> web.Response:
    return web.Response(text="OK", content_type="text/plain")


@routes.get("/api/v1/streaming")
async def websocket(request: web.Request) -> web.StreamResponse:
    sb = request.app[SANDBOX_KEY]
    if request.headers.get("Upgrade", "").lower() != "websocket":
        return _json_error(StreamError(400, "Unknown channel requested"))
    try:
        token = authenticate(sb, request)
    except StreamError as exc:
        headers = {"Connection": "close", "Content-Type": "text/plain"}
        return web.Response(status=exc.status, headers={**headers, "X-Error-Message": exc.message})
    offered = [p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",")]
    ws = web.WebSocketResponse(protocols=[p for p in offered if p], heartbeat=PING_INTERVAL)
    await ws.prepare(request)
    client = sb.streams.connect(token)
    sender = asyncio.create_task(_send_frames(request, ws, client))
    try:
        if "stream" in request.query:
            _subscribe(sb, client, "subscribe", _query(request))
        async for message in ws:
            if message.type is WSMsgType.BINARY:
                await ws.close(code=WSCloseCode.UNSUPPORTED_DATA, message=_BINARY)
            elif message.type is WSMsgType.TEXT:
                _command(sb, client, message.data)
    finally:
        sb.streams.disconnect(client)
        sender.cancel()
        await asyncio.gather(sender, return_exceptions=True)
    return ws


@routes.get("/api/v1/streaming/{path:.+}")
async def event_stream(request: web.Request) -> web.StreamResponse:
    sb = request.app[SANDBOX_KEY]
    params = _query(request)
    stream = SSE_STREAMS.get(request.match_info["path"].rstrip("/"))
    if stream is None:
        return _json_error(StreamError(400, "Unknown channel requested"))
    if stream.startswith("public") and first(params.get("only_media")) in ("1", "true", "True"):
        stream += ":media"
    try:
        client = sb.streams.connect(authenticate(sb, request))
    except StreamError as exc:
        return _json_error(exc)
    try:
        sb.streams.subscribe(client, stream, params, _lists(sb, client))
    except StreamError as exc:
        sb.streams.disconnect(client)
        return _json_error(exc)
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "private, no-store"}
    )
    try:
        await response.prepare(request)
        await response.write(b":)\n")
        await _send_events(request, response, client)
    finally:
        sb.streams.disconnect(client)
    return response


def authenticate(sb: Sandbox, request: web.Request) -> r.Token:
    """`accountFromRequest`: the `Authorization` header (minus `Bearer `), else the
    `access_token` parameter, else the `Sec-WebSocket-Protocol` header, must be a user token."""
    authorization = request.headers.get("Authorization")
    fallback = request.query.get("access_token") or request.headers.get("Sec-WebSocket-Protocol")
    if not authorization and not fallback:
        raise StreamError(401, "Missing access token")
    value = authorization.removeprefix("Bearer ") if authorization else fallback
    token = sb.tokens.get(value or "")
    if token is None or token.account_id is None or token.account_id not in sb.accounts:
        raise StreamError(401, "Invalid access token")
    return token


def _command(sb: Sandbox, client: StreamClient, text: str) -> None:
    try:
        message: Any = json.loads(text)
    except ValueError:
        log.info("sandbox streaming: a message that is not JSON was ignored")
        return
    if isinstance(message, dict) and message.get("type") in ("subscribe", "unsubscribe"):
        _subscribe(sb, client, message["type"], message)


def _subscribe(sb: Sandbox, client: StreamClient, kind: str, params: dict[str, Any]) -> None:
    stream = first(params.get("stream"))
    try:
        if kind == "subscribe":
            sb.streams.subscribe(client, stream, params, _lists(sb, client))
        else:
            sb.streams.unsubscribe(client, stream, params, _lists(sb, client))
    except StreamError as exc:
        failed = exc.frame() if kind == "subscribe" else compact({"error": _UNSUBSCRIBE_FAILED})
        client.outbox.put_nowait(failed)


async def _send_frames(
    request: web.Request, ws: web.WebSocketResponse, client: StreamClient
) -> None:
    while True:
        item = await client.outbox.get()
        if isinstance(item, Close):
            if item.code is None:
                _cut(request)
            else:
                await ws.close(code=item.code)
            return
        await ws.send_str(item.frame() if isinstance(item, Event) else item)


async def _send_events(
    request: web.Request, response: web.StreamResponse, client: StreamClient
) -> None:
    loop = asyncio.get_running_loop()
    heartbeat = loop.time() + SSE_HEARTBEAT
    while True:
        try:
            item = await asyncio.wait_for(client.outbox.get(), SSE_DISCONNECT_CHECK)
        except TimeoutError:
            # aiohttp does not cancel a handler whose client left: look for that here.
            if request.transport is None or request.transport.is_closing():
                return
            if loop.time() >= heartbeat:
                heartbeat = loop.time() + SSE_HEARTBEAT
                await response.write(b":thump\n")
            continue
        if isinstance(item, Close):
            if item.code is None:
                _cut(request)
            return
        if isinstance(item, Event):
            await response.write(item.sse())


def _cut(request: web.Request) -> None:
    """Close the TCP connection without a goodbye, as a crashed or restarted server does."""
    if request.transport is not None:
        request.transport.close()


def _json_error(exc: StreamError) -> web.Response:
    return web.json_response({"error": exc.message}, status=exc.status)


def _query(request: web.Request) -> dict[str, Any]:
    return {key: request.query.getall(key) for key in request.query}


def _lists(sb: Sandbox, client: StreamClient) -> set[str]:
    return {lst.id for lst in sb.lists.values() if lst.account_id == client.account_id}
