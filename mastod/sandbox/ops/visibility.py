"""Who may see which status, and which statuses make up the timelines."""

from __future__ import annotations

from collections.abc import Iterable

from mastod.sandbox import records as r
from mastod.sandbox.state import Sandbox


def can_see(sb: Sandbox, viewer: str | None, s: r.Status) -> bool:
    """Mastodon's `StatusPolicy#show?` for local statuses."""
    if s.reblog_of_id is not None:
        original = sb.statuses.get(s.reblog_of_id)
        if original is None or not can_see(sb, viewer, original):
            return False
    if viewer == s.account_id:
        return True
    if viewer is not None and sb.blocked_either(viewer, s.account_id):
        return False
    if s.visibility in ("public", "unlisted"):
        return True
    if viewer is None:
        return False
    if s.visibility == "private" and sb.is_following(viewer, s.account_id):
        return True
    return viewer in s.mention_ids


def hidden_by_mute(sb: Sandbox, viewer: str | None, s: r.Status) -> bool:
    """Statuses a timeline leaves out because the viewer muted or blocked their author."""
    if viewer is None:
        return False
    authors = {s.account_id}
    if s.reblog_of_id is not None and s.reblog_of_id in sb.statuses:
        authors.add(sb.statuses[s.reblog_of_id].account_id)
    return any((viewer, a) in sb.mutes or (viewer, a) in sb.blocks for a in authors)


def visible(sb: Sandbox, viewer: str | None, statuses: Iterable[r.Status]) -> list[r.Status]:
    return [s for s in statuses if can_see(sb, viewer, s) and not hidden_by_mute(sb, viewer, s)]


def home(sb: Sandbox, viewer: str) -> list[r.Status]:
    """The viewer's own statuses, those of followed accounts, and direct mentions of the viewer."""
    followed = {f.target_id: f for f in sb.follows.values() if f.account_id == viewer}
    chosen = []
    for s in sb.statuses.values():
        if s.account_id == viewer or viewer in s.mention_ids:
            chosen.append(s)
            continue
        follow = followed.get(s.account_id)
        if follow is None or (s.reblog_of_id is not None and not follow.reblogs):
            continue
        if s.visibility != "direct":
            chosen.append(s)
    return visible(sb, viewer, chosen)


def has_tag(s: r.Status, name: str) -> bool:
    return name.lower() in (t.lower() for t in s.tags)


def has_media(sb: Sandbox, s: r.Status) -> bool:
    original = sb.statuses.get(s.reblog_of_id) if s.reblog_of_id else s
    return bool(original and original.media_ids)
