"""Search accounts, hashtags and statuses."""

from __future__ import annotations

from typing import Any

from mastod.actions._registry import Id, action
from mastod.actions._types import Limit, SearchType
from mastod.mastodon.client import Api


@action
async def search(
    api: Api,
    query: str,
    type: SearchType | None = None,
    min_id: Id | None = None,
    max_id: Id | None = None,
    limit: Limit = 20,
    offset: int = 0,
    following: bool = False,
    resolve: bool | None = None,
    account_id: Id | None = None,
    exclude_unreviewed: bool | None = None,
) -> dict[str, Any]:
    """Perform a search."""
    # Mastodon's name for the query is `q`. v2 search pages by offset (honoured with `type`
    # set), not by Link headers. offset=0 is the server's default and is not sent: Mastodon
    # refuses any `offset` without a user token (401), which would break anonymous search.
    params = {
        "q": query,
        "type": type,
        "min_id": min_id,
        "max_id": max_id,
        "limit": limit,
        "offset": offset or None,
        "following": following,
        "resolve": resolve,
        "account_id": account_id,
        "exclude_unreviewed": exclude_unreviewed,
    }
    return await api.get("/api/v2/search", params)
