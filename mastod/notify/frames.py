"""What subscribers are and what the hub sends them: the peer protocols, the frames of each
transport, the batching, and the `Output` that hands a batch to a connection.

Notifications are serialised once, by intake; a frame is assembled around that JSON text
(for byte-stream peers, around its bytes, encoded once per notification), never re-encoded
per subscriber.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Awaitable
from typing import Protocol, runtime_checkable

# Notifications joined into one write, by size: enough to spare most syscalls, small enough
# that a thousand slow subscribers do not each hold a large batch in memory (one that stops
# reading can hold the high-water mark and two batches).
BATCH_BYTES = 32 * 1024


class Subscriber(Protocol):
    """A connection frames can be pushed on."""

    transport: str

    async def send(self, frame: str) -> None: ...


@runtime_checkable
class Closes(Protocol):
    """A subscriber on a connection of its own (Unix socket, WebSocket, SSE): when the hub
    cannot go on serving it (its store failed), the connection ends after the `failed` frame,
    so a client waiting on it sees the end rather than hanging. A subscriber without one
    (the MQTT bridge) sees its subscription end and subscribes again."""

    async def close(self) -> None:
        """End the connection once what was sent has been written."""
        ...


@runtime_checkable
class WritesNow(Protocol):
    """A subscriber on a byte stream of newline-terminated JSON-RPC frames (the Unix socket):
    several frames leave in one write, made from each notification's JSON encoded once."""

    def write_now(self, data: bytes) -> bool:
        """Write `data` (whole frames) at once if the connection takes it without waiting
        (its buffer is below the high-water mark); False, having written nothing, if not."""
        ...

    async def send_all(self, data: bytes) -> None:
        """Write `data` (whole frames) and wait until the connection has room again."""
        ...


class Frames(Protocol):
    """How a subscription's messages look on its transport."""

    def notification(self, subscription: str, notification_id: str, json_text: str) -> str: ...

    def dropped(self, subscription: str, since_id: str) -> str: ...

    def pruned(self, subscription: str, since_id: str, oldest_id: str) -> str: ...

    def failed(self, subscription: str, since_id: str) -> str: ...


# `failed`: the store could not be read (damaged); the subscription ends.
STORE_FAILED_CODE = -32603
STORE_FAILED_TEXT = "Notification store error: the subscription ended"


class JsonRpcFrames:
    """JSON-RPC 2.0 notifications (`notification`, `dropped`) for the socket and WebSocket."""

    def notification(self, subscription: str, notification_id: str, json_text: str) -> str:
        # Subscription ids are hex (the hub makes them): nothing in them needs escaping.
        return (
            '{"jsonrpc":"2.0","method":"notification","params":{"subscription":"'
            + subscription
            + '","notification":'
            + json_text
            + "}}"
        )

    def dropped(self, subscription: str, since_id: str) -> str:
        params = {"subscription": subscription, "since_id": since_id}
        return json.dumps({"jsonrpc": "2.0", "method": "dropped", "params": params})

    def pruned(self, subscription: str, since_id: str, oldest_id: str) -> str:
        """Retention deleted notifications after `since_id`: the replay starts at `oldest_id`."""
        params = {"subscription": subscription, "since_id": since_id, "oldest_id": oldest_id}
        return json.dumps({"jsonrpc": "2.0", "method": "pruned", "params": params})

    def failed(self, subscription: str, since_id: str) -> str:
        """A JSON-RPC error (id null): clients that stop on an error stop on it."""
        data = {"subscription": subscription, "since_id": since_id}
        error = {"code": STORE_FAILED_CODE, "message": STORE_FAILED_TEXT, "data": data}
        return json.dumps({"jsonrpc": "2.0", "id": None, "error": error})

    # The same frame as bytes, for byte-stream peers (`WritesNow`): `line_head(sub) +
    # line_tail(text)` is `notification(sub, ..., text)` encoded, with the line's newline.

    def line_head(self, subscription: str) -> bytes:
        return (
            b'{"jsonrpc":"2.0","method":"notification","params":{"subscription":"'
            + subscription.encode("ascii")
            + b'","notification":'
        )

    def line_tail(self, json_text: str) -> bytes:
        return json_text.encode() + b"}}\n"


JSON_RPC = JsonRpcFrames()

# A queued notification: its id, its JSON text, and that text as the end of a byte frame.
Item = tuple[str, str, bytes]


def take(pending: deque[Item]) -> list[Item]:
    """Take the first pending notifications off the queue, about BATCH_BYTES of them (at
    least one)."""
    items = [pending.popleft()]
    if not pending:
        return items
    size = len(items[0][2])
    while pending and size + len(pending[0][2]) <= BATCH_BYTES:
        item = pending.popleft()
        items.append(item)
        size += len(item[2])
    return items


def lines(head: bytes, items: list[Item]) -> bytes:
    """The byte frames of `items` for the subscription whose frames start with `head`."""
    if len(items) == 1:
        return head + items[0][2]
    return head.join([b"", *(item[2] for item in items)])


class Output(Protocol):
    """How one subscription's frames reach its connection."""

    def write(self, items: list[Item]) -> Awaitable[None] | None:
        """Hand `items` over: None if they were written at once, else what to await before
        writing more (the write itself, or the connection draining)."""
        ...

    def dropped(self, since_id: str) -> Awaitable[None]: ...

    def pruned(self, since_id: str, oldest_id: str) -> Awaitable[None]: ...

    def failed(self, since_id: str) -> Awaitable[None]: ...


class ByteLines:
    """JSON-RPC frames on a byte stream: a batch in one write, at once while the connection
    has room (no task switch per delivery), else written and drained by the caller's wait."""

    def __init__(self, peer: WritesNow, subscription: str) -> None:
        self.peer = peer
        self.subscription = subscription
        self.head = JSON_RPC.line_head(subscription)

    def write(self, items: list[Item]) -> Awaitable[None] | None:
        data = lines(self.head, items)
        return None if self.peer.write_now(data) else self.peer.send_all(data)

    def dropped(self, since_id: str) -> Awaitable[None]:
        return self._line(JSON_RPC.dropped(self.subscription, since_id))

    def pruned(self, since_id: str, oldest_id: str) -> Awaitable[None]:
        return self._line(JSON_RPC.pruned(self.subscription, since_id, oldest_id))

    def failed(self, since_id: str) -> Awaitable[None]:
        return self._line(JSON_RPC.failed(self.subscription, since_id))

    def _line(self, frame: str) -> Awaitable[None]:
        return self.peer.send_all(frame.encode() + b"\n")


class Messages:
    """One message per frame (WebSocket, Server-Sent Events), each send awaited."""

    def __init__(self, peer: Subscriber, frames: Frames, subscription: str) -> None:
        self.peer = peer
        self.frames = frames
        self.subscription = subscription

    def write(self, items: list[Item]) -> Awaitable[None] | None:
        return self._send(items)

    async def _send(self, items: list[Item]) -> None:
        for notification_id, json_text, _ in items:
            await self.peer.send(
                self.frames.notification(self.subscription, notification_id, json_text)
            )

    def dropped(self, since_id: str) -> Awaitable[None]:
        return self.peer.send(self.frames.dropped(self.subscription, since_id))

    def pruned(self, since_id: str, oldest_id: str) -> Awaitable[None]:
        return self.peer.send(self.frames.pruned(self.subscription, since_id, oldest_id))

    def failed(self, since_id: str) -> Awaitable[None]:
        return self.peer.send(self.frames.failed(self.subscription, since_id))


def output(peer: Subscriber, frames: Frames, subscription: str) -> Output:
    if isinstance(peer, WritesNow) and frames is JSON_RPC:
        return ByteLines(peer, subscription)
    return Messages(peer, frames, subscription)
