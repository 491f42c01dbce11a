"""Follows, blocks, mutes, endorsements and notes between accounts."""

from __future__ import annotations

from datetime import timedelta

from mastod.sandbox import records as r
from mastod.sandbox.errors import invalid, not_allowed, not_found
from mastod.sandbox.ops.notify import notify, withdraw
from mastod.sandbox.state import Sandbox


def follow(
    sb: Sandbox,
    actor: str,
    target: str,
    *,
    reblogs: bool | None = None,
    notify_posts: bool | None = None,
    languages: list[str] | None = None,
) -> None:
    """`FollowService`: follow, or ask to if the target is locked; re-following updates options."""
    if actor == target:
        raise not_found()
    if sb.blocked_either(actor, target):
        raise not_allowed()
    key = (actor, target)
    existing = sb.follows.get(key) or sb.follow_requests.get(key)
    if existing is not None:
        if reblogs is not None:
            existing.reblogs = reblogs
        if notify_posts is not None:
            existing.notify = notify_posts
        if languages is not None:
            existing.languages = languages or None
        return
    row = r.Follow(
        sb.next_id("follow"),
        actor,
        target,
        reblogs=True if reblogs is None else reblogs,
        notify=bool(notify_posts),
        languages=languages or None,
    )
    if sb.account(target).locked:
        sb.follow_requests[key] = row
        notify(sb, target, "follow_request", actor)
    else:
        sb.follows[key] = row
        notify(sb, target, "follow", actor)


def unfollow(sb: Sandbox, actor: str, target: str) -> None:
    if sb.follows.pop((actor, target), None) is not None:
        withdraw(sb, target, "follow", actor)
    if sb.follow_requests.pop((actor, target), None) is not None:
        withdraw(sb, target, "follow_request", actor)
    sb.endorsements.pop((actor, target), None)


def remove_from_followers(sb: Sandbox, actor: str, follower: str) -> None:
    unfollow(sb, follower, actor)


def block(sb: Sandbox, actor: str, target: str) -> None:
    if actor == target:
        raise not_found()
    for a, b in ((actor, target), (target, actor)):
        unfollow(sb, a, b)
    sb.blocks.setdefault((actor, target), r.Link(sb.next_id("block"), actor, target))


def unblock(sb: Sandbox, actor: str, target: str) -> None:
    sb.blocks.pop((actor, target), None)


def mute(sb: Sandbox, actor: str, target: str, *, notifications: bool, duration: int) -> None:
    if actor == target:
        raise not_found()
    expires = sb.now() + timedelta(seconds=duration) if duration > 0 else None
    existing = sb.mutes.get((actor, target))
    row_id = existing.id if existing else sb.next_id("mute")
    sb.mutes[(actor, target)] = r.Mute(row_id, actor, target, notifications, expires)


def unmute(sb: Sandbox, actor: str, target: str) -> None:
    sb.mutes.pop((actor, target), None)


def endorse(sb: Sandbox, actor: str, target: str) -> None:
    """Feature an account on one's profile; only followed accounts can be (AccountPin)."""
    if actor == target:
        raise not_found()
    if (actor, target) not in sb.follows:
        raise invalid("You must be already following the person you want to endorse")
    sb.endorsements.setdefault((actor, target), r.Link(sb.next_id("endorsement"), actor, target))


def unendorse(sb: Sandbox, actor: str, target: str) -> None:
    sb.endorsements.pop((actor, target), None)


def set_note(sb: Sandbox, actor: str, target: str, comment: str) -> None:
    if len(comment) > 2000:
        raise invalid("Comment is too long (maximum is 2000 characters)")
    if comment:
        sb.notes[(actor, target)] = comment
    else:
        sb.notes.pop((actor, target), None)
