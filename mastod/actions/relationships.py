"""Relationships with other accounts: follow, block, mute, endorse (pin), private note.

Each action returns Mastodon's Relationship entity for the account.
"""

from __future__ import annotations

from typing import Any

from mastod.actions._registry import Id, action
from mastod.actions._types import Limit
from mastod.mastodon.client import Api
from mastod.mastodon.errors import NotFound

# What `Api.quirks` holds for an instance once known: the endorse verbs it routes.
_ENDORSE = "endorse-verbs"


@action
async def follow_account(
    api: Api,
    account_id: Id,
    notify: bool | None = None,
    reblogs: bool | None = None,
    languages: list[str] | None = None,
) -> dict[str, Any]:
    """Follow a given account ID.

    `notify`, `reblogs` and `languages` are sent only when given: Mastodon applies every
    one it receives to an existing follow, so leaving them out keeps what is set (a new
    follow gets Mastodon's defaults: no bell, reblogs shown, all languages).
    """
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
async def mute_account(
    api: Api, account_id: Id, notifications: bool | None = None, duration: int | None = None
) -> dict[str, Any]:
    """Mute a given account ID."""
    return await api.post("/api/v1/accounts/{account_id}/mute", locals())


@action
async def unmute_account(api: Api, account_id: Id) -> dict[str, Any]:
    """Unmute a given account ID."""
    return await api.post("/api/v1/accounts/{account_id}/unmute", locals())


@action
async def pin_account(api: Api, account_id: Id) -> dict[str, Any]:
    """Pin a given account ID to your profile (feature it: Mastodon's "endorse").

    Sent as `POST /api/v1/accounts/:id/endorse` (Mastodon 4.4+); an older server, which
    answers 404 there, gets the deprecated `/pin`, and that choice is remembered per instance.
    """
    return await endorsement(api, account_id, "endorse", "pin")


@action
async def unpin_account(api: Api, account_id: Id) -> dict[str, Any]:
    """Unpin a given account ID from your profile (`/unendorse`, or `/unpin` on older servers)."""
    return await endorsement(api, account_id, "unendorse", "unpin")


@action
async def set_account_note(api: Api, account_id: Id, note: str) -> dict[str, Any]:
    """Set a private note for an account."""
    params = {"account_id": account_id, "comment": note}  # Mastodon's name is `comment`
    return await api.post("/api/v1/accounts/{account_id}/note", params)


@action
async def get_blocked_accounts(
    api: Api, max_id: Id | None = None, since_id: Id | None = None, limit: Limit = 20
) -> list[dict[str, Any]]:
    """Retrieve the list of blocked accounts."""
    return await api.get("/api/v1/blocks", locals())


@action
async def get_muted_accounts(
    api: Api, max_id: Id | None = None, since_id: Id | None = None, limit: Limit = 20
) -> list[dict[str, Any]]:
    """Retrieve the list of muted accounts."""
    return await api.get("/api/v1/mutes", locals())


async def endorsement(api: Api, account_id: Id, verb: str, legacy: str) -> dict[str, Any]:
    """POST the 4.4 endorse verb, or the legacy one where the instance lacks it.

    A 404 is both "no such route" (an older server) and "no such account"; only the legacy
    verb answering where the new one did not shows the server is old, so the choice is
    remembered only then (and on a success of the new verb).
    """
    quirks = api.quirks
    params = {"account_id": account_id}
    if quirks.get(_ENDORSE) == "legacy":
        return await api.post(f"/api/v1/accounts/{{account_id}}/{legacy}", params)
    try:
        result = await api.post(f"/api/v1/accounts/{{account_id}}/{verb}", params)
    except NotFound:
        if quirks.get(_ENDORSE) == "current":
            raise
        result = await api.post(f"/api/v1/accounts/{{account_id}}/{legacy}", params)
        quirks[_ENDORSE] = "legacy"
        return result
    quirks[_ENDORSE] = "current"
    return result
