"""The optional parts of a new post: poll, schedule and quote (`PostStatusService`).

Limits are the instance's (`configuration.polls` of `GET /api/v2/instance`); messages are
Mastodon's English ones.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from mastod.sandbox import records as r
from mastod.sandbox.errors import invalid, not_found, unprocessable
from mastod.sandbox.ops.visibility import can_see
from mastod.sandbox.params import Params
from mastod.sandbox.state import Sandbox

POLL_MAX_OPTIONS = 4
POLL_MAX_CHARACTERS = 50
POLL_MIN_EXPIRATION = 300
POLL_MAX_EXPIRATION = 2629746
SCHEDULE_MIN_AHEAD = timedelta(minutes=5)
QUOTE_POLICIES = ("public", "followers", "nobody")


def poll_from(sb: Sandbox, p: Params, media_ids: list[str]) -> r.Poll | None:
    """The poll of `poll[options][]`, `poll[expires_in]`, ...; None when none is given."""
    if not p.has("poll"):
        return None
    poll = p.sub("poll")
    options = poll.array("options")
    expires_in = poll.integer("expires_in")
    if media_ids:
        raise unprocessable("Cannot attach files to a post with a poll")
    if len(options) < 2:
        raise invalid("Poll options must have at least 2 items")
    if len(options) > POLL_MAX_OPTIONS:
        raise invalid(f"Poll options must not have more than {POLL_MAX_OPTIONS} items")
    if any(not o.strip() or len(o) > POLL_MAX_CHARACTERS for o in options):
        raise invalid(f"Poll options must be 1 to {POLL_MAX_CHARACTERS} characters")
    if expires_in is None or expires_in < POLL_MIN_EXPIRATION:
        raise invalid("Poll expiration date must be at least 5 minutes in the future")
    if expires_in > POLL_MAX_EXPIRATION:
        raise invalid("Poll expiration date must not be more than a month in the future")
    return r.Poll(
        sb.next_id("poll"),
        options,
        sb.now() + timedelta(seconds=expires_in),
        multiple=poll.flag("multiple", False),
        hide_totals=poll.flag("hide_totals", False),
    )


def schedule_time(sb: Sandbox, raw: str) -> datetime:
    """`scheduled_at` as a time at least five minutes ahead (else 422, as Mastodon)."""
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise invalid("Scheduled at is invalid") from None
    if moment.tzinfo is None or moment - sb.now() < SCHEDULE_MIN_AHEAD:
        raise unprocessable("The scheduled date must be in the future")
    return moment


def quote_target(sb: Sandbox, actor: str, quoted_status_id: str | None) -> str | None:
    """The status a new post quotes: one the author can see, not a reblog, not direct."""
    if not quoted_status_id:
        return None
    quoted = sb.statuses.get(quoted_status_id)
    if quoted is None or quoted.reblog_of_id is not None or not can_see(sb, actor, quoted):
        raise not_found()
    if quoted.visibility == "direct" or (
        quoted.account_id != actor and quoted.quote_policy == "nobody"
    ):
        raise unprocessable("Quoting this post is not allowed")
    return quoted.id


def quote_policy(p: Params) -> str | None:
    policy = p.string("quote_approval_policy")
    if policy is not None and policy not in QUOTE_POLICIES:
        raise invalid("Quote approval policy is not included in the list")
    return policy


def scheduled_params(p: Params, app_id: str | None, visibility: str) -> dict[str, Any]:
    """What Mastodon stores (and shows as `params`) for a scheduled post; the quote policy
    only when given (its schema is the enum, without null)."""
    reply = p.string("in_reply_to_id")
    poll = p.sub("poll") if p.has("poll") else None
    policy = quote_policy(p)
    return {
        "text": p.text("status"),
        "visibility": visibility,
        "application_id": int(app_id) if app_id and app_id.isdigit() else 0,
        "with_rate_limit": False,
        "idempotency": None,
        "in_reply_to_id": int(reply) if reply and reply.isdigit() else None,
        "language": p.string("language") or None,
        "media_ids": p.array("media_ids") or None,
        "poll": None
        if poll is None
        else {
            "options": poll.array("options"),
            "expires_in": poll.integer("expires_in") or 0,
            "multiple": poll.flag("multiple", False),
            "hide_totals": poll.flag("hide_totals", False),
        },
        **({"quote_approval_policy": policy} if policy is not None else {}),
        "quoted_status_id": p.string("quoted_status_id") or None,
        "scheduled_at": None,
        "sensitive": p.flag("sensitive", False),
        "spoiler_text": p.text("spoiler_text"),
    }
