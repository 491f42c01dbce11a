"""`paginate`: several pages of a list action, following the server's Link cursors.

Not an action of the reference (so not marked): the RPC layer registers it beside them, with
the same calling convention (an `Api` first, then the parameters below, plus `base_url` and
`access_token`).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from mastod.actions._registry import ActionFn, collect
from mastod.actions._types import Range
from mastod.mastodon.client import Api, PageCapture
from mastod.mastodon.errors import InvalidParam
from mastod.mastodon.pagination import Page, cursor_of

MAX_PAGES = 20

# The list actions whose Mastodon endpoint pages with Link headers (PROTOCOL.md §1.4, §4.1).
# Search pages by offset, and lists, filters, featured tags return everything at once.
PAGINATED = frozenset(
    {
        "get_blocked_accounts",
        "get_bookmarked_statuses",
        "get_conversations",
        "get_favourited_statuses",
        "get_followers",
        "get_following",
        "get_hashtag_timeline",
        "get_home_timeline",
        "get_list_accounts",
        "get_list_timeline",
        "get_muted_accounts",
        "get_notifications",
        "get_public_timeline",
        "get_statuses",
    }
)


async def paginate(
    api: Api,
    method: str,
    params: dict[str, Any] | None = None,
    pages: Annotated[int, Range(1, MAX_PAGES)] = 1,
    direction: Literal["next", "prev"] = "next",
    cursor: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Fetch up to `pages` pages of a list method, following the server's Link cursors.

    `method` names a list action (`get_home_timeline`, `get_followers`, ...) and `params` its
    parameters (path ones such as `account_id` are needed on every call). Without `cursor`
    the first page is the one `params` ask for; with it (a `next` or `prev` object returned
    by an earlier call), the cursor is the query and paging goes on from there. Pages are
    fetched in `direction` (`next`: older, `prev`: newer) until `pages`, or until the server
    has no further link or returns an empty page. Returns `{"items": [...], "next": cursor or
    null, "prev": cursor or null}`: items in the order fetched; `next`/`prev` continue beyond
    the whole range. Cursors are the server's (bookmarks, favourites, followers, ... page by
    ids that are not the ids of the items), so never build one from an item's id.
    """
    action = _list_action(method)
    call_params = dict(params or {})
    try:
        inspect.signature(action).bind(api, **call_params)
    except TypeError as exc:
        raise InvalidParam("params", str(exc)) from None
    if not 1 <= pages <= MAX_PAGES:
        raise InvalidParam("pages", f"must be between 1 and {MAX_PAGES}")
    if direction not in ("next", "prev"):
        raise InvalidParam("direction", "must be 'next' or 'prev'")
    fetched: list[Page] = []
    position: Mapping[str, Any] | None = cursor
    while len(fetched) < pages:
        page = await _one_page(api, action, call_params, position)
        fetched.append(page)
        position = page.next if direction == "next" else page.prev
        if position is None or not page.items:
            break
    first, last = fetched[0], fetched[-1]
    items = [item for page in fetched for item in page.items]
    if direction == "next":
        return {"items": items, "next": last.next, "prev": first.prev}
    return {"items": items, "next": first.next, "prev": last.prev}


def _list_action(method: str) -> ActionFn:
    name = method.removeprefix("mastodon.")
    if name not in PAGINATED:
        raise InvalidParam("method", f"{method!r} is not a list method that pages by Link")
    return _actions()[name]


@functools.cache
def _actions() -> dict[str, ActionFn]:
    return {fn.__name__: fn for fn in collect()}


async def _one_page(
    api: Api, action: ActionFn, params: dict[str, Any], cursor: Mapping[str, Any] | None
) -> Page:
    capture = PageCapture(cursor=cursor)
    items = await action(api.capturing(capture), **params)
    if not isinstance(items, list) or capture.result is None:
        raise InvalidParam("params", "select a list, not a single item")
    links = capture.result.links
    return Page(items, cursor_of(links.next), cursor_of(links.prev))
