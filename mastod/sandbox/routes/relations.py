"""Follow, block, mute, endorse, note: each answers the Relationship; and the lists of them."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from mastod.sandbox.auth import Caller, caller
from mastod.sandbox.ops import relations as ops
from mastod.sandbox.pagination import paginate
from mastod.sandbox.respond import ok, paged
from mastod.sandbox.views.accounts import account, muted_account, relationship

routes = web.RouteTableDef()


def _act(request: web.Request, scope: str, action: Callable[[Caller, str], None]) -> web.Response:
    c = caller(request, scope)
    target = c.sb.account(c.path_id())
    action(c, target.id)
    return ok(relationship(c.view, target.id))


@routes.post("/api/v1/accounts/{id}/follow")
async def follow(request: web.Request) -> web.Response:
    def run(c: Caller, target: str) -> None:
        p = c.params
        ops.follow(
            c.sb,
            c.me,
            target,
            reblogs=p.flag("reblogs", True) if p.has("reblogs") else None,
            notify_posts=p.flag("notify", False) if p.has("notify") else None,
            languages=p.array("languages") if p.has("languages") else None,
        )

    return _act(request, "write:follows", run)


@routes.post("/api/v1/accounts/{id}/unfollow")
async def unfollow(request: web.Request) -> web.Response:
    return _act(request, "write:follows", lambda c, t: ops.unfollow(c.sb, c.me, t))


@routes.post("/api/v1/accounts/{id}/remove_from_followers")
async def remove_from_followers(request: web.Request) -> web.Response:
    return _act(request, "write:follows", lambda c, t: ops.remove_from_followers(c.sb, c.me, t))


@routes.post("/api/v1/accounts/{id}/block")
async def block(request: web.Request) -> web.Response:
    return _act(request, "write:blocks", lambda c, t: ops.block(c.sb, c.me, t))


@routes.post("/api/v1/accounts/{id}/unblock")
async def unblock(request: web.Request) -> web.Response:
    return _act(request, "write:blocks", lambda c, t: ops.unblock(c.sb, c.me, t))


@routes.post("/api/v1/accounts/{id}/mute")
async def mute(request: web.Request) -> web.Response:
    def run(c: Caller, target: str) -> None:
        notifications = c.params.flag("notifications", True)
        duration = c.params.integer("duration") or 0
        ops.mute(c.sb, c.me, target, notifications=notifications, duration=duration)

    return _act(request, "write:mutes", run)


@routes.post("/api/v1/accounts/{id}/unmute")
async def unmute(request: web.Request) -> web.Response:
    return _act(request, "write:mutes", lambda c, t: ops.unmute(c.sb, c.me, t))


@routes.post("/api/v1/accounts/{id}/pin")
async def pin(request: web.Request) -> web.Response:
    return _act(request, "write:accounts", lambda c, t: ops.endorse(c.sb, c.me, t))


@routes.post("/api/v1/accounts/{id}/unpin")
async def unpin(request: web.Request) -> web.Response:
    return _act(request, "write:accounts", lambda c, t: ops.unendorse(c.sb, c.me, t))


@routes.post("/api/v1/accounts/{id}/endorse")
async def endorse(request: web.Request) -> web.Response:
    return _act(request, "write:accounts", lambda c, t: ops.endorse(c.sb, c.me, t))


@routes.post("/api/v1/accounts/{id}/unendorse")
async def unendorse(request: web.Request) -> web.Response:
    return _act(request, "write:accounts", lambda c, t: ops.unendorse(c.sb, c.me, t))


@routes.post("/api/v1/accounts/{id}/note")
async def note(request: web.Request) -> web.Response:
    return _act(
        request,
        "write:accounts",
        lambda c, t: ops.set_note(c.sb, c.me, t, c.params.text("comment")),
    )


@routes.get("/api/v1/blocks")
async def blocks(request: web.Request) -> web.Response:
    c = caller(request, "read:blocks")
    rows = [(b.id, b.target_id) for b in c.sb.blocks.values() if b.account_id == c.me]
    page = paginate(request, c.params, rows, default=40, maximum=80)
    return paged(page, lambda a: account(c.view, c.sb.account(a)))


@routes.get("/api/v1/mutes")
async def mutes(request: web.Request) -> web.Response:
    c = caller(request, "read:mutes")
    rows = [(m.id, m) for m in c.sb.mutes.values() if m.account_id == c.me]
    page = paginate(request, c.params, rows, default=40, maximum=80)
    return paged(page, lambda m: muted_account(c.view, c.sb.account(m.target_id), m))


@routes.get("/api/v1/endorsements")
async def endorsements(request: web.Request) -> web.Response:
    c = caller(request, "read:accounts")
    rows = [(e.id, e.target_id) for e in c.sb.endorsements.values() if e.account_id == c.me]
    page = paginate(request, c.params, rows, default=40, maximum=80)
    return paged(page, lambda a: account(c.view, c.sb.account(a)))
