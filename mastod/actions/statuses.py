"""Statuses: publish, read, delete, and act on one (favourite, bookmark, reblog, pin, mute)."""

from __future__ import annotations

import uuid
from typing import Any

from mastod.actions._registry import Id, action
from mastod.actions._types import Poll, QuotePolicy, Visibility
from mastod.mastodon.client import Api


@action
async def publish_status(
    api: Api,
    status: str,
    in_reply_to_id: Id | None = None,
    media_ids: list[Id] | None = None,
    sensitive: bool | None = None,
    spoiler_text: str | None = None,
    visibility: Visibility | None = None,
    idempotency_key: str | None = None,
    poll: Poll | None = None,
    language: str | None = None,
    scheduled_at: str | None = None,
    quoted_status_id: Id | None = None,
    quote_approval_policy: QuotePolicy | None = None,
) -> dict[str, Any]:
    """Publish a new status.

    Returns the new Status; with `scheduled_at`, Mastodon returns a ScheduledStatus instead
    (`id`, `scheduled_at`, `params`, `media_attachments`) and publishes it at that time.
    """
    # One key per call, reused by every retry of it: Mastodon then creates one status even
    # if an earlier attempt did reach it (PROTOCOL.md §4.3). Callers may pass their own key
    # to make their own retries safe too.
    key = idempotency_key or str(uuid.uuid4())
    params = {
        "status": status,
        "in_reply_to_id": in_reply_to_id,
        "media_ids": media_ids,
        "sensitive": sensitive,
        "spoiler_text": spoiler_text,
        "visibility": visibility,
        "poll": poll,
        "language": language,
        "scheduled_at": scheduled_at,
        "quoted_status_id": quoted_status_id,
        "quote_approval_policy": quote_approval_policy,
    }
    return await api.post("/api/v1/statuses", params, headers={"Idempotency-Key": key})


@action
async def get_status(api: Api, status_id: Id) -> dict[str, Any]:
    """Get a status by ID."""
    return await api.get("/api/v1/statuses/{status_id}", locals())


@action
async def remove_status(
    api: Api, status_id: Id, delete_media: bool | None = None
) -> dict[str, Any]:
    """Remove a status by ID."""
    return await api.delete("/api/v1/statuses/{status_id}", locals())


@action
async def add_favourite_status(api: Api, status_id: Id) -> dict[str, Any]:
    """Favourite a status."""
    return await api.post("/api/v1/statuses/{status_id}/favourite", locals())


@action
async def remove_favourite_status(api: Api, status_id: Id) -> dict[str, Any]:
    """Undo a status favourite action."""
    return await api.post("/api/v1/statuses/{status_id}/unfavourite", locals())


@action
async def bookmark_status(api: Api, status_id: Id) -> dict[str, Any]:
    """Add a status to the bookmarks."""
    return await api.post("/api/v1/statuses/{status_id}/bookmark", locals())


@action
async def undo_bookmark_status(api: Api, status_id: Id) -> dict[str, Any]:
    """Remove a status from the bookmarks."""
    return await api.post("/api/v1/statuses/{status_id}/unbookmark", locals())


@action
async def reblog_status(
    api: Api, status_id: Id, visibility: Visibility | None = None
) -> dict[str, Any]:
    """Reblog (a.k.a. reshare/boost) a status."""
    return await api.post("/api/v1/statuses/{status_id}/reblog", locals())


@action
async def undo_reblog_status(api: Api, status_id: Id) -> dict[str, Any]:
    """Undo a status reblog."""
    return await api.post("/api/v1/statuses/{status_id}/unreblog", locals())


@action
async def pin_status(api: Api, status_id: Id) -> dict[str, Any]:
    """Pin a status to the profile."""
    return await api.post("/api/v1/statuses/{status_id}/pin", locals())


@action
async def unpin_status(api: Api, status_id: Id) -> dict[str, Any]:
    """Remove a pinned status."""
    return await api.post("/api/v1/statuses/{status_id}/unpin", locals())


@action
async def mute_status(api: Api, status_id: Id) -> dict[str, Any]:
    """Mute updates on a status."""
    return await api.post("/api/v1/statuses/{status_id}/mute", locals())


@action
async def unmute_status(api: Api, status_id: Id) -> dict[str, Any]:
    """Restore updates on a status."""
    return await api.post("/api/v1/statuses/{status_id}/unmute", locals())
