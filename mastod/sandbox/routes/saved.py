"""Bookmarks and favourites, paged by the bookmark's or favourite's own id (not the status id)."""

from __future__ import annotations

from aiohttp import web

from mastod.sandbox import records as r
from mastod.sandbox.auth import Caller, caller
from mastod.sandbox.ops.visibility import can_see
from mastod.sandbox.pagination import paginate
from mastod.sandbox.respond import paged
from mastod.sandbox.views.statuses import status


def _saved(c: Caller, table: dict[tuple[str, str], r.Link]) -> web.Response:
    rows = [
        (link.id, c.sb.statuses[link.target_id])
        for link in table.values()
        if link.account_id == c.me
        and link.target_id in c.sb.statuses
        and can_see(c.sb, c.me, c.sb.statuses[link.target_id])
    ]
    page = paginate(c.request, c.params, rows, default=20, maximum=40)
    return paged(page, lambda s: status(c.view, s))


routes = web.RouteTableDef()


@routes.get("/api/v1/bookmarks")
async def bookmarks(request: web.Request) -> web.Response:
    c = caller(request, "read:bookmarks")
    return _saved(c, c.sb.bookmarks)


@routes.get("/api/v1/favourites")
async def favourites(request: web.Request) -> web.Response:
    c = caller(request, "read:favourites")
    return _saved(c, c.sb.favourites)
