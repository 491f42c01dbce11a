"""The smaller entities: List, V1 Filter, FeaturedTag, Tag, Notification, Conversation,
WebPushSubscription, Token and Application."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from mastod.sandbox import records as r
from mastod.sandbox.text import iso
from mastod.sandbox.views.accounts import account
from mastod.sandbox.views.base import View
from mastod.sandbox.views.statuses import status


def user_list(lst: r.UserList) -> dict[str, Any]:
    return {
        "id": lst.id,
        "title": lst.title,
        "replies_policy": lst.replies_policy,
        "exclusive": lst.exclusive,
    }


def filter_v1(f: r.Filter) -> dict[str, Any]:
    return {
        "id": f.id,
        "phrase": f.phrase,
        "context": list(f.context),
        "whole_word": f.whole_word,
        "irreversible": f.irreversible,
        "expires_at": iso(f.expires_at) if f.expires_at else None,
    }


def featured_tag(v: View, ft: r.FeaturedTag) -> dict[str, Any]:
    owner = v.sb.account(ft.account_id)
    tagged = [
        s
        for s in v.sb.statuses.values()
        if s.account_id == owner.id
        and s.visibility in ("public", "unlisted")
        and ft.name.lower() in (t.lower() for t in s.tags)
    ]
    last = max((s.created_at for s in tagged), default=None)
    return {
        "id": ft.id,
        "name": ft.name,
        "url": f"{v.profile_url(owner.username)}/tagged/{ft.name.lower()}",
        "statuses_count": str(len(tagged)),
        "last_status_at": last.strftime("%Y-%m-%d") if last else None,
    }


def tag(v: View, t: r.Tag) -> dict[str, Any]:
    """A Tag with seven days of `history` (newest first), counted from the stored statuses."""
    today = v.sb.now().replace(hour=0, minute=0, second=0, microsecond=0)
    history = []
    for back in range(7):
        start = today - timedelta(days=back)
        day = [
            s
            for s in v.sb.statuses.values()
            if t.name.lower() in (x.lower() for x in s.tags)
            and start <= s.created_at < start + timedelta(days=1)
        ]
        history.append(
            {
                "day": str(int(start.timestamp())),
                "uses": str(len(day)),
                "accounts": str(len({s.account_id for s in day})),
            }
        )
    entity: dict[str, Any] = {
        "id": t.id,
        "name": t.name,
        "url": f"{v.base}/tags/{t.name.lower()}",
        "history": history,
    }
    if v.viewer is not None:
        entity["following"] = False
    return entity


def notification(v: View, n: r.Notification) -> dict[str, Any]:
    entity: dict[str, Any] = {
        "id": n.id,
        "type": n.type,
        "created_at": iso(n.created_at),
        "group_key": f"ungrouped-{n.id}",
        "account": account(v, v.sb.account(n.from_account_id)),
    }
    if n.status_id is not None and n.status_id in v.sb.statuses:
        entity["status"] = status(v, v.sb.statuses[n.status_id])
    return entity


def conversation(v: View, c: r.Conversation) -> dict[str, Any]:
    last = v.sb.statuses.get(c.last_status_id)
    others = [p for p in c.participant_ids if p != c.account_id] or [c.account_id]
    return {
        "id": c.id,
        "unread": c.unread,
        "accounts": [account(v, v.sb.account(p)) for p in others if p in v.sb.accounts],
        "last_status": status(v, last) if last else None,
    }


def push_subscription(v: View, sub: r.PushSubscription) -> dict[str, Any]:
    """As Mastodon's serializer: the `id` is a JSON integer and `policy` is included."""
    return {
        "id": sub.id,
        "endpoint": sub.endpoint,
        "standard": sub.standard,
        "alerts": dict(sub.alerts),
        "server_key": v.sb.vapid_public_key,
        "policy": sub.policy,
    }


def token(t: r.Token) -> dict[str, Any]:
    return {
        "access_token": t.token,
        "token_type": "Bearer",
        "scope": t.scope,
        "created_at": int(t.created_at.timestamp()),
    }


def application(v: View, app: r.App, *, with_secret: bool) -> dict[str, Any]:
    entity: dict[str, Any] = {
        "id": app.id,
        "name": app.name,
        "website": app.website,
        "scopes": list(app.scopes),
        "redirect_uri": "\n".join(app.redirect_uris),
        "redirect_uris": list(app.redirect_uris),
        "vapid_key": v.sb.vapid_public_key,
    }
    if with_secret:
        entity.update(
            client_id=app.client_id,
            client_secret=app.client_secret,
            client_secret_expires_at=0,
        )
    return entity
