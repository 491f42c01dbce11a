"""Statuses the account bookmarked or favourited.

Both endpoints page by the bookmark's/favourite's own id, not the status id: to go on from a
page, use `paginate`, which follows the server's Link cursors.
"""

from __future__ import annotations

from typing import Any

from mastod.actions._registry import Id, action
from mastod.actions._types import Limit
from mastod.mastodon.client import Api


@action
async def get_bookmarked_statuses(
    api: Api,
    min_id: Id | None = None,
    max_id: Id | None = None,
    limit: Limit = 20,
    since_id: Id | None = None,
) -> list[dict[str, Any]]:
    """Retrieve the list of statuses bookmarked by the user."""
    return await api.get("/api/v1/bookmarks", locals())


@action
async def get_favourited_statuses(
    api: Api,
    min_id: Id | None = None,
    max_id: Id | None = None,
    limit: Limit = 20,
    since_id: Id | None = None,
) -> list[dict[str, Any]]:
    """Retrieve the list of statuses favourited by the account."""
    return await api.get("/api/v1/favourites", locals())
