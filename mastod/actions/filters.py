"""Filters, through Mastodon's v1 API (deprecated since 4.0, still served: one v1 filter per
keyword of a v2 filter)."""

from __future__ import annotations

from typing import Any

from mastod.actions._registry import Id, action
from mastod.actions._types import FilterContext
from mastod.mastodon.client import Api


@action
async def get_filters(api: Api) -> list[dict[str, Any]]:
    """Retrieve the list of filters created by the account."""
    return await api.get("/api/v1/filters")


@action
async def create_filter(
    api: Api,
    phrase: str,
    context: list[FilterContext],
    irreversible: bool | None = None,
    whole_word: bool | None = None,
    expires_in: int | None = None,
) -> dict[str, Any]:
    """Create a new filter."""
    return await api.post("/api/v1/filters", locals())


@action
async def update_filter(
    api: Api,
    filter_id: Id,
    phrase: str | None = None,
    context: list[FilterContext] | None = None,
    irreversible: bool | None = None,
    whole_word: bool | None = None,
    expires_in: int | None = None,
) -> dict[str, Any]:
    """Update a filter."""
    return await api.put("/api/v1/filters/{filter_id}", locals())


@action
async def remove_filter(api: Api, filter_id: Id) -> None:
    """Remove a filter."""
    await api.delete("/api/v1/filters/{filter_id}", locals())
