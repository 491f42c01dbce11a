"""Web Push subscription: one per access token, answered with the sandbox's VAPID key.

As the server (not the docs) does: POST replaces the token's subscription, PUT replaces
`data` wholesale (alerts left out become absent, `policy` comes only from `data[policy]`),
and the entity's `id` is an integer with `policy` included (PROTOCOL.md §2.1).

Each push carries `Unsubscribe-URL: <base>/api/web/push_subscriptions/<secret>`; an
unauthenticated DELETE there removes the subscription and answers 200 with an empty body,
whether or not the secret matched (Mastodon 4.4+; the sandbox's secrets do not expire).
"""

from __future__ import annotations

import binascii
import hmac
from typing import Any

from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import ec
from yarl import URL

from mastod.sandbox import records as r
from mastod.sandbox.auth import Caller, caller
from mastod.sandbox.errors import invalid, not_found, param_missing
from mastod.sandbox.keys import SANDBOX_KEY
from mastod.sandbox.params import Params, cast_bool
from mastod.sandbox.respond import empty, ok
from mastod.sandbox.views.misc import push_subscription
from mastod.sandbox.webpush import decode_key

routes = web.RouteTableDef()

ALERT_TYPES = (
    "mention", "status", "reblog", "follow", "follow_request", "favourite", "poll", "update",
    "severed_relationships", "moderation_warning", "annual_report", "admin.sign_up",
    "admin.report", "quote", "quoted_update", "added_to_collection", "collection_update",
)  # fmt: skip
POLICIES = ("all", "followed", "follower", "none")


def _valid_p256dh(value: str) -> bool:
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), decode_key(value))
    except (ValueError, binascii.Error):
        return False
    return True


def _valid_auth(value: str) -> bool:
    try:
        return len(decode_key(value)) > 0
    except (ValueError, binascii.Error):
        return False


def _data(p: Params) -> tuple[dict[str, bool], str]:
    data = p.sub("data")
    raw_alerts: Any = data.data.get("alerts")
    alerts = raw_alerts if isinstance(raw_alerts, dict) else {}
    chosen = {k: bool(cast_bool(v)) for k, v in alerts.items() if k in ALERT_TYPES}
    policy = data.string("policy") or "all"
    if policy not in POLICIES:
        raise invalid("Policy is not included in the list")
    return chosen, policy


def _current(c: Caller) -> r.PushSubscription:
    assert c.token is not None
    found = c.sb.push_subscriptions.get(c.token.token)
    if found is None:
        raise not_found()
    return found


@routes.post("/api/v1/push/subscription")
async def create_subscription(request: web.Request) -> web.Response:
    c = caller(request, "push")
    assert c.token is not None
    sub = c.params.sub("subscription")
    if not sub.data:
        raise param_missing("subscription")
    endpoint = sub.text("endpoint").strip()
    keys = sub.sub("keys")
    p256dh, auth = keys.text("p256dh"), keys.text("auth")
    problems = []
    url = URL(endpoint) if endpoint else None
    if not endpoint:
        problems.append("Endpoint can't be blank")
    elif url is None or url.scheme not in ("http", "https") or not url.host:
        problems.append("Endpoint is invalid")
    if not p256dh or not _valid_p256dh(p256dh):
        problems.append("Key p256dh is invalid")
    if not auth or not _valid_auth(auth):
        problems.append("Key auth is invalid")
    if problems:
        raise invalid(*problems)
    alerts, policy = _data(c.params)
    row = r.PushSubscription(
        int(c.sb.next_id("push_subscription")),
        c.token.token,
        endpoint,
        p256dh,
        auth,
        standard=sub.flag("standard", False),
        alerts=alerts,
        policy=policy,
    )
    c.sb.push_subscriptions[c.token.token] = row
    return ok(push_subscription(c.view, row))


@routes.get("/api/v1/push/subscription")
async def get_subscription(request: web.Request) -> web.Response:
    c = caller(request, "push")
    return ok(push_subscription(c.view, _current(c)))


@routes.put("/api/v1/push/subscription")
async def update_subscription(request: web.Request) -> web.Response:
    c = caller(request, "push")
    row = _current(c)
    row.alerts, row.policy = _data(c.params)
    return ok(push_subscription(c.view, row))


@routes.delete("/api/v1/push/subscription")
async def delete_subscription(request: web.Request) -> web.Response:
    c = caller(request, "push")
    assert c.token is not None
    c.sb.push_subscriptions.pop(c.token.token, None)
    return empty()


@routes.delete("/api/web/push_subscriptions/{secret}")
async def unsubscribe(request: web.Request) -> web.Response:
    sb = request.app[SANDBOX_KEY]
    secret = request.match_info["secret"]
    for key, row in list(sb.push_subscriptions.items()):
        if hmac.compare_digest(row.unsubscribe_token.encode(), secret.encode()):
            del sb.push_subscriptions[key]
    return web.Response(status=200)
