"""The connection side of dispatch: what a request came on (`current_peer`), connections
that can be pushed to (`PushPeer`) with the callbacks they run when they end, and work a
method defers until its reply has been sent (`after_reply`)."""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from mastod.logs import get_logger

log = get_logger(__name__)


class Peer(Protocol):
    """The client connection a request came on (the subscriptions issue pushes on it)."""

    transport: str


@runtime_checkable
class PushPeer(Protocol):
    """A peer on a connection (Unix socket, WebSocket): frames can be pushed on it, and it
    runs the `on_close` callbacks once when the connection ends."""

    transport: str

    async def send(self, frame: str) -> None: ...

    def on_close(self, callback: Callable[[], None]) -> None: ...


class CloseCallbacks:
    """What to run once when a connection ends (its subscriptions end with it)."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[[], None]] = []
        self.closed = False

    def add(self, callback: Callable[[], None]) -> None:
        if self.closed:
            callback()
        else:
            self._callbacks.append(callback)

    def fire(self) -> None:
        if self.closed:
            return
        self.closed = True
        callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            try:
                callback()
            except Exception:
                log.exception("rpc.close_callback_failed")


current_peer: contextvars.ContextVar[Peer | None] = contextvars.ContextVar(
    "current_peer", default=None
)
_after_reply: contextvars.ContextVar[list[Callable[[], None]] | None] = contextvars.ContextVar(
    "after_reply", default=None
)


def after_reply(callback: Callable[[], None]) -> None:
    """Run `callback` once the current request's reply has been handed to its connection
    (at once when there is no such reply to wait for). A subscription starts sending this
    way, so its `{"subscription": id}` answer arrives before its first notification."""
    pending = _after_reply.get()
    if pending is None:
        callback()
    else:
        pending.append(callback)


class Replying:
    """While a request is answered: the `after_reply` callbacks wait, and run when the
    reply has been sent (also when sending failed: they see the connection is gone). A class,
    not a generator-based context manager: it runs around every call."""

    __slots__ = ("_deferred", "_token")

    def __enter__(self) -> None:
        self._deferred: list[Callable[[], None]] = []
        self._token = _after_reply.set(self._deferred)

    def __exit__(self, *exc_info: object) -> None:
        _after_reply.reset(self._token)
        for callback in self._deferred:
            callback()
