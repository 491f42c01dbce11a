"""Direct conversations, paged by their last status id."""

from __future__ import annotations

from aiohttp import web

from mastod.sandbox import records as r
from mastod.sandbox.auth import Caller, caller
from mastod.sandbox.errors import not_found
from mastod.sandbox.pagination import paginate
from mastod.sandbox.respond import empty, ok, paged
from mastod.sandbox.views.misc import conversation

routes = web.RouteTableDef()


def _own(c: Caller) -> r.Conversation:
    found = c.sb.conversations.get(c.path_id())
    if found is None or found.account_id != c.me:
        raise not_found()
    return found


@routes.get("/api/v1/conversations")
async def get_conversations(request: web.Request) -> web.Response:
    c = caller(request, "read:statuses")
    rows = [
        (x.last_status_id, x)
        for x in c.sb.conversations.values()
        if x.account_id == c.me and x.last_status_id in c.sb.statuses
    ]
    page = paginate(request, c.params, rows, default=20, maximum=40)
    return paged(page, lambda x: conversation(c.view, x))


@routes.delete("/api/v1/conversations/{id}")
async def remove_conversation(request: web.Request) -> web.Response:
    c = caller(request, "write:conversations")
    del c.sb.conversations[_own(c).id]
    return empty()


@routes.post("/api/v1/conversations/{id}/read")
async def read_conversation(request: web.Request) -> web.Response:
    c = caller(request, "write:conversations")
    found = _own(c)
    found.unread = False
    return ok(conversation(c.view, found))
