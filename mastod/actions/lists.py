"""Lists: the account's lists, their members, and the lists an account is in."""

from __future__ import annotations

from typing import Any

from mastod.actions._registry import Id, action
from mastod.actions._types import Limit, RepliesPolicy
from mastod.mastodon.client import Api


@action
async def get_lists(api: Api, list_id: Id | None = None) -> dict[str, Any] | list[dict[str, Any]]:
    """Get the lists owned by the logged user (one List if list_id is given, else all)."""
    if list_id is not None:
        return await api.get("/api/v1/lists/{list_id}", locals())
    return await api.get("/api/v1/lists")


@action
async def create_list(
    api: Api, title: str, replies_policy: RepliesPolicy = "list", exclusive: bool | None = None
) -> dict[str, Any]:
    """Create a new list."""
    return await api.post("/api/v1/lists", locals())


@action
async def update_list(
    api: Api,
    list_id: Id,
    title: str | None,
    replies_policy: RepliesPolicy | None = None,
    exclusive: bool | None = None,
) -> dict[str, Any]:
    """Update a list."""
    return await api.put("/api/v1/lists/{list_id}", locals())


@action
async def delete_list(api: Api, list_id: Id) -> None:
    """Delete a list."""
    await api.delete("/api/v1/lists/{list_id}", locals())


@action
async def get_list_accounts(
    api: Api,
    list_id: Id | None = None,
    min_id: Id | None = None,
    max_id: Id | None = None,
    limit: Limit = 20,
    since_id: Id | None = None,
) -> list[dict[str, Any]]:
    """Get the accounts in a list (`limit=0`: every member at once).

    `min_id` is accepted for compatibility with the reference and not sent: the endpoint
    reads only `max_id`, `since_id` and `limit`.
    """
    # list_id keeps the reference's default of None but is required: without it there is no
    # endpoint (the original plugin requested /lists/None/accounts).
    del min_id  # ignored by Mastodon's list accounts controller
    return await api.get("/api/v1/lists/{list_id}/accounts", locals())


@action
async def add_accounts_to_list(api: Api, list_id: Id, account_ids: list[Id]) -> None:
    """Add accounts to a list."""
    await api.post("/api/v1/lists/{list_id}/accounts", locals())


@action
async def remove_accounts_from_list(api: Api, list_id: Id, account_ids: list[Id]) -> None:
    """Remove accounts from a list."""
    await api.delete("/api/v1/lists/{list_id}/accounts", locals(), body=True)


@action
async def get_featured_lists(
    api: Api,
    account_id: Id,
    max_id: Id | None = None,
    since_id: Id | None = None,
    limit: Limit = 20,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Retrieve the lists that you have added a certain account to."""
    # The endpoint returns them all and takes no paging parameters: they are accepted for
    # compatibility with the reference and not sent.
    return await api.get("/api/v1/accounts/{account_id}/lists", {"account_id": account_id})
