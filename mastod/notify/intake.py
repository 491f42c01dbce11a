"""The one way in for notifications: Web Push, streaming and backfill all call `ingest`.

Each notification is shaped as `get_notifications` returns it, serialised once, stored (a
duplicate stops here: the same notification from push, streaming and backfill is delivered
once), then published. Store and publish happen in one synchronous step, with no await
between them; the hub's replay hand-over depends on that.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import structlog

from mastod.mastodon.shaping import shape
from mastod.notify.hub import Hub
from mastod.notify.store import MAX_ID_LENGTH, NotificationStore, encode

log = structlog.get_logger(__name__)


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

        A notification that cannot be handled is logged and skipped: it never stops the source.
        """
        try:
            checked = _check(notification)
            if checked is None:
                log.warning("intake.invalid", reason="not a notification entity")
                return False
            notification_id, type_ = checked
            if self.types is not None and type_ not in self.types:
                log.debug("intake.ignored_type", type=type_, id=notification_id)
                return False
            text = encode(shape(dict(notification)))
            if not self.store.add_text(notification_id, type_, text):
                self.duplicates += 1
                return False
            self.hub.publish(notification_id, type_, text)
        except Exception:
            log.exception("intake.failed")
            return False
        self.ingested += 1
        return True


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
