"""Status, MediaAttachment and their parts."""

from __future__ import annotations

from typing import Any

from mastod.sandbox import records as r
from mastod.sandbox.text import iso, to_html
from mastod.sandbox.views.accounts import account
from mastod.sandbox.views.base import View

_BLURHASH = "UFBWY:8_0Jxv~q%M%MIU9FRjIUxu-;M{RjWB"


def status(v: View, s: r.Status, *, with_source: bool = False) -> dict[str, Any]:
    """A Status; `with_source` adds `text` (what `DELETE /api/v1/statuses/:id` returns)."""
    sb = v.sb
    author = sb.account(s.account_id)
    if s.reblog_of_id is not None:
        original = sb.status(s.reblog_of_id)
        entity = _frame(v, s, author, content="", media=[], mentions=[], tags=[])
        entity["reblog"] = status(v, original)
        entity.update(_viewer_flags(v, original, pinnable=False))
        return entity
    entity = _frame(
        v,
        s,
        author,
        content=to_html(s.text, v.base, lambda name: _mention_url(v, name)),
        media=[media_attachment(v, sb.media[m]) for m in s.media_ids if m in sb.media],
        mentions=[_mention(v, sb.account(m)) for m in s.mention_ids if m in sb.accounts],
        tags=[{"name": t, "url": f"{v.base}/tags/{t.lower()}"} for t in s.tags],
    )
    entity["reblog"] = None
    entity.update(_viewer_flags(v, s, pinnable=True))
    if with_source:
        entity["text"] = s.text
    return entity


def _frame(
    v: View,
    s: r.Status,
    author: r.Account,
    *,
    content: str,
    media: list[dict[str, Any]],
    mentions: list[dict[str, Any]],
    tags: list[dict[str, Any]],
) -> dict[str, Any]:
    sb = v.sb
    target = s.reblog_of_id or s.id
    app = sb.apps.get(s.app_id) if s.app_id else None
    return {
        "id": s.id,
        "created_at": iso(s.created_at),
        "in_reply_to_id": s.in_reply_to_id,
        "in_reply_to_account_id": s.in_reply_to_account_id,
        "sensitive": s.sensitive,
        "spoiler_text": s.spoiler_text,
        "visibility": s.visibility,
        "language": s.language if s.reblog_of_id is None else None,
        "uri": f"{v.base}/users/{author.username}/statuses/{s.id}",
        "url": f"{v.profile_url(author.username)}/{s.id}",
        "replies_count": sum(1 for x in sb.statuses.values() if x.in_reply_to_id == target),
        "reblogs_count": sum(1 for x in sb.statuses.values() if x.reblog_of_id == target),
        "favourites_count": sum(1 for key in sb.favourites if key[1] == target),
        "edited_at": None,
        "content": content,
        "application": {"name": app.name, "website": app.website} if app else None,
        "account": account(v, author),
        "media_attachments": media,
        "mentions": mentions,
        "tags": tags,
        "emojis": [],
        "card": None,
        "poll": _poll(v, s.poll) if s.poll is not None else None,
        "quote": _quote(v, s.quoted_status_id) if s.reblog_of_id is None else None,
        "quote_approval": _quote_approval(v, s),
    }


def _viewer_flags(v: View, s: r.Status, *, pinnable: bool) -> dict[str, Any]:
    me = v.viewer
    if me is None:
        return {}
    sb = v.sb
    flags: dict[str, Any] = {
        "favourited": (me, s.id) in sb.favourites,
        "reblogged": any(
            x.reblog_of_id == s.id and x.account_id == me for x in sb.statuses.values()
        ),
        "muted": (me, thread_root(v, s).id) in sb.muted_threads,
        "bookmarked": (me, s.id) in sb.bookmarks,
        "filtered": [],
    }
    if pinnable and s.account_id == me:
        flags["pinned"] = (me, s.id) in sb.pins
    return flags


def thread_root(v: View, s: r.Status) -> r.Status:
    """The first post of a status's thread (stops at a deleted parent)."""
    current = s
    while current.in_reply_to_id is not None and current.in_reply_to_id in v.sb.statuses:
        current = v.sb.statuses[current.in_reply_to_id]
    return current


def _mention_url(v: View, username: str) -> str | None:
    for a in v.sb.accounts.values():
        if a.username.lower() == username.lower():
            return v.profile_url(a.username)
    return None


def _mention(v: View, a: r.Account) -> dict[str, Any]:
    return {
        "id": a.id,
        "username": a.username,
        "url": v.profile_url(a.username),
        "acct": a.username,
    }


def media_attachment(v: View, m: r.Media) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    if m.focus is not None:
        meta["focus"] = {"x": m.focus[0], "y": m.focus[1]}
    file_url = f"{v.base}/_sandbox/media/{m.id}/original"
    preview = f"{v.base}/_sandbox/media/{m.id}/small"
    return {
        "id": m.id,
        "type": m.type,
        "url": file_url if m.processed else None,
        "preview_url": preview if m.processed or m.thumbnail is not None else None,
        "remote_url": None,
        "preview_remote_url": None,
        "text_url": None,
        "meta": meta,
        "description": m.description,
        "blurhash": _BLURHASH if m.processed and m.type != "audio" else None,
    }


def _poll(v: View, poll: r.Poll) -> dict[str, Any]:
    return {
        "id": poll.id,
        "expires_at": iso(poll.expires_at),
        "expired": poll.expires_at <= v.sb.now(),
        "multiple": poll.multiple,
        "votes_count": 0,
        "voters_count": 0 if poll.multiple else None,
        "options": [
            {"title": title, "votes_count": None if poll.hide_totals else 0}
            for title in poll.options
        ],
        "emojis": [],
        **({"voted": False, "own_votes": []} if v.viewer is not None else {}),
    }


def _quote(v: View, quoted_status_id: str | None) -> dict[str, Any] | None:
    if quoted_status_id is None:
        return None
    quoted = v.sb.statuses.get(quoted_status_id)
    if quoted is None:
        return {"state": "deleted", "quoted_status": None}
    return {"state": "accepted", "quoted_status": status(v, quoted)}


def _quote_approval(v: View, s: r.Status) -> dict[str, Any]:
    automatic = {"public": ["public"], "followers": ["followers"]}.get(s.quote_policy, [])
    if v.viewer is None:
        current = "unknown"
    elif (
        v.viewer == s.account_id
        or "public" in automatic
        or ("followers" in automatic and v.sb.is_following(v.viewer, s.account_id))
    ):
        current = "automatic"
    else:
        current = "denied"
    return {"automatic": automatic, "manual": [], "current_user": current}


def scheduled_status(v: View, row: r.ScheduledStatus) -> dict[str, Any]:
    """A ScheduledStatus: the post kept for later, with the params it was created with."""
    return {
        "id": row.id,
        "scheduled_at": iso(row.scheduled_at),
        "params": row.params,
        "media_attachments": [media_attachment(v, v.sb.media[m]) for m in row.media_ids],
    }
