"""Favourite, boost, bookmark, pin and mute a status; each answers the updated Status."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from mastod.sandbox import records as r
from mastod.sandbox.auth import Caller, caller
from mastod.sandbox.ops import interactions as ops
from mastod.sandbox.respond import ok
from mastod.sandbox.routes.statuses import visible_status
from mastod.sandbox.views.statuses import status

routes = web.RouteTableDef()

Action = Callable[[Caller, r.Status], r.Status | None]


def _act(request: web.Request, scope: str, action: Action) -> web.Response:
    c = caller(request, scope)
    target = visible_status(c, c.path_id())
    shown = action(c, target) or ops.original(c.sb, target)
    return ok(status(c.view, shown))


@routes.post("/api/v1/statuses/{id}/favourite")
async def favourite(request: web.Request) -> web.Response:
    return _act(request, "write:favourites", lambda c, s: ops.favourite(c.sb, c.me, s))


@routes.post("/api/v1/statuses/{id}/unfavourite")
async def unfavourite(request: web.Request) -> web.Response:
    return _act(request, "write:favourites", lambda c, s: ops.unfavourite(c.sb, c.me, s))


@routes.post("/api/v1/statuses/{id}/bookmark")
async def bookmark(request: web.Request) -> web.Response:
    return _act(request, "write:bookmarks", lambda c, s: ops.bookmark(c.sb, c.me, s))


@routes.post("/api/v1/statuses/{id}/unbookmark")
async def unbookmark(request: web.Request) -> web.Response:
    return _act(request, "write:bookmarks", lambda c, s: ops.unbookmark(c.sb, c.me, s))


@routes.post("/api/v1/statuses/{id}/pin")
async def pin(request: web.Request) -> web.Response:
    return _act(request, "write:accounts", lambda c, s: ops.pin(c.sb, c.me, s))


@routes.post("/api/v1/statuses/{id}/unpin")
async def unpin(request: web.Request) -> web.Response:
    return _act(request, "write:accounts", lambda c, s: ops.unpin(c.sb, c.me, s))


@routes.post("/api/v1/statuses/{id}/mute")
async def mute(request: web.Request) -> web.Response:
    return _act(request, "write:mutes", lambda c, s: ops.mute_thread(c.sb, c.me, s))


@routes.post("/api/v1/statuses/{id}/unmute")
async def unmute(request: web.Request) -> web.Response:
    return _act(request, "write:mutes", lambda c, s: ops.unmute_thread(c.sb, c.me, s))


@routes.post("/api/v1/statuses/{id}/reblog")
async def reblog(request: web.Request) -> web.Response:
    return _act(
        request,
        "write:statuses",
        lambda c, s: ops.reblog(c.sb, c.me, s, c.params.string("visibility")),
    )


@routes.post("/api/v1/statuses/{id}/unreblog")
async def unreblog(request: web.Request) -> web.Response:
    return _act(request, "write:statuses", lambda c, s: ops.unreblog(c.sb, c.me, s))
