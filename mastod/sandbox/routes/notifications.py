"""Notifications (v1): list with type filters and cursors, one, dismiss one, clear all."""

from __future__ import annotations

from aiohttp import web

from mastod.sandbox import records as r
from mastod.sandbox.auth import Caller, caller
from mastod.sandbox.errors import not_found
from mastod.sandbox.pagination import paginate
from mastod.sandbox.respond import empty, ok, paged
from mastod.sandbox.views.misc import notification

routes = web.RouteTableDef()


def _own(c: Caller) -> r.Notification:
    found = c.sb.notifications.get(c.path_id())
    if found is None or found.account_id != c.me or not found.committed:
        raise not_found()
    return found


@routes.get("/api/v1/notifications")
async def get_notifications(request: web.Request) -> web.Response:
    c = caller(request, "read:notifications")
    p = c.params
    types = set(p.array("types"))
    excluded = set(p.array("exclude_types"))
    from_id = p.string("account_id")
    rows = [
        (n.id, n)
        for n in c.sb.notifications.values()
        if n.account_id == c.me
        and n.committed
        and not n.filtered  # Mastodon lists filtered ones only with include_filtered
        and (not types or n.type in types)
        and n.type not in excluded
        and (from_id is None or n.from_account_id == from_id)
    ]
    page = paginate(request, p, rows, default=40, maximum=80)
    return paged(page, lambda n: notification(c.view, n))


@routes.post("/api/v1/notifications/clear")
async def clear_notifications(request: web.Request) -> web.Response:
    c = caller(request, "write:notifications")
    for key in [k for k, n in c.sb.notifications.items() if n.account_id == c.me]:
        del c.sb.notifications[key]
    return empty()


@routes.get("/api/v1/notifications/{id}")
async def get_notification(request: web.Request) -> web.Response:
    c = caller(request, "read:notifications")
    return ok(notification(c.view, _own(c)))


@routes.post("/api/v1/notifications/{id}/dismiss")
async def dismiss_notification(request: web.Request) -> web.Response:
    c = caller(request, "write:notifications")
    del c.sb.notifications[_own(c).id]
    return empty()
