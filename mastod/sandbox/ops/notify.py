"""Creating notifications: the single entry point for every kind."""

from __future__ import annotations

import logging

from mastod.sandbox import records as r
from mastod.sandbox.state import Sandbox
from mastod.sandbox.views.base import View
from mastod.sandbox.views.misc import notification as render_notification
from mastod.sandbox.views.statuses import thread_root

log = logging.getLogger(__name__)


def notify(
    sb: Sandbox, recipient: str, kind: str, from_id: str, status_id: str | None = None
) -> r.Notification | None:
    """Store a notification for `recipient` and call every `Sandbox.on_notification` callback.

    Returns None where Mastodon would not notify: about oneself, from a blocked or
    notification-muted account, or about a muted thread.
    """
    if recipient == from_id or recipient not in sb.accounts:
        return None
    if (recipient, from_id) in sb.blocks:
        return None
    mute = sb.mutes.get((recipient, from_id))
    if mute is not None and mute.notifications:
        return None
    if status_id is not None and status_id in sb.statuses:
        root = thread_root(View(sb, recipient), sb.statuses[status_id])
        if (recipient, root.id) in sb.muted_threads:
            return None
    row = r.Notification(sb.next_id("notification"), recipient, kind, from_id, sb.now(), status_id)
    row.filtered = (recipient, from_id) in sb.filtered_senders
    if sb.uncommitted_notifications > 0:
        sb.uncommitted_notifications -= 1
        row.committed = False
    sb.notifications[row.id] = row
    if row.committed and not row.filtered:
        _announce(sb, row)
    return row


def commit(sb: Sandbox, notification_id: str) -> None:
    """Make an uncommitted notification visible, and push and stream it, now."""
    row = sb.notifications[notification_id]
    if not row.committed:
        row.committed = True
        if not row.filtered:
            _announce(sb, row)


def accept_request(sb: Sandbox, recipient: str, sender: str) -> list[str]:
    """Accept the notification request of `sender`: its notifications are un-filtered
    (UnfilterNotificationsWorker: not pushed, not streamed one by one) and the recipient's
    streams get `notifications_merged`. Returns the ids un-filtered."""
    sb.filtered_senders.discard((recipient, sender))
    merged = []
    for row in sb.notifications.values():
        if row.account_id == recipient and row.from_account_id == sender and row.filtered:
            row.filtered = False
            merged.append(row.id)
    sb.streams.publish_merged(recipient)
    return merged


def _announce(sb: Sandbox, row: r.Notification) -> None:
    entity = render_notification(View(sb, row.account_id), row)
    for callback in list(sb.on_notification):
        try:
            callback(row.account_id, entity)
        except Exception:
            # A listener's failure (a push or streaming hook) must not fail the request.
            log.exception("sandbox notification callback failed")


def forget_status(sb: Sandbox, status_id: str) -> None:
    """Drop the notifications about a status that is gone."""
    for key in [k for k, n in sb.notifications.items() if n.status_id == status_id]:
        del sb.notifications[key]


def withdraw(
    sb: Sandbox, recipient: str, kind: str, from_id: str, status_id: str | None = None
) -> None:
    """Remove the notification of an undone activity (Mastodon destroys it with the activity)."""
    for key, n in list(sb.notifications.items()):
        if (n.account_id, n.type, n.from_account_id, n.status_id) == (
            recipient,
            kind,
            from_id,
            status_id,
        ):
            del sb.notifications[key]
