"""Fan-out: every stored notification to every subscription that wants it, each at its own pace.

A subscription belongs to a peer (a Unix-socket or WebSocket connection, an SSE response) and
has a bounded queue drained by its own writer task, so a client that stops reading delays
nobody: when its queue is full the subscription ends, its queue is freed, and the client gets
`dropped` with the `since_id` to resume from. What is sent is made in `frames`, from each
notification's JSON serialised once, by intake.

Direct writes: on a byte-stream peer (`WritesNow`, the Unix socket) an idle subscription is
written by the hub itself, right after the publishing step, as bytes made from the text encoded
once per notification, whatever is pending in one write of at most `frames.BATCH_BYTES` — as
long as the connection takes it without waiting. Otherwise (and for WebSocket and SSE peers)
the writer task drains the queue, awaiting the connection; it never overtakes what the hub
wrote.

Replay then live, with no gap and no duplicate. Intake stores a notification and publishes it
in one synchronous step, and the store is read on the event loop, so at any moment a
notification is either both stored and published or neither. A replay first sends what was
stored when it began (up to arrival number `snapshot`), in Mastodon id order; then what
arrived after `snapshot`, in arrival order, page by page; and in the same step as the read
that finds nothing more, the subscription goes live. Whatever is published after that step
is queued; whatever was published before it is in the store and was read.
"""

from __future__ import annotations

import asyncio
import secrets
import sqlite3
from collections import deque
from dataclasses import dataclass, field

from mastod.logs import get_logger
from mastod.notify.frames import (
    JSON_RPC,
    Frames,
    Item,
    Subscriber,
    WritesNow,
    batch,
    lines,
)
from mastod.notify.store import NotificationStore, order_key
from mastod.tasks import TaskSet

log = get_logger(__name__)

REPLAY_PAGE = 100  # rows read from the store per step of a replay
_DROPPED = None  # the queue entry that tells the writer to send `dropped` and stop


@dataclass(eq=False)
class Subscription:
    id: str
    peer: Subscriber
    types: frozenset[str] | None
    frames: Frames
    replay_from: str | None  # since_id: replay stored notifications after it first
    position: str  # the resume point: greatest id delivered, else where it started
    live: bool = False
    ended: bool = False
    idle: bool = False  # its writer waits for work: the hub may write for it (`direct`)
    direct: WritesNow | None = None  # the peer, if it takes byte frames in batches
    head: bytes = b""  # with `direct`: the start of each of its frames
    replay_key: str | None = field(init=False)  # order_key(replay_from), for publish
    flagged: bool = False  # in the hub's list of subscriptions to flush
    pending: deque[Item | None] = field(default_factory=deque)
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    gate: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None

    def __post_init__(self) -> None:
        self.replay_key = None if self.replay_from is None else order_key(self.replay_from)


class Hub:
    """Subscriptions and fan-out. `start()`/`close()` bracket it (one cleanup context)."""

    def __init__(
        self, store: NotificationStore, *, queue_size: int, replay_page: int = REPLAY_PAGE
    ) -> None:
        if queue_size < 1:
            raise ValueError("queue_size must be positive")
        self.store = store
        self.queue_size = queue_size
        self.replay_page = replay_page
        self._subs: dict[str, Subscription] = {}
        self._by_peer: dict[Subscriber, set[str]] = {}
        self._tasks = TaskSet("notify.hub")
        self._open = False
        self._to_flush: list[Subscription] = []
        self._flush_handle: asyncio.Handle | None = None

    async def start(self) -> None:
        self._open = True

    async def close(self) -> None:
        self._open = False
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        for sub in list(self._subs.values()):
            self._end(sub)
        await self._tasks.cancel()

    @property
    def subscriber_count(self) -> int:
        return len(self._subs)

    def queued(self, sub_id: str) -> int | None:
        """Notifications waiting in a subscription's queue (None: no such subscription)."""
        sub = self._subs.get(sub_id)
        return None if sub is None else len(sub.pending)

    # -- subscriptions ----------------------------------------------------------------------

    def subscribe(
        self,
        peer: Subscriber,
        types: set[str] | None = None,
        since_id: str | None = None,
        *,
        frames: Frames = JSON_RPC,
        start: bool = True,
    ) -> str:
        """A new subscription for `peer`; its id.

        With `since_id`, stored notifications after it are replayed first ("" replays the
        whole log). With `start=False` nothing is sent until `start_delivery(id)`: the caller
        first sends its answer naming the subscription.
        """
        if not self._open:
            raise RuntimeError("the notification hub is not running")
        if since_id is not None:
            order_key(since_id)  # too long an id fails here, not in the writer
        sub_id = secrets.token_hex(8)
        sub = Subscription(
            id=sub_id,
            peer=peer,
            types=None if types is None else frozenset(types),
            frames=frames,
            replay_from=since_id,
            position=since_id if since_id is not None else (self.store.newest_id() or ""),
            live=since_id is None,  # else it goes live when the replay has caught up
            direct=peer if isinstance(peer, WritesNow) and frames is JSON_RPC else None,
        )
        if sub.direct is not None:
            sub.head = JSON_RPC.line_head(sub_id)
        self._subs[sub_id] = sub
        self._by_peer.setdefault(peer, set()).add(sub_id)
        sub.task = self._tasks.spawn(self._run(sub), name=f"notify.sub.{sub_id}")
        if start:
            sub.gate.set()
        log.info(
            "hub.subscribed",
            subscription=sub_id,
            transport=peer.transport,
            types=None if types is None else sorted(types),
            since_id=since_id,
        )
        return sub_id

    def start_delivery(self, sub_id: str) -> None:
        sub = self._subs.get(sub_id)
        if sub is not None:
            sub.gate.set()

    def unsubscribe(self, sub_id: str, peer: Subscriber) -> bool:
        """End a subscription of `peer`'s; False if it has none by that id."""
        sub = self._subs.get(sub_id)
        if sub is None or sub.peer is not peer:
            return False
        self._end(sub)
        log.info("hub.unsubscribed", subscription=sub_id, transport=peer.transport)
        return True

    def drop_peer(self, peer: Subscriber) -> None:
        """End every subscription of `peer` (its connection closed)."""
        for sub_id in list(self._by_peer.get(peer, ())):
            self._end(self._subs[sub_id])

    def writer(self, sub_id: str) -> asyncio.Task[None] | None:
        """The task that sends a subscription's frames; it ends when the subscription does
        (after sending `dropped`, if that is why)."""
        sub = self._subs.get(sub_id)
        return None if sub is None else sub.task

    # -- fan-out ----------------------------------------------------------------------------

    def publish(self, notification_id: str, type_: str, json_text: str) -> None:
        """Queue a stored notification for every live subscription that wants its type."""
        item = (notification_id, json_text, JSON_RPC.line_tail(json_text))
        key = order_key(notification_id)
        for sub in list(self._subs.values()):
            if not sub.live or (sub.types is not None and type_ not in sub.types):
                continue
            if sub.replay_key is not None and key <= sub.replay_key:
                continue  # the subscriber already has it (e.g. re-fetched after a torn WAL)
            pending = sub.pending
            if len(pending) >= self.queue_size:
                self._overflow(sub)
                continue
            pending.append(item)
            if sub.idle and sub.direct is not None:
                if not sub.flagged:
                    sub.flagged = True
                    self._to_flush.append(sub)
            else:
                sub.wakeup.set()
        if self._to_flush and self._flush_handle is None:
            # after the current step: a backfilled page is published in one step, and
            # leaves in one write per subscriber
            self._flush_handle = asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        """Write what is pending for idle subscriptions straight to their connections; a
        connection that would make us wait is left to the subscription's writer."""
        self._flush_handle = None
        subs, self._to_flush = self._to_flush, []
        for sub in subs:
            sub.flagged = False
            pending = sub.pending
            if sub.ended or not pending:  # (an overflow, which queues `dropped`, ends it)
                continue
            if not sub.idle or sub.direct is None:
                sub.wakeup.set()
                continue
            items = batch(pending)
            try:
                written = sub.direct.write_now(lines(sub.head, items))
            except Exception:  # the writer meets the same error and ends the subscription
                log.exception("hub.write_failed", subscription=sub.id)
                written = False
            if written:
                for _ in items:
                    pending.popleft()
                _advance(sub, _newest(items))
            if pending:  # more than one batch, or not written: the writer goes on
                sub.wakeup.set()

    def _overflow(self, sub: Subscription) -> None:
        sub.pending.clear()
        sub.pending.append(_DROPPED)
        sub.wakeup.set()
        self._detach(sub)  # the writer still sends `dropped`, then stops
        log.warning(
            "hub.dropped", subscription=sub.id, transport=sub.peer.transport, queue=self.queue_size
        )

    def _end(self, sub: Subscription) -> None:
        self._detach(sub)
        sub.pending.clear()
        if sub.task is not None and sub.task is not asyncio.current_task():
            sub.task.cancel()

    def _detach(self, sub: Subscription) -> None:
        sub.ended = True
        sub.live = False
        self._subs.pop(sub.id, None)
        ids = self._by_peer.get(sub.peer)
        if ids is not None:
            ids.discard(sub.id)
            if not ids:
                del self._by_peer[sub.peer]

    # -- one subscription's writer ------------------------------------------------------------

    async def _run(self, sub: Subscription) -> None:
        try:
            await sub.gate.wait()
            if sub.replay_from is not None and not await self._replay_checked(sub):
                return
            while True:
                while not sub.pending:
                    sub.wakeup.clear()
                    sub.idle = True
                    try:
                        await sub.wakeup.wait()
                    finally:
                        sub.idle = False
                if sub.direct is not None and sub.pending[0] is not _DROPPED:
                    await self._deliver_all(sub, sub.direct)
                    continue
                item = sub.pending.popleft()
                if item is _DROPPED:
                    await sub.peer.send(sub.frames.dropped(sub.id, sub.position))
                    return
                await self._deliver(sub, item[0], item[1])
        except (ConnectionError, OSError) as exc:
            log.info("hub.peer_gone", subscription=sub.id, error=type(exc).__name__)
        finally:
            self._detach(sub)

    async def _replay_checked(self, sub: Subscription) -> bool:
        """The replay, after a `pruned` marker if retention deleted part of what it asks for.
        False if the store could not be read (a damaged page): the subscriber got `failed`
        and the subscription ends; the daemon goes on."""
        since_id = sub.replay_from or ""
        try:
            oldest = self.store.pruned_after(since_id)
            if oldest is not None:
                await sub.peer.send(sub.frames.pruned(sub.id, since_id, oldest))
            await self._replay(sub, since_id)
        except sqlite3.DatabaseError as exc:
            log.warning("hub.replay_failed", subscription=sub.id)
            self.store.faults.read_failed(exc)
            await sub.peer.send(sub.frames.failed(sub.id, sub.position))
            return False
        return True

    async def _replay(self, sub: Subscription, since_id: str) -> None:
        store, page = self.store, self.replay_page
        snapshot = store.last_seq()
        after = order_key(since_id)
        while True:  # what was stored when the replay began, in id order
            rows = store.page_by_id(after, sub.types, page, max_seq=snapshot)
            for notification_id, text in rows:
                await self._deliver(sub, notification_id, text)
            if len(rows) < page:
                break
            after = order_key(rows[-1][0])
        seq = snapshot
        while not sub.ended:  # what arrived meanwhile, in arrival order, until caught up
            newer = store.page_by_seq(seq, sub.types, page)
            if not newer:
                sub.live = True  # same step as the read: nothing can slip in between
                return
            for _, notification_id, text in newer:
                await self._deliver(sub, notification_id, text)
            seq = newer[-1][0]

    async def _deliver_all(self, sub: Subscription, peer: WritesNow) -> None:
        """What is pending (up to a `dropped` marker, at most BATCH_BYTES) in one write."""
        items = batch(sub.pending)
        for _ in items:
            sub.pending.popleft()
        await peer.send_all(lines(sub.head, items))
        _advance(sub, _newest(items))

    async def _deliver(self, sub: Subscription, notification_id: str, json_text: str) -> None:
        await sub.peer.send(sub.frames.notification(sub.id, notification_id, json_text))
        _advance(sub, notification_id)


def _advance(sub: Subscription, delivered_id: str) -> None:
    """Move the resume point past a notification just delivered."""
    if not sub.position or order_key(delivered_id) > order_key(sub.position):
        sub.position = delivered_id


def _newest(items: list[Item]) -> str:
    return max((item[0] for item in items), key=order_key)
