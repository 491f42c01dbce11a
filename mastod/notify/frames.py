"""What subscribers are and what the hub sends them: the peer protocols, the frames of each
transport, and the batching of byte frames for peers that take several at once.

Notifications are serialised once, by intake; a frame is assembled around that JSON text
(for byte-stream peers, around its bytes, encoded once per notification), never re-encoded
per subscriber.
"""

from __future__ import annotations

import json
from collections import deque
from typing import Protocol, runtime_checkable

# Notifications joined into one write, by size: enough to spare most syscalls, small enough
# that a thousand slow subscribers do not each hold a large batch in memory.
BATCH_BYTES = 32 * 1024


class Subscriber(Protocol):
    """A connection frames can be pushed on."""

    transport: str

    async def send(self, frame: str) -> None: ...


@runtime_checkable
class WritesNow(Protocol):
    """A subscriber on a byte stream of newline-terminated JSON-RPC frames (the Unix socket).

    The hub writes for its idle subscriptions itself, with no task switch per delivery;
    frames are bytes made from the notification's JSON encoded once, and notifications that
    are pending together leave in one write."""

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


def batch(pending: deque[Item | None]) -> list[Item]:
    """The first pending notifications, up to a `dropped` marker (None) and about
    BATCH_BYTES (at least one)."""
    items: list[Item] = []
    size = 0
    for item in pending:
        if item is None or (items and size + len(item[2]) > BATCH_BYTES):
            break
        items.append(item)
        size += len(item[2])
    return items


def lines(head: bytes, items: list[Item]) -> bytes:
    """The byte frames of `items` for the subscription whose frames start with `head`."""
    if len(items) == 1:
        return head + items[0][2]
    return b"".join(part for item in items for part in (head, item[2]))
