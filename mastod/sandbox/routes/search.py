"""`GET /api/v2/search`: accounts, hashtags and statuses, paged by `offset` (no Link header)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from mastod.sandbox.auth import Caller, caller
from mastod.sandbox.errors import ApiError
from mastod.sandbox.ops.visibility import visible
from mastod.sandbox.pagination import cursor_value, limit_param
from mastod.sandbox.respond import ok
from mastod.sandbox.views.accounts import account
from mastod.sandbox.views.misc import tag
from mastod.sandbox.views.statuses import status

routes = web.RouteTableDef()

_TYPES = ("accounts", "hashtags", "statuses")


@routes.get("/api/v2/search")
async def search(request: web.Request) -> web.Response:
    c = caller(request, "read:search", "optional")
    p = c.params
    q = p.required("q").strip()
    if c.account_id is None and p.string("offset"):
        raise ApiError(401, "Search queries pagination is not supported without authentication")
    if c.account_id is None and p.flag("resolve", False):
        raise ApiError(
            401,
            "Search queries that resolve remote resources are not supported without authentication",
        )
    wanted = p.string("type")
    limit = limit_param(p, 20, 40)
    offset = max(0, p.integer("offset") or 0) if wanted in _TYPES else 0
    result: dict[str, list[dict[str, Any]]] = {kind: [] for kind in _TYPES}
    for kind in _TYPES:
        if wanted in _TYPES and wanted != kind:
            continue
        found = {"accounts": _accounts, "hashtags": _hashtags, "statuses": _statuses}[kind](c, q)
        result[kind] = found[offset : offset + limit]
    return ok(result)


def _accounts(c: Caller, q: str) -> list[dict[str, Any]]:
    needle = q.lstrip("@").split("@", 1)[0].lower()
    following = c.params.flag("following", False)
    me = c.account_id
    hits = [
        a
        for a in c.sb.accounts.values()
        if needle in a.username.lower() or needle in a.display_name.lower()
    ]
    if me is not None:
        hits = [a for a in hits if not c.sb.blocked_either(me, a.id)]
        if following:
            hits = [a for a in hits if c.sb.is_following(me, a.id)]
    hits.sort(key=lambda a: (a.username.lower() != needle, a.username.lower()))
    return [account(c.view, a) for a in hits]


def _hashtags(c: Caller, q: str) -> list[dict[str, Any]]:
    needle = q.lstrip("#").lower()
    if not needle:
        return []
    hits = [t for key, t in c.sb.tags.items() if key.startswith(needle)]
    hits.sort(key=lambda t: (t.name.lower() != needle, t.name.lower()))
    return [tag(c.view, t) for t in hits]


def _statuses(c: Caller, q: str) -> list[dict[str, Any]]:
    """Full-text search needs a signed-in user; matches are newest first."""
    if c.account_id is None:
        return []
    p = c.params
    needle = q.lower()
    author = p.string("account_id")
    max_id = cursor_value(p.string("max_id"))
    min_id = cursor_value(p.string("min_id"))
    hits = [
        s
        for s in c.sb.statuses.values()
        if s.reblog_of_id is None
        and needle in s.text.lower()
        and (author is None or s.account_id == author)
        and (max_id is None or int(s.id) < max_id)
        and (min_id is None or int(s.id) > min_id)
    ]
    hits = sorted(visible(c.sb, c.account_id, hits), key=lambda s: int(s.id), reverse=True)
    return [status(c.view, s) for s in hits]
