"""Filters, v1 API (deprecated upstream, still served): each is one phrase in some contexts."""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web

from mastod.sandbox import records as r
from mastod.sandbox.auth import Caller, caller
from mastod.sandbox.errors import invalid, not_found
from mastod.sandbox.params import Params
from mastod.sandbox.respond import empty, ok
from mastod.sandbox.state import Sandbox
from mastod.sandbox.views.misc import filter_v1

routes = web.RouteTableDef()

CONTEXTS = ("home", "notifications", "public", "thread", "account")


def _own_filter(c: Caller) -> r.Filter:
    found = c.sb.filters.get(c.path_id())
    if found is None or found.account_id != c.me:
        raise not_found()
    return found


def _apply(sb: Sandbox, f: r.Filter, p: Params) -> None:
    phrase = p.string("phrase")
    if phrase is not None:
        if not phrase.strip():
            raise invalid("Phrase can't be blank")
        f.phrase = phrase
    if p.has("context"):
        context = p.array("context")
        if not context:
            raise invalid("Context can't be blank")
        if any(x not in CONTEXTS for x in context):
            raise invalid("Context contains invalid context values")
        f.context = list(dict.fromkeys(context))
    if p.has("irreversible"):
        f.irreversible = p.flag("irreversible", False)
    if p.has("whole_word"):
        f.whole_word = p.flag("whole_word", True)
    if p.has("expires_in"):
        seconds = p.integer("expires_in")
        f.expires_at = sb.now() + timedelta(seconds=seconds) if seconds else None


@routes.get("/api/v1/filters")
async def get_filters(request: web.Request) -> web.Response:
    c = caller(request, "read:filters")
    return ok([filter_v1(f) for f in c.sb.filters.values() if f.account_id == c.me])


@routes.post("/api/v1/filters")
async def create_filter(request: web.Request) -> web.Response:
    c = caller(request, "write:filters")
    if not c.params.text("phrase").strip():
        raise invalid("Phrase can't be blank")
    if not c.params.array("context"):
        raise invalid("Context can't be blank")
    created = r.Filter(c.sb.next_id("filter"), c.me, "", [])
    _apply(c.sb, created, c.params)
    c.sb.filters[created.id] = created
    return ok(filter_v1(created))


@routes.get("/api/v1/filters/{id}")
async def get_filter(request: web.Request) -> web.Response:
    c = caller(request, "read:filters")
    return ok(filter_v1(_own_filter(c)))


@routes.put("/api/v1/filters/{id}")
async def update_filter(request: web.Request) -> web.Response:
    c = caller(request, "write:filters")
    found = _own_filter(c)
    _apply(c.sb, found, c.params)
    return ok(filter_v1(found))


@routes.delete("/api/v1/filters/{id}")
async def remove_filter(request: web.Request) -> web.Response:
    c = caller(request, "write:filters")
    del c.sb.filters[_own_filter(c).id]
    return empty()
