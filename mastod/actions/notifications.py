"""Notifications: read and dismiss."""

from __future__ import annotations

from typing import Any

from mastod.actions._registry import Id, action
from mastod.actions._types import Limit
from mastod.mastodon.client import Api


@action
async def get_notifications(
    api: Api,
    notification_id: Id | None = None,
    min_id: Id | None = None,
    max_id: Id | None = None,
    limit: Limit = 20,
    since_id: Id | None = None,
    types: list[str] | None = None,
    exclude_types: list[str] | None = None,
    account_id: Id | None = None,
) -> dict[str, Any] | list[dict[str, Any]]:
    """Get the list of notifications of the user (one notification if notification_id is given)."""
    if notification_id is not None:
        path = "/api/v1/notifications/{notification_id}"
        return await api.get(path, {"notification_id": notification_id})
    return await api.get("/api/v1/notifications", locals())


@action
async def dismiss_notifications(api: Api, notification_id: Id | None = None) -> None:
    """Dismiss notifications (only notification_id if given, else all of them)."""
    if notification_id is not None:
        await api.post("/api/v1/notifications/{notification_id}/dismiss", locals())
    else:
        await api.post("/api/v1/notifications/clear")
