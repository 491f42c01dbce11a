"""Featured tags: the hashtags an account shows on its profile."""

from __future__ import annotations

import re

from aiohttp import web

from mastod.sandbox import records as r
from mastod.sandbox.auth import caller
from mastod.sandbox.constants import MAX_FEATURED_TAGS
from mastod.sandbox.errors import invalid, not_found
from mastod.sandbox.respond import empty, ok
from mastod.sandbox.views.misc import featured_tag, tag

routes = web.RouteTableDef()


@routes.get("/api/v1/featured_tags")
async def get_featured_tags(request: web.Request) -> web.Response:
    c = caller(request, "read:accounts")
    own = [t for t in c.sb.featured_tags.values() if t.account_id == c.me]
    return ok([featured_tag(c.view, t) for t in own])


@routes.post("/api/v1/featured_tags")
async def add_featured_tag(request: web.Request) -> web.Response:
    c = caller(request, "write:accounts")
    name = c.params.required("name").strip().lstrip("#")
    if not re.fullmatch(r"\w*[^\W\d_]\w*", name):
        raise invalid("Tag is invalid")
    own = [t for t in c.sb.featured_tags.values() if t.account_id == c.me]
    if any(t.name.lower() == name.lower() for t in own):
        raise invalid("Tag has already been taken")
    if len(own) >= MAX_FEATURED_TAGS:
        raise invalid("You have already featured the maximum number of hashtags")
    row = r.FeaturedTag(c.sb.next_id("featured_tag"), c.me, c.sb.tag(name).name)
    c.sb.featured_tags[row.id] = row
    return ok(featured_tag(c.view, row))


@routes.get("/api/v1/featured_tags/suggestions")
async def suggestions(request: web.Request) -> web.Response:
    c = caller(request, "read:accounts")
    used = {t.lower() for s in c.sb.statuses.values() if s.account_id == c.me for t in s.tags}
    featured = {t.name.lower() for t in c.sb.featured_tags.values() if t.account_id == c.me}
    return ok([tag(c.view, c.sb.tag(name)) for name in sorted(used - featured)][:10])


@routes.delete("/api/v1/featured_tags/{id}")
async def remove_featured_tag(request: web.Request) -> web.Response:
    c = caller(request, "write:accounts")
    row = c.sb.featured_tags.get(c.path_id())
    if row is None or row.account_id != c.me:
        raise not_found()
    del c.sb.featured_tags[row.id]
    return empty()
