"""Accounts: read one, its statuses and its social graph; update our own profile."""

from __future__ import annotations

from typing import Any

from mastod.actions._registry import File, Id, action
from mastod.actions._types import Limit, Privacy
from mastod.mastodon.client import Api


@action
async def get_account(api: Api, account_id: Id) -> dict[str, Any]:
    """Retrieve an account by ID."""
    return await api.get("/api/v1/accounts/{account_id}", locals())


@action
async def get_statuses(
    api: Api,
    account_id: Id,
    min_id: Id | None = None,
    max_id: Id | None = None,
    limit: Limit = 20,
    offset: int = 0,
    since_id: Id | None = None,
    pinned: bool | None = None,
    tagged: str | None = None,
    only_media: bool | None = None,
    exclude_replies: bool | None = None,
    exclude_reblogs: bool | None = None,
) -> list[dict[str, Any]]:
    """Retrieve statuses by account ID."""
    del offset  # Mastodon pages account statuses by max_id/min_id only; it ignores offset
    return await api.get("/api/v1/accounts/{account_id}/statuses", locals())


@action
async def get_followers(
    api: Api,
    account_id: Id,
    max_id: Id | None = None,
    since_id: Id | None = None,
    limit: Limit = 20,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Retrieve the list of followers of an account."""
    del offset  # not a parameter of this endpoint; page with `paginate` (Link cursors)
    return await api.get("/api/v1/accounts/{account_id}/followers", locals())


@action
async def get_following(
    api: Api,
    account_id: Id,
    max_id: Id | None = None,
    since_id: Id | None = None,
    limit: Limit = 20,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Retrieve the list of accounts followed by a specified account."""
    del offset  # not a parameter of this endpoint; page with `paginate` (Link cursors)
    return await api.get("/api/v1/accounts/{account_id}/following", locals())


@action
async def update_account(
    api: Api,
    discoverable: bool | None = None,
    bot: bool | None = None,
    display_name: str | None = None,
    note: str | None = None,
    avatar: File | None = None,
    header: File | None = None,
    locked: bool | None = None,
    privacy: Privacy | None = None,
    sensitive: bool | None = None,
    language: str | None = None,
    metadata: list[dict[str, str]] | None = None,
    hide_collections: bool | None = None,
    indexable: bool | None = None,
    attribution_domains: list[str] | None = None,
    avatar_description: str | None = None,
    header_description: str | None = None,
) -> dict[str, Any]:
    """Update the properties of the account associated to the access token."""
    # Mastodon's names: posting defaults live under `source[...]`, profile fields are
    # `fields_attributes[i][name]`/`[value]`; avatar and header are files (multipart).
    params = {
        "discoverable": discoverable,
        "bot": bot,
        "display_name": display_name,
        "note": note,
        "locked": locked,
        "source": {"privacy": privacy, "sensitive": sensitive, "language": language},
        "fields_attributes": metadata,
        "hide_collections": hide_collections,
        "indexable": indexable,
        "attribution_domains": attribution_domains,
        "avatar_description": avatar_description,
        "header_description": header_description,
    }
    files = {"avatar": avatar, "header": header}
    return await api.patch("/api/v1/accounts/update_credentials", params, files=files)
