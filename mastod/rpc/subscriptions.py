"""Notification subscriptions over JSON-RPC (`subscribe`, `unsubscribe`) and `GET /events`.

`subscribe` needs a connection the daemon can push on: the Unix socket or the WebSocket
(`GET /rpc`). Over plain HTTP (`POST /rpc`) it answers error NEEDS_CONNECTION (-32010,
"Subscriptions need a connection") whose `data.use` names the alternatives; `GET /events`
is the HTTP way (Server-Sent Events, same Host guard and bearer token as `/rpc`):

    curl -N -H "Authorization: Bearer $(cat token)" 'http://127.0.0.1:8765/events?types=mention'

Each SSE event is `id: <notification id>`, `event: notification`, `data: <Notification JSON>`;
`?types=a,b` filters, `?since_id=ID` or the `Last-Event-ID` header (what EventSource sends
when it reconnects) replays what was stored after ID first, as `subscribe` does. On
overflow the stream sends `event: dropped` (data `{"subscription", "since_id"}`) and ends;
reconnecting resumes.
A comment line keeps the stream alive every `keepalive` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import weakref
from collections.abc import Iterable
from typing import Any

from aiohttp import web

from mastod.config.model import NOTIFICATION_TYPES
from mastod.notify.hub import Hub
from mastod.notify.store import MAX_ID_LENGTH
from mastod.rpc.errors import RpcFault
from mastod.rpc.http import LIVE_STREAMS, Handler
from mastod.rpc.params import InvalidParams
from mastod.rpc.peers import PushPeer, after_reply, current_peer
from mastod.rpc.registry import Registry

NEEDS_CONNECTION = -32010
NEEDS_CONNECTION_TEXT = (
    "Subscriptions need a connection: use the WebSocket (GET /rpc), "
    "Server-Sent Events (GET /events) or the Unix socket"
)
MQTT_DELIVERS_TEXT = (
    "Subscriptions are not needed over MQTT: notifications are published on "
    "<prefix>/notification/<type>"
)
ALTERNATIVES = ["websocket GET /rpc", "sse GET /events", "unix socket"]
KEEPALIVE = 15.0  # seconds between SSE comment lines
_POLL = 1.0  # how often an SSE stream checks that its client is still there


def register_subscriptions(registry: Registry, hub: Hub) -> None:
    hooked: weakref.WeakSet[PushPeer] = weakref.WeakSet()

    def connection() -> PushPeer:
        peer = current_peer.get()
        if not isinstance(peer, PushPeer):
            transport = None if peer is None else peer.transport
            if transport == "mqtt":
                raise RpcFault(NEEDS_CONNECTION, MQTT_DELIVERS_TEXT, {"transport": transport})
            data = {"transport": transport, "use": ALTERNATIVES}
            raise RpcFault(NEEDS_CONNECTION, NEEDS_CONNECTION_TEXT, data)
        return peer

    async def subscribe(
        types: list[str] | None = None, since_id: str | int | None = None
    ) -> dict[str, str]:
        """Subscribe this connection to notifications, sent as `notification` messages.

        The answer is `{"subscription": id, "since_id": position}`: the point in the log the
        subscription starts after (the `since_id` given, else the last notification stored
        when it began, "" for an empty log). A client that reconnects subscribes again with
        `since_id` set to the last notification it received, else to that position, and
        misses nothing that arrived meanwhile.

        Each message is `{"jsonrpc": "2.0", "method": "notification", "params":
        {"subscription": id, "notification": {...}}}`, the notification shaped as
        `get_notifications` returns it, in the order the daemon stored them. `types` keeps
        only those notification types. `since_id` first replays what the daemon stored after
        the notification with that id, in the order stored (one Mastodon made visible late,
        with a lower id, comes after it), so resuming with the last id received misses
        nothing; for an id the log does not hold, the stored notifications with a newer
        Mastodon id ("": the whole stored log). If the connection falls too far behind, the
        subscription ends with a `dropped` message whose `since_id` resumes it with a new
        `subscribe`. A `since_id` older than what retention kept gets a `pruned` message
        first. If the store cannot be read, a JSON-RPC error with id null (-32603, its
        `data.since_id` the point to resume from) ends the subscription and the daemon closes
        the connection. Needs the Unix socket or the WebSocket; over HTTP, use `GET /events`.
        """
        peer = connection()
        wanted = _types(types)
        since = _since(since_id)
        sub_id = hub.subscribe(peer, wanted, since, start=False)
        if peer not in hooked:  # after subscribing: a peer already closed drops it at once
            hooked.add(peer)
            peer.on_close(lambda: hub.drop_peer(peer))
        position = hub.position(sub_id)
        after_reply(lambda: hub.start_delivery(sub_id))
        return {"subscription": sub_id, "since_id": position or ""}

    async def unsubscribe(subscription: str) -> bool:
        """End one of this connection's subscriptions; false if it has none by that id."""
        return hub.unsubscribe(subscription, connection())

    registry.add(subscribe, name="subscribe", docs=SUBSCRIBE_DOCS)
    registry.add(unsubscribe, name="unsubscribe", docs=UNSUBSCRIBE_DOCS)


SUBSCRIBE_DOCS = {
    "types": "Only these notification types (mention, follow, favourite, ...); leave it out "
    "for every type. An unknown type is refused.",
    "since_id": "Replay first: everything stored after the notification with this id, in the "
    "order stored; for an id the store does not hold, the stored ones with a newer Mastodon "
    'id ("": the whole stored log). Leave it out to start with what arrives next.',
}
UNSUBSCRIBE_DOCS = {"subscription": "The id that `subscribe` answered with."}


def _types(types: list[str] | None) -> set[str] | None:
    if types is None:
        return None
    if not types:
        raise InvalidParams("types: must not be empty (leave it out for every type)")
    for name in types:
        if name not in NOTIFICATION_TYPES:  # a typo would otherwise wait silently for ever
            known = ", ".join(sorted(NOTIFICATION_TYPES))
            raise InvalidParams(f"types: unknown type {name[:50]!r} (valid: {known})")
    return set(types)


def _since(since_id: str | int | None) -> str | None:
    if since_id is None:
        return None
    text = str(since_id)
    if len(text) > MAX_ID_LENGTH:
        raise InvalidParams(f"since_id: longer than {MAX_ID_LENGTH} characters")
    return text


# -- Server-Sent Events --------------------------------------------------------------------


class SseFrames:
    """SSE events; the notification's JSON text goes in `data:` as stored (it has no newline)."""

    def notification(self, subscription: str, notification_id: str, json_text: str) -> str:
        return "id: " + notification_id + "\nevent: notification\ndata: " + json_text + "\n\n"

    def dropped(self, subscription: str, since_id: str) -> str:
        data = json.dumps({"subscription": subscription, "since_id": since_id})
        return f"event: dropped\ndata: {data}\n\n"

    def pruned(self, subscription: str, since_id: str, oldest_id: str) -> str:
        data = json.dumps(
            {"subscription": subscription, "since_id": since_id, "oldest_id": oldest_id}
        )
        return f"event: pruned\ndata: {data}\n\n"

    def failed(self, subscription: str, since_id: str) -> str:
        data = json.dumps({"subscription": subscription, "since_id": since_id})
        return f"event: failed\ndata: {data}\n\n"


SSE = SseFrames()


class SsePeer:
    transport = "sse"

    def __init__(self, response: web.StreamResponse) -> None:
        self.response = response
        self._lock = asyncio.Lock()  # notifications and keep-alives share the stream

    async def send(self, frame: str) -> None:
        async with self._lock:
            await self.response.write(frame.encode())

    async def close(self) -> None:
        """The handler ends the stream when its subscription ends; this also closes the
        connection under it rather than keeping it alive for another request."""
        self.response.force_close()


def events_handler(hub: Hub, *, keepalive: float = KEEPALIVE) -> Handler:
    """The `GET /events` handler, for `create_rpc_app(events=...)`."""

    async def events(request: web.Request) -> web.StreamResponse:
        types = _query_types(request.query.getall("types", []))
        try:
            _types(None if types is None else sorted(types))
        except InvalidParams as exc:  # the same check as subscribe's
            return web.json_response({"error": str(exc)}, status=400)
        since = request.headers.get("Last-Event-ID") or request.query.get("since_id") or None
        if since is not None and len(since) > MAX_ID_LENGTH:
            return web.json_response({"error": "since_id is too long"}, status=400)
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream; charset=utf-8",
                "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no",
            }
        )
        await response.prepare(request)
        peer = SsePeer(response)
        sub_id = hub.subscribe(peer, types, since, frames=SSE)
        done = hub.finished(sub_id)
        live = request.app.get(LIVE_STREAMS)
        loop = asyncio.get_running_loop()
        quiet_since = loop.time()
        try:
            while done is not None and not done.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(done.wait(), timeout=min(_POLL, keepalive))
                if done.is_set() or _gone(request) or (live and live.stopping.is_set()):
                    break
                if loop.time() - quiet_since >= keepalive:
                    await peer.send(": keep-alive\n\n")
                    quiet_since = loop.time()
        except (ConnectionError, OSError):
            pass
        finally:
            hub.drop_peer(peer)
        return response

    return events


def _query_types(values: Iterable[str]) -> set[str] | None:
    """`?types=mention,follow` and/or `?types=mention&types=follow`; None for every type."""
    found = {t.strip() for value in values for t in value.split(",") if t.strip()}
    return found or None


def _gone(request: web.Request) -> bool:
    transport: Any = request.transport
    return transport is None or bool(transport.is_closing())
