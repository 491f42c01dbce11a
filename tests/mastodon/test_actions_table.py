"""Every action, called through a real client against the fake upstream: verb, raw path, the
exact query or form pairs, and the shaped result. One row per action (two for path variants)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mastod import __version__
from mastod.actions._registry import collect
from mastod.mastodon.client import Api
from tests.mastodon.conftest import TOKEN, FakeUpstream, Reply

ACCOUNT = {"id": "1", "username": "alice", "acct": "alice", "fields": [], "emojis": []}
MEDIA = {"id": "m1", "type": "image", "url": "https://files/x.png", "description": "alt"}
TAG = {"name": "python", "url": "https://example/tags/python", "history": []}
STATUS = {
    "id": "109",
    "account": ACCOUNT,
    "content": "<p>hi</p>",
    "visibility": "public",
    "media_attachments": [MEDIA],
    "tags": [TAG],
    "reblog": None,
}
SHAPED = {
    "id": "109",
    "account": ACCOUNT,
    "content": "<p>hi</p>",
    "visibility": "public",
    "attachments": [MEDIA],
    "hashtags": [TAG],
    "reblog": None,
}
BOOST = {**STATUS, "id": "110", "media_attachments": [], "tags": [], "reblog": STATUS}
SHAPED_BOOST = {**SHAPED, "id": "110", "attachments": [], "hashtags": [], "reblog": SHAPED}
REL = {"id": "1", "following": True, "showing_reblogs": True, "notifying": False, "note": ""}
LIST = {"id": "3", "title": "Friends", "replies_policy": "list", "exclusive": False}
FILTER = {"id": "5", "phrase": "spoiler", "context": ["home"], "whole_word": True}
FEATURED = {"id": "4", "name": "python", "statuses_count": "3", "last_status_at": None}
CONV = {"id": "8", "unread": True, "accounts": [ACCOUNT], "last_status": STATUS}
SHAPED_CONV = {**CONV, "last_status": SHAPED}
NOTIF = {"id": "77", "type": "mention", "account": ACCOUNT, "status": STATUS}
SHAPED_NOTIF = {**NOTIF, "status": SHAPED}
SEARCH = {"accounts": [ACCOUNT], "statuses": [STATUS], "hashtags": [TAG]}
SHAPED_SEARCH = {"accounts": [ACCOUNT], "statuses": [SHAPED], "hashtags": [TAG]}
TOKEN_ENTITY = {"access_token": "new", "token_type": "Bearer", "scope": "read", "created_at": 1}
PNG = "<png>"  # replaced by the path of a real file
PNG_PART = "file:pixel.png:image/png:8"

S = "/api/v1/statuses/109"
A = "/api/v1/accounts/1"
L20 = [("limit", "20")]
TL = [("local", "false"), ("only_media", "false")]


def row(
    name: str,
    kwargs: dict[str, Any],
    verb: str,
    path: str,
    pairs: list[tuple[str, str]] | None = None,
    reply: Any = STATUS,
    expect: Any = SHAPED,
    variant: str = "",
) -> Any:
    return pytest.param(name, kwargs, verb, path, pairs or [], reply, expect, id=name + variant)


# fmt: off
TABLE = [
    row(
        "publish_status",
        {"status": "hi", "in_reply_to_id": 7, "media_ids": ["m1", 2], "sensitive": False,
         "visibility": "unlisted"},
        "POST", "/api/v1/statuses",
        [("status", "hi"), ("in_reply_to_id", "7"), ("media_ids[]", "m1"), ("media_ids[]", "2"),
         ("sensitive", "false"), ("visibility", "unlisted")],
    ),
    row("get_status", {"status_id": "109"}, "GET", S),
    row("remove_status", {"status_id": 109}, "DELETE", S),
    row("add_favourite_status", {"status_id": "109"}, "POST", f"{S}/favourite"),
    row("remove_favourite_status", {"status_id": "109"}, "POST", f"{S}/unfavourite"),
    row("bookmark_status", {"status_id": "109"}, "POST", f"{S}/bookmark"),
    row("undo_bookmark_status", {"status_id": "109"}, "POST", f"{S}/unbookmark"),
    row("reblog_status", {"status_id": "109"}, "POST", f"{S}/reblog", [], BOOST, SHAPED_BOOST),
    row("undo_reblog_status", {"status_id": "109"}, "POST", f"{S}/unreblog"),
    row("pin_status", {"status_id": "109"}, "POST", f"{S}/pin"),
    row("unpin_status", {"status_id": "109"}, "POST", f"{S}/unpin"),
    row("mute_status", {"status_id": "109"}, "POST", f"{S}/mute"),
    row("unmute_status", {"status_id": "109"}, "POST", f"{S}/unmute"),
    # the home feed ignores local/only_media: accepted, not sent
    row(
        "get_home_timeline", {"local": True, "only_media": True}, "GET", "/api/v1/timelines/home",
        L20, [STATUS], [SHAPED],
    ),
    row(
        "get_public_timeline",
        {"local": True, "remote": False, "only_media": True, "max_id": "99", "limit": 5,
         "offset": 40},
        "GET", "/api/v1/timelines/public",
        [("local", "true"), ("remote", "false"), ("only_media", "true"), ("max_id", "99"),
         ("limit", "5")],
        [STATUS], [SHAPED],
    ),
    row(
        "get_hashtag_timeline", {"hashtag": "café", "min_id": "5"},
        "GET", "/api/v1/timelines/tag/caf%C3%A9", [*TL, ("min_id", "5"), *L20], [], [],
    ),
    row(
        "get_list_timeline", {"list_id": 12, "limit": 40}, "GET", "/api/v1/timelines/list/12",
        [("limit", "40")], [STATUS], [SHAPED],
    ),
    row("get_account", {"account_id": "1"}, "GET", A, [], ACCOUNT, ACCOUNT),
    row(
        "get_statuses", {"account_id": 1, "min_id": "3"}, "GET", f"{A}/statuses",
        [("min_id", "3"), *L20], [STATUS], [SHAPED],
    ),
    row(
        "get_followers", {"account_id": "1", "since_id": "4", "limit": 80}, "GET",
        f"{A}/followers", [("since_id", "4"), ("limit", "80")], [ACCOUNT], [ACCOUNT],
    ),
    row("get_following", {"account_id": "1"}, "GET", f"{A}/following", L20, [ACCOUNT], [ACCOUNT]),
    row(
        "update_account",
        {"display_name": "Bot", "bot": True, "locked": False, "privacy": "unlisted",
         "language": "en", "metadata": [{"name": "a", "value": "b"}, {"name": "c", "value": ""}]},
        "PATCH", "/api/v1/accounts/update_credentials",
        [("bot", "true"), ("display_name", "Bot"), ("locked", "false"),
         ("source[privacy]", "unlisted"), ("source[language]", "en"),
         ("fields_attributes[0][name]", "a"), ("fields_attributes[0][value]", "b"),
         ("fields_attributes[1][name]", "c"), ("fields_attributes[1][value]", "")],
        ACCOUNT, ACCOUNT,
    ),
    row(
        "follow_account", {"account_id": "1", "notify": True}, "POST", f"{A}/follow",
        [("notify", "true")], REL, REL,
    ),
    row("unfollow_account", {"account_id": "1"}, "POST", f"{A}/unfollow", [], REL, REL),
    row("block_account", {"account_id": "1"}, "POST", f"{A}/block", [], REL, REL),
    row("unblock_account", {"account_id": "1"}, "POST", f"{A}/unblock", [], REL, REL),
    row("mute_account", {"account_id": "1"}, "POST", f"{A}/mute", [], REL, REL),
    row("unmute_account", {"account_id": "1"}, "POST", f"{A}/unmute", [], REL, REL),
    row("pin_account", {"account_id": "1"}, "POST", f"{A}/endorse", [], REL, REL),
    row("unpin_account", {"account_id": "1"}, "POST", f"{A}/unendorse", [], REL, REL),
    row(
        "set_account_note", {"account_id": "1", "note": ""}, "POST", f"{A}/note",
        [("comment", "")], REL, REL,
    ),
    row(
        "get_blocked_accounts", {"max_id": "9"}, "GET", "/api/v1/blocks",
        [("max_id", "9"), *L20], [ACCOUNT], [ACCOUNT],
    ),
    row("get_muted_accounts", {}, "GET", "/api/v1/mutes", L20, [ACCOUNT], [ACCOUNT]),
    row("get_lists", {}, "GET", "/api/v1/lists", [], [LIST], [LIST], "_all"),
    row("get_lists", {"list_id": 3}, "GET", "/api/v1/lists/3", [], LIST, LIST, "_one"),
    row(
        "create_list", {"title": "Friends"}, "POST", "/api/v1/lists",
        [("title", "Friends"), ("replies_policy", "list")], LIST, LIST,
    ),
    row(
        "update_list", {"list_id": 3, "title": "New", "replies_policy": "followed"}, "PUT",
        "/api/v1/lists/3", [("title", "New"), ("replies_policy", "followed")], LIST, LIST,
    ),
    row("delete_list", {"list_id": 3}, "DELETE", "/api/v1/lists/3", [], {}, None),
    row(
        "get_list_accounts", {"list_id": 3, "limit": 0}, "GET", "/api/v1/lists/3/accounts",
        [("limit", "0")], [ACCOUNT], [ACCOUNT],
    ),
    row(
        "add_accounts_to_list", {"list_id": 3, "account_ids": ["1", 2]}, "POST",
        "/api/v1/lists/3/accounts", [("account_ids[]", "1"), ("account_ids[]", "2")], {}, None,
    ),
    row(
        "remove_accounts_from_list", {"list_id": "3", "account_ids": ["1", "2"]}, "DELETE",
        "/api/v1/lists/3/accounts", [("account_ids[]", "1"), ("account_ids[]", "2")], {}, None,
    ),
    row(
        "get_featured_lists", {"account_id": "1", "limit": 5, "offset": 3}, "GET",
        f"{A}/lists", [], [LIST], [LIST],
    ),
    row("get_filters", {}, "GET", "/api/v1/filters", [], [FILTER], [FILTER]),
    row(
        "create_filter", {"phrase": "spoiler", "context": ["home", "thread"], "whole_word": True},
        "POST", "/api/v1/filters",
        [("phrase", "spoiler"), ("context[]", "home"), ("context[]", "thread"),
         ("whole_word", "true")],
        FILTER, FILTER,
    ),
    row(
        "update_filter", {"filter_id": 5, "irreversible": False, "expires_in": 0}, "PUT",
        "/api/v1/filters/5", [("irreversible", "false"), ("expires_in", "0")], FILTER, FILTER,
    ),
    row("remove_filter", {"filter_id": 5}, "DELETE", "/api/v1/filters/5", [], {}, None),
    row("get_featured_tags", {}, "GET", "/api/v1/featured_tags", [], [FEATURED], [FEATURED]),
    row(
        "get_featured_tags", {"account_id": "1", "limit": 3}, "GET", f"{A}/featured_tags", [],
        [FEATURED], [FEATURED], "_of_account",
    ),
    row(
        "add_featured_tag", {"name": "python"}, "POST", "/api/v1/featured_tags",
        [("name", "python")], FEATURED, FEATURED,
    ),
    row("remove_featured_tag", {"tag_id": 4}, "DELETE", "/api/v1/featured_tags/4", [], {}, None),
    row(
        "get_bookmarked_statuses", {"limit": 40}, "GET", "/api/v1/bookmarks", [("limit", "40")],
        [STATUS], [SHAPED],
    ),
    row(
        "get_favourited_statuses", {"min_id": "1"}, "GET", "/api/v1/favourites",
        [("min_id", "1"), *L20], [STATUS], [SHAPED],
    ),
    row("get_conversations", {}, "GET", "/api/v1/conversations", L20, [CONV], [SHAPED_CONV]),
    row(
        "remove_conversation", {"conversation_id": 8}, "DELETE", "/api/v1/conversations/8",
        [], {}, None,
    ),
    row(
        "mark_conversation_as_read", {"conversation_id": "8"}, "POST",
        "/api/v1/conversations/8/read", [], CONV, SHAPED_CONV,
    ),
    row("get_notifications", {}, "GET", "/api/v1/notifications", L20, [NOTIF], [SHAPED_NOTIF]),
    row(
        "get_notifications", {"notification_id": "77", "limit": 5}, "GET",
        "/api/v1/notifications/77", [], NOTIF, SHAPED_NOTIF, "_one",
    ),
    row("dismiss_notifications", {}, "POST", "/api/v1/notifications/clear", [], {}, None),
    row(
        "dismiss_notifications", {"notification_id": "77"}, "POST",
        "/api/v1/notifications/77/dismiss", [], {}, None, "_one",
    ),
    row(
        "search", {"query": "cats", "type": "statuses", "offset": 20}, "GET", "/api/v2/search",
        [("q", "cats"), ("type", "statuses"), ("limit", "20"), ("offset", "20"),
         ("following", "false")],
        SEARCH, SHAPED_SEARCH,
    ),
    row(
        "search", {"query": "cats"}, "GET", "/api/v2/search",
        [("q", "cats"), ("limit", "20"), ("following", "false")],  # offset=0 is not sent
        SEARCH, SHAPED_SEARCH, "_anonymous_safe",
    ),
    row(
        "upload_media", {"file": PNG, "description": "alt"}, "POST", "/api/v2/media",
        [("description", "alt"), ("file", PNG_PART)], MEDIA, MEDIA,
    ),
    row(
        "update_media", {"media_id": "m1", "description": "new", "thumbnail": PNG}, "PUT",
        "/api/v1/media/m1", [("description", "new"), ("thumbnail", PNG_PART)], MEDIA, MEDIA,
    ),
    row(
        "register_account", {"username": "u", "email": "u@example.org", "password": "pw"},
        "POST", "/api/v1/accounts",
        [("username", "u"), ("email", "u@example.org"), ("password", "pw"), ("locale", "en"),
         ("agreement", "true")],
        TOKEN_ENTITY, TOKEN_ENTITY,
    ),
]
# fmt: on
ACTIONS = {fn.__name__: fn for fn in collect()}
# Documented with a form body on DELETE (spec/actions.json wire_params, openapi.json).
DELETE_WITH_BODY = {"remove_accounts_from_list"}


def test_table_covers_every_action() -> None:
    assert {param.values[0] for param in TABLE} == set(ACTIONS)
    assert len(ACTIONS) == 59


@pytest.mark.parametrize(("name", "kwargs", "verb", "path", "pairs", "reply", "expect"), TABLE)
async def test_action(
    api: Api,
    upstream: FakeUpstream,
    tmp_path: Path,
    name: str,
    kwargs: dict[str, Any],
    verb: str,
    path: str,
    pairs: list[tuple[str, str]],
    reply: Any,
    expect: Any,
) -> None:
    png = tmp_path / "pixel.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n")
    kwargs = {key: str(png) if value == PNG else value for key, value in kwargs.items()}
    upstream.reply(Reply(body=reply))

    result = await ACTIONS[name](api, **kwargs)

    [seen] = upstream.seen
    assert (seen.method, seen.path) == (verb, path)
    in_query = verb == "GET" or (verb == "DELETE" and name not in DELETE_WITH_BODY)
    sent, unsent = (seen.query, seen.form) if in_query else (seen.form, seen.query)
    assert sent == pairs
    assert unsent == []
    assert result == expect
    assert seen.headers["Authorization"] == f"Bearer {TOKEN}"
    assert seen.headers["User-Agent"] == f"mastod/{__version__}"
