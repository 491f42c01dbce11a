"""What an account does to a status: favourite, reblog, bookmark, pin, mute its thread."""

from __future__ import annotations

from mastod.sandbox import records as r
from mastod.sandbox.constants import MAX_PINNED_STATUSES
from mastod.sandbox.errors import invalid, not_allowed
from mastod.sandbox.ops.notify import notify, withdraw
from mastod.sandbox.ops.posting import delete_status
from mastod.sandbox.state import Sandbox
from mastod.sandbox.views.base import View
from mastod.sandbox.views.statuses import thread_root


def original(sb: Sandbox, s: r.Status) -> r.Status:
    """Actions on a reblog act on the reblogged status, as Mastodon's `reblog?` unwrapping does."""
    if s.reblog_of_id is None:
        return s
    return sb.statuses.get(s.reblog_of_id, s)


def favourite(sb: Sandbox, actor: str, s: r.Status) -> None:
    s = original(sb, s)
    if (actor, s.id) in sb.favourites:
        return
    sb.favourites[(actor, s.id)] = r.Link(sb.next_id("favourite"), actor, s.id)
    notify(sb, s.account_id, "favourite", actor, s.id)


def unfavourite(sb: Sandbox, actor: str, s: r.Status) -> None:
    s = original(sb, s)
    if sb.favourites.pop((actor, s.id), None) is not None:
        withdraw(sb, s.account_id, "favourite", actor, s.id)


def reblog(sb: Sandbox, actor: str, s: r.Status, visibility: str | None = None) -> r.Status:
    """Boost a status; returns the reblog (an existing one if already boosted)."""
    s = original(sb, s)
    if s.visibility == "direct" or (s.visibility == "private" and s.account_id != actor):
        raise not_allowed()
    existing = next(
        (x for x in sb.statuses.values() if x.reblog_of_id == s.id and x.account_id == actor),
        None,
    )
    if existing is not None:
        return existing
    chosen = visibility if visibility in ("public", "unlisted", "private") else "public"
    boost = r.Status(
        sb.next_id("status"), actor, "", sb.now(), visibility=chosen, reblog_of_id=s.id
    )
    sb.statuses[boost.id] = boost
    notify(sb, s.account_id, "reblog", actor, s.id)
    return boost


def unreblog(sb: Sandbox, actor: str, s: r.Status) -> r.Status:
    s = original(sb, s)
    for boost in [x for x in sb.statuses.values() if x.reblog_of_id == s.id]:
        if boost.account_id == actor:
            delete_status(sb, boost)
            withdraw(sb, s.account_id, "reblog", actor, s.id)
    return s


def bookmark(sb: Sandbox, actor: str, s: r.Status) -> None:
    s = original(sb, s)
    sb.bookmarks.setdefault((actor, s.id), r.Link(sb.next_id("bookmark"), actor, s.id))


def unbookmark(sb: Sandbox, actor: str, s: r.Status) -> None:
    sb.bookmarks.pop((actor, original(sb, s).id), None)


def pin(sb: Sandbox, actor: str, s: r.Status) -> None:
    """Pin one's own post to one's profile (`StatusPinValidator`)."""
    if s.reblog_of_id is not None:
        raise invalid("A boost cannot be pinned")
    if s.account_id != actor:
        raise invalid("Someone else's post cannot be pinned")
    if s.visibility == "direct":
        raise invalid("Posts that are only visible to mentioned users cannot be pinned")
    if (actor, s.id) in sb.pins:
        return
    if sum(1 for k in sb.pins if k[0] == actor) >= MAX_PINNED_STATUSES:
        raise invalid("You have already pinned the maximum number of posts")
    sb.pins[(actor, s.id)] = r.Link(sb.next_id("pin"), actor, s.id)


def unpin(sb: Sandbox, actor: str, s: r.Status) -> None:
    sb.pins.pop((actor, s.id), None)


def mute_thread(sb: Sandbox, actor: str, s: r.Status) -> None:
    sb.muted_threads.add((actor, thread_root(View(sb, actor), original(sb, s)).id))


def unmute_thread(sb: Sandbox, actor: str, s: r.Status) -> None:
    sb.muted_threads.discard((actor, thread_root(View(sb, actor), original(sb, s)).id))
