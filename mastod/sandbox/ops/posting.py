"""Posting and deleting statuses (`PostStatusService`, `RemoveStatusService`)."""

from __future__ import annotations

from collections.abc import Sequence

from mastod.sandbox import records as r
from mastod.sandbox.constants import MAX_CHARACTERS, MAX_MEDIA_ATTACHMENTS
from mastod.sandbox.errors import ApiError, invalid, unprocessable
from mastod.sandbox.ops.notify import forget_status, notify
from mastod.sandbox.ops.visibility import can_see
from mastod.sandbox.state import Sandbox
from mastod.sandbox.text import hashtags, mentioned_usernames

VISIBILITIES = ("public", "unlisted", "private", "direct")
QUOTABLE = ("public", "unlisted")


def post_status(
    sb: Sandbox,
    actor: str,
    text: str,
    *,
    visibility: str | None = None,
    sensitive: bool = False,
    spoiler_text: str = "",
    in_reply_to_id: str | None = None,
    media_ids: Sequence[str] = (),
    language: str | None = None,
    app_id: str | None = None,
    poll: r.Poll | None = None,
    quoted_status_id: str | None = None,
    quote_policy: str | None = None,
) -> r.Status:
    """Create a status, with its tags, mentions, media, conversation and notifications."""
    parent = _parent(sb, actor, in_reply_to_id)
    media = _media(sb, actor, media_ids)
    visibility = visibility or sb.account(actor).privacy
    if visibility not in VISIBILITIES:
        raise invalid("Visibility is not included in the list")
    if not text.strip() and not media and poll is None:
        raise invalid("Text can't be blank")
    if len(text) + len(spoiler_text) > MAX_CHARACTERS:
        raise invalid(f"Text character limit of {MAX_CHARACTERS} exceeded")
    mentions = [a.id for name in mentioned_usernames(text) if (a := _local(sb, name))]
    status = r.Status(
        sb.next_id("status"),
        actor,
        text,
        sb.now(),
        visibility=visibility,
        sensitive=sensitive or bool(spoiler_text),
        spoiler_text=spoiler_text,
        language=language or sb.account(actor).language or "en",
        in_reply_to_id=parent.id if parent else None,
        in_reply_to_account_id=parent.account_id if parent else None,
        media_ids=[m.id for m in media],
        tags=[sb.tag(name).name for name in hashtags(text)],
        mention_ids=mentions,
        app_id=app_id,
        poll=poll,
        quoted_status_id=quoted_status_id,
        # private and direct posts can never be quoted by others (Mastodon forces `nobody`)
        quote_policy=(quote_policy or "public") if visibility in QUOTABLE else "nobody",
    )
    sb.statuses[status.id] = status
    for m in media:
        m.status_id = status.id
    if visibility == "direct":
        _update_conversations(sb, status)
    for recipient in mentions:
        if can_see(sb, recipient, status):
            notify(sb, recipient, "mention", actor, status.id)
    if visibility != "direct" and (parent is None or parent.account_id == actor):
        for f in sb.followers_of(actor):
            if f.notify and f.account_id not in mentions:
                notify(sb, f.account_id, "status", actor, status.id)
    return status


def _parent(sb: Sandbox, actor: str, in_reply_to_id: str | None) -> r.Status | None:
    if not in_reply_to_id:
        return None
    parent = sb.statuses.get(in_reply_to_id)
    if parent is None or parent.reblog_of_id is not None or not can_see(sb, actor, parent):
        raise ApiError(404, "The post you are trying to reply to does not appear to exist.")
    return parent


def _media(sb: Sandbox, actor: str, media_ids: Sequence[str]) -> list[r.Media]:
    if len(media_ids) > MAX_MEDIA_ATTACHMENTS:
        raise unprocessable(f"Cannot attach more than {MAX_MEDIA_ATTACHMENTS} files.")
    found = [sb.media.get(i) for i in media_ids]
    usable = [m for m in found if m and m.account_id == actor and m.status_id is None]
    if len(usable) != len(media_ids):
        missing = [i for i, m in zip(media_ids, found, strict=True) if m not in usable]
        raise unprocessable(f"Media {', '.join(missing)} not found")
    if any(not m.processed for m in usable):
        raise unprocessable(
            "Cannot attach files that have not finished processing. Try again in a moment!"
        )
    return usable


def _local(sb: Sandbox, username: str) -> r.Account | None:
    return next((a for a in sb.accounts.values() if a.username.lower() == username.lower()), None)


def _update_conversations(sb: Sandbox, status: r.Status) -> None:
    participants = tuple(sorted({status.account_id, *status.mention_ids}))
    for owner in participants:
        row = next(
            (
                c
                for c in sb.conversations.values()
                if c.account_id == owner and c.participant_ids == participants
            ),
            None,
        )
        if row is None:
            row = r.Conversation(sb.next_id("conversation"), owner, participants, status.id)
            sb.conversations[row.id] = row
        row.last_status_id = status.id
        row.unread = owner != status.account_id


def delete_status(sb: Sandbox, status: r.Status, *, delete_media: bool = False) -> None:
    """Remove a status and what hangs on it; its media are freed for a redraft by default."""
    for reblog in [s for s in sb.statuses.values() if s.reblog_of_id == status.id]:
        delete_status(sb, reblog)
    del sb.statuses[status.id]
    for table in (sb.favourites, sb.bookmarks, sb.pins):
        for key in [k for k in table if k[1] == status.id]:
            del table[key]
    for mid in status.media_ids:
        if delete_media:
            sb.media.pop(mid, None)
        elif mid in sb.media:
            sb.media[mid].status_id = None
    for conversation_id in [
        k for k, c in sb.conversations.items() if c.last_status_id == status.id
    ]:
        del sb.conversations[conversation_id]
    forget_status(sb, status.id)
