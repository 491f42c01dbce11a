"""Fan-out: every stored notification to every subscription that wants it, in the order
stored, each subscription at its own pace.

One delivery path. What a subscription is to receive waits in its bounded `pending` queue,
and `_pump` hands it to the connection in batches (`frames.Output`), right after the step
that published it: a Unix socket with room in its buffer takes a batch in one write, with no
task switch. When the connection makes us wait (a full buffer, or an awaited WebSocket or
SSE send), one task awaits it and pumps again; meanwhile the queue grows, and a queue that
fills ends the subscription: its queue is freed and the client gets `dropped` with the
`since_id` to resume from. A client that stops reading delays nobody.

`since_id` is a position in the log: everything stored after the notification with that id,
in the order stored (Mastodon can make a lower id visible after a higher one; it comes later
here too). For an id the store does not hold, the rows stored before the subscription count
only if their id is newer (Mastodon's order); anything stored after it counts, except that
id itself (the subscriber has it: the log lost it in a torn write and a backfill brings it
again).

Replay then live, with no gap and no duplicate. Intake stores a notification and publishes it
in one synchronous step, and the store is read on the event loop, so at any moment a
notification is either both stored and published or neither. A replay reads the log page by
page, and in the same step as the read that finds nothing more, the subscription goes live:
whatever is published after that step is queued, whatever was published before it was read.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import sqlite3
from collections import deque
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field

from mastod.logs import get_logger
from mastod.notify.frames import (
    JSON_RPC,
    Closes,
    Frames,
    Item,
    Output,
    Subscriber,
    output,
    take,
)
from mastod.notify.store import NotificationStore, order_key
from mastod.tasks import TaskSet

log = get_logger(__name__)

REPLAY_PAGE = 100  # rows read from the store per step of a replay


@dataclass(eq=False)
class Subscription:
    id: str
    peer: Subscriber
    types: frozenset[str] | None
    out: Output
    position: str  # the resume point: the last notification handed over, else the start
    had: str | None = None  # a since_id the log did not hold: the subscriber has that one
    pending: deque[Item] = field(default_factory=deque)
    live: bool = False  # publish queues for it
    busy: bool = True  # not started, replaying or waiting on its connection: no `_pump`
    dropped: bool = False  # overflowed: `dropped` goes out after the current wait
    done: asyncio.Event = field(default_factory=asyncio.Event)  # ended, nothing more is sent
    task: asyncio.Task[None] | None = None  # its replay or its wait


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
        self._to_pump: dict[str, Subscription] = {}
        self._starting: dict[str, Subscription] = {}  # until `start_delivery`
        self._pump_handle: asyncio.Handle | None = None

    async def start(self) -> None:
        self._open = True

    async def close(self) -> None:
        self._open = False
        if self._pump_handle is not None:
            self._pump_handle.cancel()
            self._pump_handle = None
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

        With `since_id`, what was stored after it is replayed first ("" replays the whole
        log). With `start=False` nothing is sent until `start_delivery(id)`: the caller first
        sends its answer naming the subscription.
        """
        if not self._open:
            raise RuntimeError("the notification hub is not running")
        if since_id is not None:
            order_key(since_id)  # too long an id fails here, not in the replay
        sub_id = secrets.token_hex(8)
        sub = Subscription(
            id=sub_id,
            peer=peer,
            types=None if types is None else frozenset(types),
            out=output(peer, frames, sub_id),
            position=since_id if since_id is not None else (self.store.last_stored_id() or ""),
            live=since_id is None,  # else it goes live when the replay has caught up
        )
        self._subs[sub_id] = sub
        self._starting[sub_id] = sub
        self._by_peer.setdefault(peer, set()).add(sub_id)
        log.info(
            "hub.subscribed",
            subscription=sub_id,
            transport=peer.transport,
            types=None if types is None else sorted(types),
            since_id=since_id,
        )
        if start:
            self.start_delivery(sub_id)
        return sub_id

    def start_delivery(self, sub_id: str) -> None:
        sub = self._starting.pop(sub_id, None)
        if sub is None:
            return
        if sub.dropped:  # it overflowed before it started
            sub.task = self._tasks.spawn(self._wait(sub, None), name=f"notify.sub.{sub_id}")
        elif sub.live:
            sub.busy = False
            self._pump(sub)
        else:
            sub.task = self._tasks.spawn(self._replay(sub), name=f"notify.replay.{sub_id}")

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

    def position(self, sub_id: str) -> str | None:
        """Where the subscription stands in the log: its `since_id` (given, else the last
        stored notification when it began, "" for an empty log), then the last notification
        handed over. Subscribing again with it misses nothing; None: no such subscription."""
        sub = self._subs.get(sub_id)
        return None if sub is None else sub.position

    def finished(self, sub_id: str) -> asyncio.Event | None:
        """Set when the subscription has ended and sends nothing more (after `dropped`, if
        that is why); None if there is no such subscription."""
        sub = self._subs.get(sub_id)
        return None if sub is None else sub.done

    # -- fan-out ----------------------------------------------------------------------------

    def publish(self, notifications: Sequence[tuple[str, str, str]]) -> None:
        """Queue stored notifications (id, type, JSON text), in the order given, for every live
        subscription that wants their type; they go out after the current step, so a page
        published in one step leaves in one write per subscriber (per BATCH_BYTES). A page is
        one call: one pass over the subscriptions, not one per notification."""
        every = [(i, text, JSON_RPC.line_tail(text)) for i, _, text in notifications]
        to_pump = self._to_pump
        for sub in list(self._subs.values()):
            if not sub.live:
                continue
            if sub.types is None and sub.had is None:
                wanted = every
            else:  # `had`: stored again (re-fetched after a torn WAL), not new to it
                wanted = [
                    item
                    for item, (_, type_, _) in zip(every, notifications, strict=True)
                    if (sub.types is None or type_ in sub.types) and item[0] != sub.had
                ]
                if not wanted:
                    continue
            # The bound is for a connection that makes us wait: one that keeps up is pumped
            # after every step, so a page stored in one step (up to 80) never drops it.
            if sub.busy and len(sub.pending) + len(wanted) > self.queue_size:
                self._overflow(sub)
                continue
            sub.pending.extend(wanted)
            if not sub.busy:
                to_pump[sub.id] = sub
        if to_pump and self._pump_handle is None:
            self._pump_handle = asyncio.get_running_loop().call_soon(self._pump_queued)

    def _pump_queued(self) -> None:
        self._pump_handle = None
        subs, self._to_pump = self._to_pump, {}
        for sub in subs.values():
            if sub.live:
                self._pump(sub)

    def _pump(self, sub: Subscription) -> None:
        """Hand what is pending to the connection until it makes us wait; then a task waits
        for it and pumps again."""
        while sub.pending and not sub.busy:
            try:
                wait = self._write_batch(sub)
            except (ConnectionError, OSError) as exc:
                self._gone(sub, exc)
                return
            if wait is not None:
                sub.busy = True
                sub.task = self._tasks.spawn(self._wait(sub, wait), name=f"notify.sub.{sub.id}")

    def _write_batch(self, sub: Subscription) -> Awaitable[None] | None:
        items = take(sub.pending)
        sub.position = items[-1][0]
        return sub.out.write(items)

    async def _wait(self, sub: Subscription, wait: Awaitable[None] | None) -> None:
        try:
            if wait is not None:
                await wait
            if sub.dropped:
                await sub.out.dropped(sub.position)
                self._end(sub)
                return
        except (ConnectionError, OSError) as exc:
            self._gone(sub, exc)
            return
        sub.task, sub.busy = None, False
        self._pump(sub)

    def _overflow(self, sub: Subscription) -> None:
        sub.pending.clear()
        sub.dropped = True
        self._detach(sub)  # `dropped` still goes out, after what was handed over
        if not sub.busy:  # (else its wait sends it, or `start_delivery`)
            sub.busy = True
            sub.task = self._tasks.spawn(self._wait(sub, None), name=f"notify.sub.{sub.id}")
        log.warning(
            "hub.dropped", subscription=sub.id, transport=sub.peer.transport, queue=self.queue_size
        )

    def _gone(self, sub: Subscription, exc: BaseException) -> None:
        log.info("hub.peer_gone", subscription=sub.id, error=type(exc).__name__)
        self._end(sub)

    def _end(self, sub: Subscription) -> None:
        self._detach(sub)
        self._starting.pop(sub.id, None)
        sub.pending.clear()
        sub.done.set()
        if sub.task is not None and sub.task is not asyncio.current_task():
            sub.task.cancel()

    def _detach(self, sub: Subscription) -> None:
        sub.live = False
        self._subs.pop(sub.id, None)
        ids = self._by_peer.get(sub.peer)
        if ids is not None:
            ids.discard(sub.id)
            if not ids:
                del self._by_peer[sub.peer]

    # -- replay -----------------------------------------------------------------------------

    async def _replay(self, sub: Subscription) -> None:
        """Send what the log holds after the subscription's starting point, page by page, in
        the order stored; then go live in the step of the read that finds nothing more."""
        store, since_id = self.store, sub.position
        try:
            oldest = store.pruned_after(since_id)
            if oldest is not None:  # retention deleted part of what it asks for: say so first
                await sub.out.pruned(since_id, oldest)
            after = store.seq_of(since_id)
            newer_than, through = None, 0
            if after is None:  # not in the log: stored rows count by Mastodon's id order
                after, newer_than, through = 0, order_key(since_id), store.last_seq()
                sub.had = since_id
            while True:
                rows = store.page_by_seq(
                    after, sub.types, self.replay_page, newer_than=newer_than, through_seq=through
                )
                if not rows:
                    sub.live, sub.busy, sub.task = True, False, None  # same step as the read
                    return
                after = rows[-1][0]
                sub.pending.extend(
                    (i, text, JSON_RPC.line_tail(text)) for _, i, text in rows if i != sub.had
                )
                while sub.pending:
                    wait = self._write_batch(sub)
                    if wait is not None:
                        await wait
        except (ConnectionError, OSError) as exc:
            self._gone(sub, exc)
        except sqlite3.DatabaseError as exc:
            # a damaged page: the subscriber is told and its connection closes, so a client
            # waiting for more sees the end; the daemon goes on serving the others
            log.warning("hub.replay_failed", subscription=sub.id)
            store.faults.read_failed(exc)
            with contextlib.suppress(ConnectionError, OSError):
                await sub.out.failed(sub.position)
            self._end(sub)
            if isinstance(sub.peer, Closes):
                with contextlib.suppress(ConnectionError, OSError):
                    await sub.peer.close()
