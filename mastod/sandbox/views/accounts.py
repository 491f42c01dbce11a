"""Account, CredentialAccount and Relationship entities."""

from __future__ import annotations

import html
from typing import Any

from mastod.sandbox import records as r
from mastod.sandbox.text import iso, iso_day, to_html
from mastod.sandbox.views.base import View


def account(v: View, a: r.Account) -> dict[str, Any]:
    own = [s for s in v.sb.statuses.values() if s.account_id == a.id and s.visibility != "direct"]
    last = max((s.created_at for s in own), default=None)
    return {
        "id": a.id,
        "username": a.username,
        "acct": a.username,
        "display_name": a.display_name,
        "locked": a.locked,
        "bot": a.bot,
        "discoverable": a.discoverable,
        "indexable": a.indexable,
        "group": False,
        "created_at": iso_day(a.created_at),
        "note": to_html(a.note, v.base, lambda _name: None),
        "url": v.profile_url(a.username),
        "uri": f"{v.base}/users/{a.username}",
        "avatar": v.file_url(a.avatar),
        "avatar_static": v.file_url(a.avatar),
        "avatar_description": a.avatar_description,
        "header": v.file_url(a.header),
        "header_static": v.file_url(a.header),
        "header_description": a.header_description,
        "followers_count": len(v.sb.followers_of(a.id)),
        "following_count": sum(1 for f in v.sb.follows.values() if f.account_id == a.id),
        "statuses_count": len(own),
        "last_status_at": last.strftime("%Y-%m-%d") if last else None,
        "hide_collections": a.hide_collections,
        "noindex": False,
        "emojis": [],
        "roles": [],
        "fields": [
            {"name": name, "value": html.escape(value, quote=False), "verified_at": None}
            for name, value in a.fields
        ],
    }


def credential_account(v: View, a: r.Account) -> dict[str, Any]:
    requests = sum(1 for f in v.sb.follow_requests.values() if f.target_id == a.id)
    return {
        **account(v, a),
        "source": {
            "privacy": a.privacy,
            "sensitive": a.sensitive,
            "language": a.language or "",
            "note": a.note,
            "fields": [{"name": n, "value": val, "verified_at": None} for n, val in a.fields],
            "follow_requests_count": requests,
            "hide_collections": a.hide_collections,
            "discoverable": a.discoverable,
            "indexable": a.indexable,
            "attribution_domains": a.attribution_domains,
        },
        "role": {"id": "-99", "name": "", "permissions": "0", "color": "", "highlighted": False},
    }


def relationship(v: View, target_id: str) -> dict[str, Any]:
    me = v.viewer or ""
    sb = v.sb
    follow = sb.follows.get((me, target_id)) or sb.follow_requests.get((me, target_id))
    mute = sb.mutes.get((me, target_id))
    return {
        "id": target_id,
        "following": (me, target_id) in sb.follows,
        "showing_reblogs": follow.reblogs if follow else False,
        "notifying": follow.notify if follow else False,
        "languages": follow.languages if follow else None,
        "followed_by": (target_id, me) in sb.follows,
        "blocking": (me, target_id) in sb.blocks,
        "blocked_by": (target_id, me) in sb.blocks,
        "muting": mute is not None,
        "muting_notifications": mute.notifications if mute else False,
        "requested": (me, target_id) in sb.follow_requests,
        "requested_by": (target_id, me) in sb.follow_requests,
        "domain_blocking": False,
        "endorsed": (me, target_id) in sb.endorsements,
        "note": sb.notes.get((me, target_id), ""),
    }


def muted_account(v: View, a: r.Account, mute: r.Mute) -> dict[str, Any]:
    """An Account plus `mute_expires_at`, as `GET /api/v1/mutes` sends it."""
    expires = iso(mute.expires_at) if mute.expires_at else None
    return {**account(v, a), "mute_expires_at": expires}
