"""Statuses: post (with Idempotency-Key), view, delete, thread context, who favourited/boosted."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from mastod.sandbox import records as r
from mastod.sandbox.auth import Caller, caller
from mastod.sandbox.constants import IDEMPOTENCY_TTL
from mastod.sandbox.errors import invalid, not_found
from mastod.sandbox.ops.compose import (
    poll_from,
    quote_policy,
    quote_target,
    schedule_time,
    scheduled_params,
)
from mastod.sandbox.ops.posting import delete_status, post_status
from mastod.sandbox.ops.visibility import can_see, visible
from mastod.sandbox.pagination import paginate
from mastod.sandbox.params import Params
from mastod.sandbox.respond import ok, paged
from mastod.sandbox.views.accounts import account
from mastod.sandbox.views.statuses import scheduled_status, status

routes = web.RouteTableDef()


def visible_status(c: Caller, status_id: str) -> r.Status:
    """A status the caller may see; 404 otherwise, as Mastodon hides what you cannot see."""
    found = c.sb.statuses.get(status_id)
    if found is None or not can_see(c.sb, c.account_id, found):
        raise not_found()
    return found


@routes.post("/api/v1/statuses")
async def create_status(request: web.Request) -> web.Response:
    c = caller(request, "write:statuses")
    key = request.headers.get("Idempotency-Key")
    now = c.sb.clock()
    if key:
        remembered = c.sb.idempotency.get((c.me, key))
        if remembered and now - remembered[1] < IDEMPOTENCY_TTL:
            earlier = c.sb.statuses.get(remembered[0])
            if earlier is not None:
                return ok(status(c.view, earlier))
    p = c.params
    assert c.token is not None
    media_ids = p.array("media_ids")
    poll = poll_from(c.sb, p, media_ids)
    policy = quote_policy(p)
    if p.string("scheduled_at"):
        return ok(_schedule(c, p, media_ids))
    created = post_status(
        c.sb,
        c.me,
        p.text("status"),
        visibility=p.string("visibility") or None,
        sensitive=p.flag("sensitive", False),
        spoiler_text=p.text("spoiler_text"),
        in_reply_to_id=p.string("in_reply_to_id") or None,
        media_ids=media_ids,
        language=p.string("language") or None,
        app_id=c.token.app_id,
        poll=poll,
        quoted_status_id=quote_target(c.sb, c.me, p.string("quoted_status_id")),
        quote_policy=policy,
    )
    if key:
        c.sb.idempotency[(c.me, key)] = (created.id, now)
    return ok(status(c.view, created))


def _schedule(c: Caller, p: Params, media_ids: list[str]) -> dict[str, Any]:
    """Keep the post for later and answer the ScheduledStatus (the post is never published:
    the sandbox runs no scheduler)."""
    at = schedule_time(c.sb, p.text("scheduled_at"))
    if not p.text("status").strip() and not media_ids and not p.has("poll"):
        raise invalid("Text can't be blank")
    quote_target(c.sb, c.me, p.string("quoted_status_id"))
    visibility = p.string("visibility") or c.sb.account(c.me).privacy
    app_id = c.token.app_id if c.token is not None else None
    row = r.ScheduledStatus(
        c.sb.next_id("scheduled_status"),
        c.me,
        at,
        scheduled_params(p, app_id, visibility),
        [m for m in media_ids if m in c.sb.media],
    )
    c.sb.scheduled_statuses[row.id] = row
    return scheduled_status(c.view, row)


@routes.get("/api/v1/statuses/{id}")
async def get_status(request: web.Request) -> web.Response:
    c = caller(request, "read:statuses", "optional")
    return ok(status(c.view, visible_status(c, c.path_id())))


@routes.delete("/api/v1/statuses/{id}")
async def remove_status(request: web.Request) -> web.Response:
    c = caller(request, "write:statuses")
    found = c.sb.statuses.get(c.path_id())
    if found is None or found.account_id != c.me:
        raise not_found()
    entity = status(c.view, found, with_source=True)
    delete_status(c.sb, found, delete_media=c.params.flag("delete_media", False))
    return ok(entity)


@routes.get("/api/v1/statuses/{id}/context")
async def context(request: web.Request) -> web.Response:
    c = caller(request, "read:statuses", "optional")
    target = visible_status(c, c.path_id())
    ancestors = []
    current = target
    while current.in_reply_to_id and current.in_reply_to_id in c.sb.statuses:
        current = c.sb.statuses[current.in_reply_to_id]
        ancestors.append(current)
    descendants: list[r.Status] = []
    frontier = [target.id]
    while frontier:
        children = [s for s in c.sb.statuses.values() if s.in_reply_to_id in frontier]
        descendants.extend(children)
        frontier = [s.id for s in children]
    return ok(
        {
            "ancestors": [
                status(c.view, s) for s in visible(c.sb, c.account_id, reversed(ancestors))
            ],
            "descendants": [
                status(c.view, s)
                for s in sorted(visible(c.sb, c.account_id, descendants), key=lambda s: int(s.id))
            ],
        }
    )


@routes.get("/api/v1/statuses/{id}/favourited_by")
async def favourited_by(request: web.Request) -> web.Response:
    c = caller(request, "read:accounts", "optional")
    target = visible_status(c, c.path_id())
    rows = [(f.id, f.account_id) for f in c.sb.favourites.values() if f.target_id == target.id]
    page = paginate(request, c.params, rows, default=40, maximum=80)
    return paged(page, lambda a: account(c.view, c.sb.account(a)))


@routes.get("/api/v1/statuses/{id}/reblogged_by")
async def reblogged_by(request: web.Request) -> web.Response:
    c = caller(request, "read:accounts", "optional")
    target = visible_status(c, c.path_id())
    rows = [(s.id, s.account_id) for s in c.sb.statuses.values() if s.reblog_of_id == target.id]
    page = paginate(request, c.params, rows, default=40, maximum=80)
    return paged(page, lambda a: account(c.view, c.sb.account(a)))
