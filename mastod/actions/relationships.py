"""Relationships with other accounts: follow, block, mute, endorse (pin), private note.

Each action returns Mastodon's Relationship entity for the account.
"""

from __future__ import annotations

from typing import Any

from mastod.actions._registry import Id, action
from mastod.mastodon.client import Api


@action
async def follow_account(
    api: Api, account_id: Id, notify: bool = False, reblogs: bool = True
) -> dict[str, Any]:
    """Follow a given account ID."""
    return await api.post("/api/v1/accounts/{account_id}/follow", locals())


@action
async def unfollow_account(api: Api, account_id: Id) -> dict[str, Any]:
    """Unfollow a given account ID."""
    return await api.post("/api/v1/accounts/{account_id}/unfollow", locals())


@action
async def block_account(api: Api, account_id: Id) -> dict[str, Any]:
    """Block a given account ID."""
    return await api.post("/api/v1/accounts/{account_id}/block", locals())


@action
async def unblock_account(api: Api, account_id: Id) -> dict[str, Any]:
    """Unblock a given account ID."""
    return await api.post("/api/v1/accounts/{account_id}/unblock", locals())


@action
async def mute_account(api: Api, account_id: Id) -> dict[str, Any]:
    """Mute a given account ID."""
    return await api.post("/api/v1/accounts/{account_id}/mute", locals())


@action
async def unmute_account(api: Api, account_id: Id) -> dict[str, Any]:
    """Unmute a given account ID."""
    return await api.post("/api/v1/accounts/{account_id}/unmute", locals())


@action
async def pin_account(api: Api, account_id: Id) -> dict[str, Any]:
    """Pin a given account ID to your profile."""
    # /pin is deprecated since Mastodon 4.4 in favour of /endorse but still routed, and it is
    # the only one older servers (and servers copying the 4.x API) have.
    return await api.post("/api/v1/accounts/{account_id}/pin", locals())


@action
async def unpin_account(api: Api, account_id: Id) -> dict[str, Any]:
    """Unpin a given account ID from your profile."""
    return await api.post("/api/v1/accounts/{account_id}/unpin", locals())


@action
async def set_account_note(api: Api, account_id: Id, note: str) -> dict[str, Any]:
    """Set a private note for an account."""
    params = {"account_id": account_id, "comment": note}  # Mastodon's name is `comment`
    return await api.post("/api/v1/accounts/{account_id}/note", params)


@action
async def get_blocked_accounts(
    api: Api, max_id: Id | None = None, since_id: Id | None = None, limit: int = 20
) -> list[dict[str, Any]]:
    """Retrieve the list of blocked accounts."""
    return await api.get("/api/v1/blocks", locals())


@action
async def get_muted_accounts(
    api: Api, max_id: Id | None = None, since_id: Id | None = None, limit: int = 20
) -> list[dict[str, Any]]:
    """Retrieve the list of muted accounts."""
    return await api.get("/api/v1/mutes", locals())
