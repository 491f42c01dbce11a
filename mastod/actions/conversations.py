"""Direct conversations."""

from __future__ import annotations

from typing import Any

from mastod.actions._registry import Id, action
from mastod.actions._types import Limit
from mastod.mastodon.client import Api


@action
async def get_conversations(
    api: Api,
    min_id: Id | None = None,
    max_id: Id | None = None,
    limit: Limit = 20,
    since_id: Id | None = None,
) -> list[dict[str, Any]]:
    """Get a list of user conversations."""
    return await api.get("/api/v1/conversations", locals())


@action
async def remove_conversation(api: Api, conversation_id: Id) -> None:
    """Remove a conversation by ID."""
    await api.delete("/api/v1/conversations/{conversation_id}", locals())


@action
async def mark_conversation_as_read(api: Api, conversation_id: Id) -> dict[str, Any]:
    """Mark a conversation as read."""
    return await api.post("/api/v1/conversations/{conversation_id}/read", locals())
