"""Featured hashtags of an account's profile."""

from __future__ import annotations

from typing import Any

from mastod.actions._registry import Id, action
from mastod.actions._types import Limit
from mastod.mastodon.client import Api


@action
async def get_featured_tags(
    api: Api,
    account_id: Id | None = None,
    max_id: Id | None = None,
    since_id: Id | None = None,
    limit: Limit = 20,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Retrieve the list of featured hashtags of an account (default: the current one)."""
    # Neither endpoint takes paging parameters (they return every featured tag): accepted
    # for compatibility with the reference and not sent.
    if account_id is not None:
        path = "/api/v1/accounts/{account_id}/featured_tags"
        return await api.get(path, {"account_id": account_id})
    return await api.get("/api/v1/featured_tags")


@action
async def add_featured_tag(api: Api, name: str) -> dict[str, Any]:
    """Add a featured tag to the current account."""
    return await api.post("/api/v1/featured_tags", locals())


@action
async def remove_featured_tag(api: Api, tag_id: Id) -> None:
    """Remove a featured tag from the current account."""
    await api.delete("/api/v1/featured_tags/{tag_id}", locals())
