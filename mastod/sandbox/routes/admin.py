"""Sandbox-only endpoints, all under `/_sandbox/` (no auth; the server binds to loopback).

* `POST /_sandbox/act` with JSON `{"actor": "bob", "action": "mention"|"favourite"|"reblog"|
  "follow"|"status", "target"?: "alice", "status_id"?: "...", "text"?: "...",
  "visibility"?: "public"}` makes another account act, so notifications can be produced by
  hand. Repeating a favourite, reblog or follow first undoes it, so each call notifies anew.
  Answers `{"status": Status|null, "notifications": [Notification, ...]}`.
* `GET/POST/DELETE /_sandbox/faults`: list, add (the JSON of `Faults.add`, e.g.
  `{"path": "/api/v1/statuses", "kind": "status", "status": 502, "count": 2}`, or
  `{"close_connections": true}`), clear. `POST /_sandbox/faults` with `{"drop_streams": true}`
  cuts every streaming connection at once, as a crashing server does (`"graceful": true`:
  closes with 1001 instead) and answers `{"dropped": <how many>}`.
* `POST /_sandbox/clock` with `{"offset": <seconds>}`: run the sandbox's clock that far from
  the real time (negative: behind), as on an instance whose clock is off: its timestamps,
  `Date` headers and the VAPID `exp` of its pushes follow. Answers `{"offset": <seconds>}`.
* `GET /_sandbox/files/<key>` and `GET /_sandbox/media/<id>/original|small`: stored files.
"""

from __future__ import annotations

import math
import time
from typing import Any

from aiohttp import web

from mastod.sandbox import records as r
from mastod.sandbox.auth import params_of
from mastod.sandbox.constants import OWNER_USERNAME
from mastod.sandbox.errors import ApiError, not_found
from mastod.sandbox.keys import SANDBOX_KEY
from mastod.sandbox.ops import interactions, relations
from mastod.sandbox.ops.posting import post_status
from mastod.sandbox.params import Params, cast_bool
from mastod.sandbox.respond import ok
from mastod.sandbox.seed import png
from mastod.sandbox.state import Sandbox
from mastod.sandbox.views.base import DEFAULT_IMAGE, View
from mastod.sandbox.views.misc import notification
from mastod.sandbox.views.statuses import status

routes = web.RouteTableDef()

ACTIONS = ("mention", "favourite", "reblog", "follow", "status")


@routes.post("/_sandbox/act")
async def act(request: web.Request) -> web.Response:
    sb = request.app[SANDBOX_KEY]
    p = params_of(request)
    action = p.text("action")
    if action not in ACTIONS:
        raise ApiError(422, f"action must be one of {', '.join(ACTIONS)}")
    actor = sb.account_by_username(p.text("actor") or "bob")
    target = sb.account_by_username(p.text("target") or OWNER_USERNAME)
    before = set(sb.notifications)
    acted = _perform(sb, action, actor, target, p)
    created = [n for key, n in sb.notifications.items() if key not in before]
    return ok(
        {
            "status": status(View(sb, actor.id), acted) if acted else None,
            "notifications": [notification(View(sb, n.account_id), n) for n in created],
        }
    )


def _perform(
    sb: Sandbox, action: str, actor: r.Account, target: r.Account, p: Params
) -> r.Status | None:
    visibility = p.string("visibility") or "public"
    if action == "follow":
        relations.unfollow(sb, actor.id, target.id)
        relations.follow(sb, actor.id, target.id)
        return None
    if action in ("mention", "status"):
        default = f"Hello @{target.username}!" if action == "mention" else "A new post."
        text = p.text("text") or default
        if action == "mention" and f"@{target.username}".lower() not in text.lower():
            text = f"@{target.username} {text}"
        return post_status(sb, actor.id, text, visibility=visibility)
    subject = _subject(sb, target, p.string("status_id"))
    if action == "favourite":
        interactions.unfavourite(sb, actor.id, subject)
        interactions.favourite(sb, actor.id, subject)
        return subject
    interactions.unreblog(sb, actor.id, subject)
    return interactions.reblog(sb, actor.id, subject, visibility)


def _subject(sb: Sandbox, target: r.Account, status_id: str | None) -> r.Status:
    """The status named, else the target's newest public or unlisted original post."""
    if status_id:
        return sb.status(status_id)
    own = [
        s
        for s in sb.statuses.values()
        if s.account_id == target.id
        and s.reblog_of_id is None
        and s.visibility in ("public", "unlisted")
    ]
    if not own:
        raise not_found()
    return max(own, key=lambda s: int(s.id))


@routes.get("/_sandbox/faults")
async def list_faults(request: web.Request) -> web.Response:
    faults = request.app[SANDBOX_KEY].faults
    return ok(
        {
            "close_connections": faults.close_connections,
            "faults": [f.to_json() for f in faults.active],
        }
    )


@routes.post("/_sandbox/faults")
async def add_fault(request: web.Request) -> web.Response:
    faults = request.app[SANDBOX_KEY].faults
    data: Any = params_of(request).data
    if "drop_streams" in data:
        graceful = bool(cast_bool(data.get("graceful", False)))
        return ok({"dropped": faults.drop_streams(graceful=graceful)})
    if "close_connections" in data:
        faults.close_connections = bool(cast_bool(data["close_connections"]))
        return ok({"close_connections": faults.close_connections})
    return ok(faults.add_json(data).to_json())


@routes.delete("/_sandbox/faults")
async def clear_faults(request: web.Request) -> web.Response:
    request.app[SANDBOX_KEY].faults.clear()
    return ok({})


@routes.post("/_sandbox/clock")
async def shift_clock(request: web.Request) -> web.Response:
    sb = request.app[SANDBOX_KEY]
    offset = params_of(request).data.get("offset")
    if isinstance(offset, bool) or not isinstance(offset, int | float) or not math.isfinite(offset):
        raise ApiError(422, "offset must be a number of seconds")
    sb.clock = lambda: time.time() + offset
    return ok({"offset": offset})


@routes.get("/_sandbox/files/{key}")
async def get_file(request: web.Request) -> web.Response:
    sb = request.app[SANDBOX_KEY]
    key = request.match_info["key"]
    if key == DEFAULT_IMAGE:
        return web.Response(body=png(), content_type="image/png")
    if key not in sb.blobs:
        raise not_found()
    content_type, data = sb.blobs[key]
    return web.Response(body=data, headers={"Content-Type": content_type})


@routes.get("/_sandbox/media/{id}/{variant}")
async def get_media_file(request: web.Request) -> web.Response:
    m = request.app[SANDBOX_KEY].media.get(request.match_info["id"])
    variant = request.match_info["variant"]
    if m is None or variant not in ("original", "small"):
        raise not_found()
    if variant == "small" and m.thumbnail is not None:
        return web.Response(
            body=m.thumbnail, headers={"Content-Type": m.thumbnail_type or "image/png"}
        )
    return web.Response(body=m.data, headers={"Content-Type": m.content_type})
