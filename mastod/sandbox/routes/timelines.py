"""Timelines: home, public, hashtag and list, paged by status id."""

from __future__ import annotations

from aiohttp import web

from mastod.sandbox import records as r
from mastod.sandbox.auth import Caller, caller
from mastod.sandbox.errors import not_found
from mastod.sandbox.ops.visibility import has_media, has_tag, home, visible
from mastod.sandbox.pagination import paginate
from mastod.sandbox.respond import paged
from mastod.sandbox.views.statuses import status

routes = web.RouteTableDef()


def _page(c: Caller, chosen: list[r.Status]) -> web.Response:
    if c.params.flag("only_media", False):
        chosen = [s for s in chosen if has_media(c.sb, s)]
    rows = [(s.id, s) for s in chosen]
    page = paginate(c.request, c.params, rows, default=20, maximum=40)
    return paged(page, lambda s: status(c.view, s))


def _public(c: Caller) -> list[r.Status]:
    """Public, original statuses; replies only within one's own thread (PublicFeed)."""
    if c.params.flag("remote", False):
        return []
    chosen = [
        s
        for s in c.sb.statuses.values()
        if s.visibility == "public"
        and s.reblog_of_id is None
        and s.in_reply_to_account_id in (None, s.account_id)
    ]
    return visible(c.sb, c.account_id, chosen)


@routes.get("/api/v1/timelines/home")
async def home_timeline(request: web.Request) -> web.Response:
    c = caller(request, "read:statuses")
    return _page(c, home(c.sb, c.me))


@routes.get("/api/v1/timelines/public")
async def public_timeline(request: web.Request) -> web.Response:
    c = caller(request, "read:statuses", "optional")
    return _page(c, _public(c))


@routes.get("/api/v1/timelines/tag/{hashtag}")
async def tag_timeline(request: web.Request) -> web.Response:
    c = caller(request, "read:statuses", "optional")
    wanted = [c.path_id("hashtag"), *c.params.array("any")]
    required = c.params.array("all")
    excluded = c.params.array("none")
    chosen = [
        s
        for s in c.sb.statuses.values()
        if s.visibility == "public"
        and s.reblog_of_id is None
        and any(has_tag(s, t) for t in wanted)
        and all(has_tag(s, t) for t in required)
        and not any(has_tag(s, t) for t in excluded)
    ]
    return _page(c, visible(c.sb, c.account_id, chosen))


@routes.get("/api/v1/timelines/list/{list_id}")
async def list_timeline(request: web.Request) -> web.Response:
    c = caller(request, "read:lists")
    lst = c.sb.lists.get(c.path_id("list_id"))
    if lst is None or lst.account_id != c.me:
        raise not_found()
    members = set(lst.members)
    chosen = []
    for s in c.sb.statuses.values():
        if s.account_id not in members or s.visibility == "direct":
            continue
        replied = s.in_reply_to_account_id
        if replied not in (None, s.account_id):
            if lst.replies_policy == "none":
                continue
            if lst.replies_policy == "list" and replied not in members | {c.me}:
                continue
            if lst.replies_policy == "followed" and not c.sb.is_following(c.me, replied):
                continue
        chosen.append(s)
    return _page(c, visible(c.sb, c.me, chosen))
