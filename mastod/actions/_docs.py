"""What `rpc.discover` says about each action beyond its signature: the OAuth scope it needs
and what each parameter means (the plugin reference's words; Mastodon's docs for the
parameters the reference lacks). A parameter is described by its action's entry, else by
the shared entry of its name; a test checks that every parameter has one.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Scope:
    """The OAuth scope an action's endpoint requires; `optional`: it also answers without a
    token (public data only)."""

    name: str
    optional: bool = False


SCOPES: dict[str, Scope] = {
    "add_accounts_to_list": Scope("write:lists"),
    "add_favourite_status": Scope("write:favourites"),
    "add_featured_tag": Scope("write:accounts"),
    "block_account": Scope("write:blocks"),
    "bookmark_status": Scope("write:bookmarks"),
    "create_filter": Scope("write:filters"),
    "create_list": Scope("write:lists"),
    "delete_list": Scope("write:lists"),
    "dismiss_notifications": Scope("write:notifications"),
    "follow_account": Scope("write:follows"),
    "get_account": Scope("read:accounts", optional=True),
    "get_blocked_accounts": Scope("read:blocks"),
    "get_bookmarked_statuses": Scope("read:bookmarks"),
    "get_conversations": Scope("read:statuses"),
    "get_favourited_statuses": Scope("read:favourites"),
    "get_featured_lists": Scope("read:lists"),
    "get_featured_tags": Scope("read:accounts"),
    "get_filters": Scope("read:filters"),
    "get_followers": Scope("read:accounts", optional=True),
    "get_following": Scope("read:accounts", optional=True),
    "get_hashtag_timeline": Scope("read:statuses", optional=True),
    "get_home_timeline": Scope("read:statuses"),
    "get_list_accounts": Scope("read:lists"),
    "get_list_timeline": Scope("read:lists"),
    "get_lists": Scope("read:lists"),
    "get_muted_accounts": Scope("read:mutes"),
    "get_notifications": Scope("read:notifications"),
    "get_public_timeline": Scope("read:statuses", optional=True),
    "get_status": Scope("read:statuses", optional=True),
    "get_statuses": Scope("read:statuses", optional=True),
    "mark_conversation_as_read": Scope("write:conversations"),
    "mute_account": Scope("write:mutes"),
    "mute_status": Scope("write:mutes"),
    "pin_account": Scope("write:accounts"),
    "pin_status": Scope("write:accounts"),
    "publish_status": Scope("write:statuses"),
    "reblog_status": Scope("write:statuses"),
    "register_account": Scope("write:accounts"),
    "remove_accounts_from_list": Scope("write:lists"),
    "remove_conversation": Scope("write:conversations"),
    "remove_favourite_status": Scope("write:favourites"),
    "remove_featured_tag": Scope("write:accounts"),
    "remove_filter": Scope("write:filters"),
    "remove_status": Scope("write:statuses"),
    "search": Scope("read:search", optional=True),
    "set_account_note": Scope("write:accounts"),
    "unblock_account": Scope("write:blocks"),
    "undo_bookmark_status": Scope("write:bookmarks"),
    "undo_reblog_status": Scope("write:statuses"),
    "unfollow_account": Scope("write:follows"),
    "unmute_account": Scope("write:mutes"),
    "unmute_status": Scope("write:mutes"),
    "unpin_account": Scope("write:accounts"),
    "unpin_status": Scope("write:accounts"),
    "update_account": Scope("write:accounts"),
    "update_filter": Scope("write:filters"),
    "update_list": Scope("write:lists"),
    "update_media": Scope("write:media"),
    "upload_media": Scope("write:media"),
}

_IGNORED = "Accepted for compatibility with the reference; not sent (Mastodon ignores it)."
_FILE = (
    'The file: inline content {"data": "<base64>", "filename": "..."}, or the path of a '
    "file inside `media.upload_dirs`."
)

# By parameter name, for every action that has it (unless the action's own entry says more).
SHARED: dict[str, str] = {
    "account_id": "Account ID.",
    "account_ids": "Account IDs.",
    "status_id": "Status ID.",
    "list_id": "List ID.",
    "conversation_id": "Conversation ID.",
    "filter_id": "Filter ID.",
    "tag_id": "Featured tag ID.",
    "media_id": "Media attachment ID.",
    "notification_id": "Notification ID.",
    "max_id": "Return results older than this ID (a Link cursor: use `paginate` to page on).",
    "min_id": "Return results immediately newer than this ID.",
    "since_id": "Return the newest results newer than this ID.",
    "limit": (
        "Maximum number of results (default: 20). Mastodon caps it: 40 for statuses and "
        "notifications, 80 for accounts."
    ),
    "offset": _IGNORED,
    "local": "Retrieve only local statuses (default: false).",
    "remote": "Retrieve only remote statuses.",
    "only_media": "Retrieve only statuses with media attached (default: false).",
    "title": "List title.",
    "replies_policy": "Which replies to show: `followed`, `list` or `none` (default: `list`).",
    "exclusive": "Hide the list members' posts from the home timeline.",
    "phrase": "Text to be filtered.",
    "context": (
        "Where the filter applies: `home`, `notifications`, `public`, `thread`, `account`. "
        "At least one."
    ),
    "irreversible": "Drop matching entities from home and notifications for good.",
    "whole_word": "Consider word boundaries.",
    "expires_in": "Expire in this many seconds.",
    "description": "Alt text of the media, for the visually impaired.",
    "thumbnail": "Thumbnail of audio or video media. " + _FILE,
    "focus": 'Focal point "x,y", each from -1.0 to 1.0 (e.g. "0.0,0.5").',
    "visibility": "`public`, `unlisted`, `private` or `direct`.",
    "language": "ISO 639-1 language code.",
    "sensitive": "Mark as sensitive.",
    "note": "Note content.",
    "base_url": (
        "Per-call override: the instance to call (its own token is then needed in "
        "`access_token`, the configured one goes only to the configured instance)."
    ),
    "access_token": "Per-call override: the OAuth token to use for this call.",
}

# Per action: what the shared entry does not say, or says differently.
PARAMS: dict[str, dict[str, str]] = {
    "add_accounts_to_list": {"account_ids": "Accounts to add (only accounts you follow)."},
    "remove_accounts_from_list": {"account_ids": "Accounts to remove."},
    "add_featured_tag": {"name": "Hashtag name, without the #."},
    "dismiss_notifications": {"notification_id": "Dismiss only this notification (else all)."},
    "follow_account": {
        "notify": (
            "Be notified when this account posts. Not given (null): left as it is on an "
            "existing follow, Mastodon's default (false) on a new one."
        ),
        "reblogs": (
            "Show this account's reblogs in the home timeline. Not given (null): left as it "
            "is on an existing follow, Mastodon's default (true) on a new one."
        ),
        "languages": (
            "Show only posts in these ISO 639-1 languages. Not given (null): left as it is "
            "(all languages on a new follow)."
        ),
    },
    "get_account": {"account_id": "Account ID to retrieve."},
    "get_featured_tags": {
        "account_id": "Account whose featured tags to get (default: your own).",
        "max_id": _IGNORED,
        "since_id": _IGNORED,
        "limit": _IGNORED,
    },
    "get_featured_lists": {"max_id": _IGNORED, "since_id": _IGNORED, "limit": _IGNORED},
    "get_hashtag_timeline": {
        "hashtag": "Hashtag, without the #.",
        "any": "Also statuses with any of these hashtags.",
        "all": "Only statuses that also have all of these hashtags.",
        "none": "No statuses that have any of these hashtags.",
    },
    "get_home_timeline": {"local": _IGNORED, "only_media": _IGNORED},
    "get_list_accounts": {
        "list_id": "List ID (required, despite the reference's default).",
        "min_id": _IGNORED,
        "limit": "Maximum number of results (default: 20; 0: every member at once).",
    },
    "get_lists": {"list_id": "Retrieve this list only (default: all of them)."},
    "get_notifications": {
        "notification_id": "Retrieve only this notification.",
        "types": "Only notifications of these types (`mention`, `follow`, `favourite`, ...).",
        "exclude_types": "No notifications of these types.",
        "account_id": "Only notifications from this account.",
    },
    "get_statuses": {
        "pinned": "Only pinned statuses.",
        "tagged": "Only statuses with this hashtag (without the #).",
        "exclude_replies": "No replies to other accounts.",
        "exclude_reblogs": "No reblogs.",
    },
    "mute_account": {
        "notifications": "Also mute notifications from the account (Mastodon's default: true).",
        "duration": "Seconds until the mute ends (0 or not given: indefinite).",
    },
    "publish_status": {
        "status": "Text of the status.",
        "in_reply_to_id": "Post in reply to this status.",
        "media_ids": "Media attachment IDs to attach (from `upload_media`).",
        "spoiler_text": "Content warning shown before the text.",
        "sensitive": "Mark the status and its media as sensitive.",
        "idempotency_key": (
            "Idempotency-Key header: a retry with the same key never posts twice (default: "
            "a new key per call)."
        ),
        "poll": (
            "A poll: `options` (strings), `expires_in` (seconds), `multiple` and "
            "`hide_totals` (booleans). Not with `media_ids`."
        ),
        "language": "ISO 639-1 language code of the status.",
        "scheduled_at": (
            "ISO 8601 time, at least 5 minutes ahead, to publish at: the result is then a "
            "ScheduledStatus, not a Status."
        ),
        "quoted_status_id": "Quote this status (Mastodon 4.5+).",
        "quote_approval_policy": (
            "Who may quote this status: `public`, `followers` or `nobody` (Mastodon 4.5+)."
        ),
    },
    "reblog_status": {"visibility": "Visibility of the reblog: `public`, `unlisted`, `private`."},
    "remove_status": {"delete_media": "Also delete the status's media at once."},
    "register_account": {
        "username": "User name.",
        "email": "E-mail address (must be valid; it is confirmed before most calls work).",
        "password": "Password of the new account.",
        "locale": "Language of the confirmation e-mail.",
        "reason": "Why you want to join, when registrations need approval.",
        "client_id": "Your app's client ID, to fetch an app token for this call.",
        "client_secret": "Your app's client secret, with `client_id`.",
        "date_of_birth": "Date of birth, YYYY-MM-DD (required by instances with a minimum age).",
        "invite_code": "Invite code, for instances that register by invitation.",
    },
    "search": {
        "query": "Search query.",
        "type": "Search only `accounts`, `hashtags` or `statuses`.",
        "following": "Only accounts you follow (default: false).",
        "offset": "Skip this many results (honoured with `type`; needs a user token).",
        "resolve": "Look up remote accounts and statuses by URL or handle (needs a user token).",
        "account_id": "Only statuses by this account.",
        "exclude_unreviewed": "No hashtags that moderators have not reviewed.",
    },
    "set_account_note": {"note": "Private note about the account."},
    "update_account": {
        "discoverable": "List the account in the profile directory.",
        "bot": "The account is a bot.",
        "display_name": "Display name.",
        "note": "Bio.",
        "avatar": "Avatar image. " + _FILE,
        "header": "Header image. " + _FILE,
        "locked": "Approve follow requests manually.",
        "privacy": "Default visibility of new posts: `public`, `unlisted` or `private`.",
        "sensitive": "Mark new posts as sensitive by default.",
        "language": "Default language of new posts (ISO 639-1).",
        "metadata": 'Profile fields: a list of {"name", "value"}.',
        "hide_collections": "Hide who you follow and who follows you.",
        "indexable": "Let public posts appear in search results.",
        "attribution_domains": "Domains allowed to credit you as an article's author.",
        "avatar_description": "Alt text of the avatar.",
        "header_description": "Alt text of the header.",
    },
    "update_filter": {"phrase": "New text to be filtered."},
    "update_list": {"title": "New list title (null: keep)."},
    "update_media": {
        "file": "Refused: Mastodon cannot replace an uploaded file; upload a new one.",
        "description": "New alt text.",
    },
    "upload_media": {"file": "The media to upload. " + _FILE},
}


def param_docs(action: str) -> dict[str, str]:
    """Descriptions of `action`'s parameters by name (shared ones, then its own)."""
    return {**SHARED, **PARAMS.get(action, {})}
