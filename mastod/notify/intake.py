"""The one way in for notifications: Web Push, streaming and backfill all call `ingest`.

Each notification is shaped as `get_notifications` returns it, serialised once, stored (a
duplicate stops here: the same notification from push, streaming and backfill is delivered
once), then published. Store and publish happen in one synchronous step, with no await
between them; the hub's replay hand-over depends on that.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from mastod.logs import get_logger
from mastod.mastodon.shaping import shape
from mastod.notify.hub import Hub
from mastod.notify.store import MAX_ID_LENGTH, NotificationStore, StoreFailed, encode

log = get_logger(__name__)


class Intake:
    """`types`: the notification types the daemon delivers (config `notifications.types`);
    None delivers every type. Others are ignored before they are stored."""

    def __init__(
        self, store: NotificationStore, hub: Hub, *, types: Collection[str] | None = None
    ) -> None:
        self.store = store
        self.hub = hub
        self.types = None if types is None else frozenset(types)
        self.ingested = 0
        self.duplicates = 0

    async def ingest(self, notification: Mapping[str, Any]) -> bool:
        """Store and fan out one Mastodon Notification entity; True if it was new.

        A notification that cannot be handled is logged and skipped; StoreFailed if the store
        cannot be written (the source retries).
        """
        return await self.ingest_many([notification]) == 1

    async def ingest_many(
        self, notifications: Sequence[Mapping[str, Any]], *, shaped: bool = False
    ) -> int:
        """Store several notifications in one transaction, then fan them out, in the order
        given (a backfilled page, oldest first); how many were new. `shaped`: they were
        decoded by `shaping.loads` (the request core's responses are), so `shape` would
        change nothing and is skipped.

        Store and publish stay one synchronous step. If the transaction fails for another
        reason than the store (a bug), each notification is tried on its own, so one bad row
        costs only itself. StoreFailed is raised after publishing what was stored before it.
        """
        ready = [item for n in notifications if (item := self._prepare(n, shaped)) is not None]
        if len(ready) > 1:
            try:
                with self.store.transaction():
                    stored: list[bool | None] = [self.store.add_text(*item) for item in ready]
            except StoreFailed:
                raise  # nothing of the page was stored
            except Exception:
                log.exception("intake.batch_failed", count=len(ready))
            else:
                return self._publish(ready, stored)  # after the commit, never before
        stored = []
        try:
            for item in ready:
                stored.append(self._store(item))
        except StoreFailed:
            self._publish(ready[: len(stored)], stored)
            raise
        return self._publish(ready, stored)

    def _store(self, item: tuple[str, str, str]) -> bool | None:
        """Store one notification: True if new, False if a duplicate, None if it failed
        (StoreFailed: the store, not the notification, failed)."""
        try:
            return self.store.add_text(*item)
        except StoreFailed:
            raise
        except Exception:
            log.exception("intake.failed")
            return None

    def _prepare(
        self, notification: Mapping[str, Any], shaped: bool
    ) -> tuple[str, str, str] | None:
        """(id, type, JSON text) of a notification to store, or None (logged) if it is not
        one, is of an ignored type or cannot be encoded."""
        try:
            checked = _check(notification)
            if checked is None:
                log.warning("intake.invalid", reason="not a notification entity")
                return None
            notification_id, type_ = checked
            if self.types is not None and type_ not in self.types:
                log.debug("intake.ignored_type", type=type_, id=notification_id)
                return None
            return (
                notification_id,
                type_,
                encode(notification if shaped else shape(dict(notification))),
            )
        except Exception:
            log.exception("intake.failed")
            return None

    def _publish(self, ready: list[tuple[str, str, str]], stored: list[bool | None]) -> int:
        """Fan out what was newly stored; count it and the duplicates."""
        new = [item for item, added in zip(ready, stored, strict=True) if added]
        if new:
            try:
                self.hub.publish(new)
            except Exception:  # stored: a subscriber resuming from its since_id still gets it
                log.exception("intake.publish_failed", ids=[item[0] for item in new])
        self.ingested += len(new)
        self.duplicates += stored.count(False)
        return len(new)


def _check(notification: object) -> tuple[str, str] | None:
    """(id, type) of something shaped like a Notification entity, else None."""
    if not isinstance(notification, Mapping):
        return None
    raw_id, type_ = notification.get("id"), notification.get("type")
    if isinstance(raw_id, bool) or not isinstance(raw_id, str | int) or not isinstance(type_, str):
        return None
    notification_id = str(raw_id)
    if not notification_id or len(notification_id) > MAX_ID_LENGTH:
        return None
    if not notification_id.isprintable() or not type_:
        return None  # an SSE `id:` line or a log line must not be split by it
    return notification_id, type_
