"""Timelines: home, public, hashtag and list.

The reference gives each an `offset` (default 0). Mastodon's timelines page only by
`max_id`/`min_id` and ignore `offset` (only /api/v2/search takes it), so it is accepted for
compatibility and not sent.
"""

from __future__ import annotations

from typing import Any

from mastod.actions._registry import Id, action
from mastod.actions._types import Limit
from mastod.mastodon.client import Api


@action
async def get_home_timeline(
    api: Api,
    local: bool = False,
    only_media: bool = False,
    min_id: Id | None = None,
    max_id: Id | None = None,
    limit: Limit = 20,
    offset: int = 0,
    since_id: Id | None = None,
) -> list[dict[str, Any]]:
    """Get a list of statuses from the followed users.

    `local` and `only_media` are accepted for compatibility with the reference and not sent:
    Mastodon's home feed ignores them.
    """
    del offset, local, only_media  # not read by the home feed (see the module docstring)
    return await api.get("/api/v1/timelines/home", locals())


@action
async def get_public_timeline(
    api: Api,
    local: bool = False,
    remote: bool = False,
    only_media: bool = False,
    min_id: Id | None = None,
    max_id: Id | None = None,
    limit: Limit = 20,
    offset: int = 0,
    since_id: Id | None = None,
) -> list[dict[str, Any]]:
    """Get a list of statuses from the public timeline."""
    del offset  # not a timeline parameter (see the module docstring)
    return await api.get("/api/v1/timelines/public", locals())


@action
async def get_hashtag_timeline(
    api: Api,
    hashtag: str,
    local: bool = False,
    only_media: bool = False,
    min_id: Id | None = None,
    max_id: Id | None = None,
    limit: Limit = 20,
    offset: int = 0,
    since_id: Id | None = None,
    any: list[str] | None = None,
    all: list[str] | None = None,
    none: list[str] | None = None,
    remote: bool | None = None,
) -> list[dict[str, Any]]:
    """Get a list of statuses associated to a hashtag."""
    del offset  # not a timeline parameter (see the module docstring)
    return await api.get("/api/v1/timelines/tag/{hashtag}", locals())


@action
async def get_list_timeline(
    api: Api,
    list_id: Id,
    min_id: Id | None = None,
    max_id: Id | None = None,
    limit: Limit = 20,
    offset: int = 0,
    since_id: Id | None = None,
) -> list[dict[str, Any]]:
    """Get a list of statuses from a list timeline."""
    del offset  # not a timeline parameter (see the module docstring)
    return await api.get("/api/v1/timelines/list/{list_id}", locals())
