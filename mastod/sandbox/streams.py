"""The streaming server's bookkeeping: who is connected, to which streams, and what they get.

It mirrors Mastodon's `streaming/index.js` (PROTOCOL.md §3): a stream name maps to redis
channels (`user` -> `timeline:<id>` plus `timeline:<id>:notifications` when the token may
read notifications; `user:notification` -> just the latter; the public, hashtag, list and
direct streams to their own), a subscription is keyed by its channels (subscribing twice is
one subscription), and each subscription that carries the notification channel gets its own
`{"stream": [name], "event": "notification", "payload": "<JSON text>"}` message (over
Server-Sent Events: `event: notification` and `data: <JSON text>`).

The sandbox publishes only `notification` and `notifications_merged` events: the other
streams are accepted and stay silent. Connections live in the routes (`routes.streaming`);
each holds a `StreamClient` whose `outbox` this module fills, with a `Close` when the
connection is to end.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mastod.sandbox import records as r

PUBLIC_STREAMS = frozenset(
    {
        "public", "public:media", "public:local", "public:local:media", "public:remote",
        "public:remote:media", "hashtag", "hashtag:local",
    }
)  # fmt: skip
NO_SCOPES = "Access token does not have the required scopes"


class StreamError(Exception):
    """An error as the streaming server reports it: HTTP status and message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def frame(self) -> str:
        return compact({"error": self.message, "status": self.status})


@dataclass(frozen=True)
class Close:
    """End a connection: with a WebSocket close `code`, or abruptly (no close frame) if None."""

    code: int | None


@dataclass(frozen=True)
class Event:
    """An event for one subscription: its stream name array, the event and its payload text."""

    stream: list[str]
    event: str
    payload: str

    def frame(self) -> str:
        """The WebSocket message (`streamToWs`): the payload stays a JSON string inside."""
        return compact({"stream": self.stream, "event": self.event, "payload": self.payload})

    def sse(self) -> bytes:
        """The Server-Sent Events record (`streamToHttp`)."""
        return f"event: {self.event}\ndata: {self.payload}\n\n".encode()


Outgoing = Event | str | Close
"""What a connection is to send: an event, a raw text frame (an error), or its end."""


@dataclass(eq=False)
class StreamClient:
    """One connection: its token, its subscriptions (channel key -> stream name array), and
    what waits to be sent."""

    token: r.Token
    account_id: str
    subscriptions: dict[str, list[str]] = field(default_factory=dict)
    outbox: asyncio.Queue[Outgoing] = field(default_factory=asyncio.Queue)


class Streams:
    """Every streaming connection of a sandbox."""

    def __init__(self) -> None:
        self.clients: set[StreamClient] = set()

    def connect(self, token: r.Token) -> StreamClient:
        assert token.account_id is not None
        client = StreamClient(token, token.account_id)
        self.clients.add(client)
        return client

    def disconnect(self, client: StreamClient) -> None:
        self.clients.discard(client)

    def subscribe(
        self, client: StreamClient, stream: str, params: Mapping[str, Any], lists: set[str]
    ) -> None:
        """Subscribe `client` to a stream; raises StreamError as Mastodon would answer.

        `lists` are the ids of the lists the account owns (the `list` stream needs one).
        """
        check_scopes(client.token.scopes, stream)
        channels = channel_ids(client, stream, params, lists)
        key = ";".join(channels)
        if key not in client.subscriptions:
            client.subscriptions[key] = stream_name(stream, params)

    def unsubscribe(
        self, client: StreamClient, stream: str, params: Mapping[str, Any], lists: set[str]
    ) -> None:
        channels = channel_ids(client, stream, params, lists)
        client.subscriptions.pop(";".join(channels), None)

    def publish_notification(self, recipient: str, entity: dict[str, Any]) -> None:
        """The `Sandbox.on_notification` hook: queue the event for the recipient's streams."""
        channel = f"timeline:{recipient}:notifications"
        payload = compact(entity)
        for client in list(self.clients):
            if client.account_id != recipient:
                continue
            for key, name in client.subscriptions.items():
                if channel in key.split(";"):
                    client.outbox.put_nowait(Event(name, "notification", payload))

    def publish_merged(self, recipient: str) -> None:
        """`notifications_merged` (payload "1") on the recipient's notification streams, as
        UnfilterNotificationsWorker publishes it once the un-filtering is done."""
        channel = f"timeline:{recipient}:notifications"
        for client in list(self.clients):
            if client.account_id != recipient:
                continue
            for key, name in client.subscriptions.items():
                if channel in key.split(";"):
                    client.outbox.put_nowait(Event(name, "notifications_merged", "1"))

    def drop_all(self, *, code: int | None = None) -> int:
        """End every connection (None: abruptly, as a crashed server; else with `code`).

        Returns how many were connected.
        """
        return self._close(list(self.clients), code)

    def drop_token(self, token: str, code: int | None = 1000) -> int:
        """End the connections of one token (Mastodon's `kill` when a token is revoked)."""
        return self._close([c for c in self.clients if c.token.token == token], code)

    def _close(self, clients: list[StreamClient], code: int | None) -> int:
        for client in clients:
            self.clients.discard(client)
            client.outbox.put_nowait(Close(code))
        return len(clients)


def check_scopes(scopes: frozenset[str], stream: str) -> None:
    """`checkScopes`: public streams need none; `user:notification` needs `read` or
    `read:notifications`; the others `read` or `read:statuses`."""
    if stream in PUBLIC_STREAMS:
        return
    wanted = {"read", "read:notifications" if stream == "user:notification" else "read:statuses"}
    if not wanted & scopes:
        raise StreamError(401, NO_SCOPES)


def channel_ids(
    client: StreamClient, stream: str, params: Mapping[str, Any], lists: set[str]
) -> list[str]:
    """`channelNameToIds`: the redis channels a stream reads."""
    me = client.account_id
    if stream == "user":
        channels = [f"timeline:{me}"]
        if {"read", "read:notifications"} & client.token.scopes:
            channels.append(f"timeline:{me}:notifications")
        return channels
    if stream == "user:notification":
        return [f"timeline:{me}:notifications"]
    if stream == "direct":
        return [f"timeline:direct:{me}"]
    if stream.startswith("public"):
        if stream not in PUBLIC_STREAMS:
            raise StreamError(400, "Unknown stream type")
        return [f"timeline:{stream}"]
    if stream in ("hashtag", "hashtag:local"):
        tag = _param(params, "tag")
        if not tag:
            raise StreamError(400, "Missing tag name parameter")
        suffix = ":local" if stream == "hashtag:local" else ""
        return [f"timeline:hashtag:{tag.lstrip('#').lower()}{suffix}"]
    if stream == "list":
        list_id = _param(params, "list")
        if not list_id:
            raise StreamError(400, "Missing list name parameter")
        if list_id not in lists:
            raise StreamError(401, "Not authorized to stream this list")
        return [f"timeline:list:{list_id}"]
    raise StreamError(400, "Unknown stream type")


def stream_name(stream: str, params: Mapping[str, Any]) -> list[str]:
    """`streamNameFromChannelName`: `[name]`, `["list", id]` or `["hashtag", tag]`."""
    if stream == "list" and _param(params, "list"):
        return [stream, _param(params, "list")]
    if stream in ("hashtag", "hashtag:local") and _param(params, "tag"):
        return [stream, _param(params, "tag")]
    return [stream]


def first(value: Any) -> str:
    """`firstParam`: the first of repeated values; anything else as text."""
    if isinstance(value, list):
        value = value[0] if value else ""
    return value if isinstance(value, str) else "" if value is None else str(value)


def _param(params: Mapping[str, Any], name: str) -> str:
    return first(params.get(name))


def compact(value: Any) -> str:
    """`JSON.stringify`: no spaces, non-ASCII characters as they are."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
