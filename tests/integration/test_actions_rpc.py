"""All 59 actions through the real RPC stack (Unix socket -> dispatch -> request core) against
the sandbox instance: the HTTP verb, raw path and query/body Mastodon receives, and the shape
of the result the caller gets. One table, one test."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mastod import __version__
from mastod.actions._registry import collect
from mastod.sandbox import CLIENT_ID, CLIENT_SECRET, OWNER_TOKEN, RunningSandbox, Sandbox
from mastod.sandbox import records as r
from mastod.sandbox.ops.relations import block, follow, mute
from mastod.sandbox.params import Upload
from mastod.sandbox.seed import png
from tests.integration.conftest import Rpc, sent

# -- result shapes ---------------------------------------------------------------------------


def status(v: Any) -> bool:
    return (
        isinstance(v, dict)
        and isinstance(v["id"], str)
        and {"attachments", "hashtags", "account", "content"} <= v.keys()
        and not {"media_attachments", "tags"} & v.keys()
        and (v["reblog"] is None or status(v["reblog"]))
    )


def account(v: Any) -> bool:
    return isinstance(v, dict) and isinstance(v["id"], str) and "acct" in v


def relationship(v: Any) -> bool:
    return isinstance(v, dict) and {"id", "following", "blocking", "muting", "note"} <= v.keys()


def one_of(kind: str) -> Callable[[Any], bool]:
    keys = {
        "list": {"id", "title", "replies_policy"},
        "filter": {"id", "phrase", "context", "whole_word"},
        "tag": {"id", "name", "statuses_count"},
        "media": {"id", "type", "url", "description"},
        "token": {"access_token", "token_type", "scope"},
        "notification": {"id", "type", "account"},
    }[kind]
    return lambda v: (
        isinstance(v, dict)
        and keys <= v.keys()
        and isinstance(v["id" if "id" in keys else "scope"], str)
    )


def conversation(v: Any) -> bool:
    return (
        isinstance(v, dict)
        and {"id", "accounts", "unread"} <= v.keys()
        and status(v["last_status"])
    )


def search(v: Any) -> bool:
    return (
        isinstance(v, dict)
        and v.keys() >= {"accounts", "statuses", "hashtags"}
        and all(status(s) for s in v["statuses"])
    )


def many(check: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, list) and len(v) > 0 and all(check(x) for x in v)


def null(v: Any) -> bool:
    return v is None


# -- the world each row runs in ---------------------------------------------------------------


class Int(str):
    """An id passed as a JSON integer (every `*_id` takes a string or an integer)."""


@dataclass
class World:
    ids: dict[str, str]

    def fill(self, value: Any) -> Any:
        if isinstance(value, Int):
            return int(value.format(**self.ids))
        if isinstance(value, str):
            return value.format(**self.ids)
        if isinstance(value, list | tuple):
            return type(value)(self.fill(v) for v in value)
        if isinstance(value, dict):
            return {k: self.fill(v) for k, v in value.items()}
        return value


def make_world(sb: Sandbox, tmp_path: Path) -> World:
    alice = sb.account_by_username("alice").id
    bob = sb.account_by_username("bob").id
    carol = sb.account_by_username("carol").id
    erin = r.Account(sb.next_id("account"), "erin", "Erin", sb.now())
    sb.accounts[erin.id] = erin
    follow(sb, alice, carol)  # Mastodon lets you list only accounts you follow
    block(sb, alice, erin.id)
    mute(sb, alice, erin.id, notifications=True, duration=0)

    def status_of(author: str, needle: str) -> str:
        return next(
            s.id for s in sb.statuses.values() if s.account_id == author and needle in s.text
        )

    flt = r.Filter(sb.next_id("filter"), alice, "spoiler", ["home"])
    sb.filters[flt.id] = flt
    media = r.Media(sb.next_id("media"), alice, "image", "image/png", "a.png", png(), sb.now())
    sb.media[media.id] = media
    return World(
        {
            "alice": alice,
            "bob": bob,
            "carol": carol,
            "s1": status_of(alice, "Hello from the sandbox"),
            "greeting": status_of(bob, "welcome to the sandbox"),
            "list": next(iter(sb.lists)),
            "tag": next(iter(sb.featured_tags)),
            "filter": flt.id,
            "media": media.id,
            "conv": next(c.id for c in sb.conversations.values() if c.account_id == alice),
            "notif": next(n.id for n in sb.notifications.values() if n.account_id == alice),
        }
    )


# -- the table --------------------------------------------------------------------------------

Pairs = list[tuple[str, str]]
PIXEL_PART = f"file:pixel.png:image/png:{len(png(2, 2))}"  # a multipart file part, as sent
# a file parameter's content given inline (a path would need media.upload_dirs)
PIXEL_INLINE = {"data": base64.b64encode(png(2, 2)).decode(), "filename": "pixel.png"}
ROWS: list[tuple[str, dict[str, Any], str, str, Pairs, Callable[[Any], bool]]] = [
    # (method, params, verb, raw path, query or body pairs sent, result shape)
    (
        "add_accounts_to_list",
        {"list_id": "{list}", "account_ids": ["{carol}"]},
        "POST",
        "/api/v1/lists/{list}/accounts",
        [("account_ids[]", "{carol}")],
        null,
    ),
    (
        "add_favourite_status",
        {"status_id": "{greeting}"},
        "POST",
        "/api/v1/statuses/{greeting}/favourite",
        [],
        status,
    ),
    (
        "add_featured_tag",
        {"name": "sandbox"},
        "POST",
        "/api/v1/featured_tags",
        [("name", "sandbox")],
        one_of("tag"),
    ),
    (
        "block_account",
        {"account_id": "{bob}"},
        "POST",
        "/api/v1/accounts/{bob}/block",
        [],
        relationship,
    ),
    (
        "bookmark_status",
        {"status_id": "{s1}"},
        "POST",
        "/api/v1/statuses/{s1}/bookmark",
        [],
        status,
    ),
    (
        "create_filter",
        {"phrase": "spoiler", "context": ["home", "public"], "whole_word": False},
        "POST",
        "/api/v1/filters",
        [
            ("phrase", "spoiler"),
            ("context[]", "home"),
            ("context[]", "public"),
            ("whole_word", "false"),
        ],
        one_of("filter"),
    ),
    (
        "create_list",
        {"title": "Work", "replies_policy": "followed"},
        "POST",
        "/api/v1/lists",
        [("title", "Work"), ("replies_policy", "followed")],
        one_of("list"),
    ),
    ("delete_list", {"list_id": "{list}"}, "DELETE", "/api/v1/lists/{list}", [], null),
    (
        "dismiss_notifications",
        {"notification_id": "{notif}"},
        "POST",
        "/api/v1/notifications/{notif}/dismiss",
        [],
        null,
    ),
    ("dismiss_notifications", {}, "POST", "/api/v1/notifications/clear", [], null),
    (
        "follow_account",
        {"account_id": "{carol}", "notify": True, "reblogs": False},
        "POST",
        "/api/v1/accounts/{carol}/follow",
        [("notify", "true"), ("reblogs", "false")],
        relationship,
    ),
    ("get_account", {"account_id": "{bob}"}, "GET", "/api/v1/accounts/{bob}", [], account),
    (
        "get_blocked_accounts",
        {"limit": 5},
        "GET",
        "/api/v1/blocks",
        [("limit", "5")],
        many(account),
    ),
    (
        "get_bookmarked_statuses",
        {"limit": 5},
        "GET",
        "/api/v1/bookmarks",
        [("limit", "5")],
        many(status),
    ),
    (
        "get_conversations",
        {},
        "GET",
        "/api/v1/conversations",
        [("limit", "20")],
        many(conversation),
    ),
    (
        "get_favourited_statuses",
        {},
        "GET",
        "/api/v1/favourites",
        [("limit", "20")],
        lambda v: v == [],
    ),
    (
        "get_featured_lists",
        {"account_id": "{bob}"},
        "GET",
        "/api/v1/accounts/{bob}/lists",
        [],
        many(one_of("list")),
    ),
    ("get_featured_tags", {}, "GET", "/api/v1/featured_tags", [], many(one_of("tag"))),
    (
        "get_featured_tags",
        {"account_id": "{alice}"},
        "GET",
        "/api/v1/accounts/{alice}/featured_tags",
        [],
        many(one_of("tag")),
    ),
    ("get_filters", {}, "GET", "/api/v1/filters", [], many(one_of("filter"))),
    (
        "get_followers",
        {"account_id": "{alice}", "limit": 2},
        "GET",
        "/api/v1/accounts/{alice}/followers",
        [("limit", "2")],
        many(account),
    ),
    (
        "get_following",
        {"account_id": "{alice}"},
        "GET",
        "/api/v1/accounts/{alice}/following",
        [("limit", "20")],
        many(account),
    ),
    (
        "get_hashtag_timeline",
        {"hashtag": "introductions", "local": True},
        "GET",
        "/api/v1/timelines/tag/introductions",
        [("local", "true"), ("only_media", "false"), ("limit", "20")],
        many(status),
    ),
    (
        "get_home_timeline",
        {"limit": 3, "local": True},
        "GET",
        "/api/v1/timelines/home",
        [("limit", "3")],
        many(status),
    ),
    (
        "get_list_accounts",
        {"list_id": "{list}"},
        "GET",
        "/api/v1/lists/{list}/accounts",
        [("limit", "20")],
        many(account),
    ),
    (
        "get_list_timeline",
        {"list_id": "{list}", "max_id": "999999999999999999"},
        "GET",
        "/api/v1/timelines/list/{list}",
        [("max_id", "999999999999999999"), ("limit", "20")],
        many(status),
    ),
    ("get_lists", {}, "GET", "/api/v1/lists", [], many(one_of("list"))),
    ("get_lists", {"list_id": "{list}"}, "GET", "/api/v1/lists/{list}", [], one_of("list")),
    ("get_muted_accounts", {}, "GET", "/api/v1/mutes", [("limit", "20")], many(account)),
    (
        "get_notifications",
        {"limit": 3},
        "GET",
        "/api/v1/notifications",
        [("limit", "3")],
        many(one_of("notification")),
    ),
    (
        "get_notifications",
        {"notification_id": "{notif}"},
        "GET",
        "/api/v1/notifications/{notif}",
        [],
        one_of("notification"),
    ),
    (
        "get_public_timeline",
        {"local": True, "only_media": True},
        "GET",
        "/api/v1/timelines/public",
        [("local", "true"), ("remote", "false"), ("only_media", "true"), ("limit", "20")],
        many(status),
    ),
    ("get_status", {"status_id": "{s1}"}, "GET", "/api/v1/statuses/{s1}", [], status),
    (
        "get_statuses",
        {"account_id": "{bob}", "limit": 2},
        "GET",
        "/api/v1/accounts/{bob}/statuses",
        [("limit", "2")],
        many(status),
    ),
    (
        "mark_conversation_as_read",
        {"conversation_id": "{conv}"},
        "POST",
        "/api/v1/conversations/{conv}/read",
        [],
        conversation,
    ),
    (
        "mute_account",
        {"account_id": "{carol}"},
        "POST",
        "/api/v1/accounts/{carol}/mute",
        [],
        relationship,
    ),
    ("mute_status", {"status_id": "{s1}"}, "POST", "/api/v1/statuses/{s1}/mute", [], status),
    (
        "pin_account",
        {"account_id": "{bob}"},
        "POST",
        "/api/v1/accounts/{bob}/endorse",
        [],
        relationship,
    ),
    ("pin_status", {"status_id": "{s1}"}, "POST", "/api/v1/statuses/{s1}/pin", [], status),
    (
        "publish_status",
        {
            "status": "Hi #mastod",
            "media_ids": ["{media}"],
            "sensitive": False,
            "visibility": "unlisted",
            "spoiler_text": "cw",
        },
        "POST",
        "/api/v1/statuses",
        [
            ("status", "Hi #mastod"),
            ("media_ids[]", "{media}"),
            ("sensitive", "false"),
            ("spoiler_text", "cw"),
            ("visibility", "unlisted"),
        ],
        lambda v: status(v) and len(v["attachments"]) == 1 and v["hashtags"][0]["name"] == "mastod",
    ),
    (
        "reblog_status",
        {"status_id": "{greeting}"},
        "POST",
        "/api/v1/statuses/{greeting}/reblog",
        [],
        lambda v: status(v) and v["reblog"] is not None,
    ),
    (
        "register_account",
        {
            "username": "dave",
            "email": "dave@sandbox.invalid",
            "password": "correct horse battery",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        },
        "POST",
        "/api/v1/accounts",
        [
            ("username", "dave"),
            ("email", "dave@sandbox.invalid"),
            ("password", "correct horse battery"),
            ("locale", "en"),
            ("agreement", "true"),
        ],
        one_of("token"),
    ),
    (
        "remove_accounts_from_list",
        {"list_id": "{list}", "account_ids": ["{bob}"]},
        "DELETE",
        "/api/v1/lists/{list}/accounts",
        [("account_ids[]", "{bob}")],
        null,
    ),
    (
        "remove_conversation",
        {"conversation_id": "{conv}"},
        "DELETE",
        "/api/v1/conversations/{conv}",
        [],
        null,
    ),
    (
        "remove_favourite_status",
        {"status_id": "{greeting}"},
        "POST",
        "/api/v1/statuses/{greeting}/unfavourite",
        [],
        status,
    ),
    ("remove_featured_tag", {"tag_id": "{tag}"}, "DELETE", "/api/v1/featured_tags/{tag}", [], null),
    ("remove_filter", {"filter_id": "{filter}"}, "DELETE", "/api/v1/filters/{filter}", [], null),
    (
        "remove_status",
        {"status_id": "{s1}"},
        "DELETE",
        "/api/v1/statuses/{s1}",
        [],
        lambda v: status(v) and "text" in v,
    ),
    (
        "search",
        {"query": "introductions", "type": "hashtags"},
        "GET",
        "/api/v2/search",
        [("q", "introductions"), ("type", "hashtags"), ("limit", "20"), ("following", "false")],
        lambda v: search(v) and v["hashtags"][0]["name"] == "introductions",
    ),
    (
        "set_account_note",
        {"account_id": "{bob}", "note": "met at a meetup"},
        "POST",
        "/api/v1/accounts/{bob}/note",
        [("comment", "met at a meetup")],
        lambda v: relationship(v) and v["note"] == "met at a meetup",
    ),
    (
        "unblock_account",
        {"account_id": "{carol}"},
        "POST",
        "/api/v1/accounts/{carol}/unblock",
        [],
        lambda v: relationship(v) and v["blocking"] is False,
    ),
    (
        "undo_bookmark_status",
        {"status_id": "{greeting}"},
        "POST",
        "/api/v1/statuses/{greeting}/unbookmark",
        [],
        status,
    ),
    (
        "undo_reblog_status",
        {"status_id": "{greeting}"},
        "POST",
        "/api/v1/statuses/{greeting}/unreblog",
        [],
        status,
    ),
    (
        "unfollow_account",
        {"account_id": "{bob}"},
        "POST",
        "/api/v1/accounts/{bob}/unfollow",
        [],
        lambda v: relationship(v) and v["following"] is False,
    ),
    (
        "unmute_account",
        {"account_id": "{bob}"},
        "POST",
        "/api/v1/accounts/{bob}/unmute",
        [],
        lambda v: relationship(v) and v["muting"] is False,
    ),
    ("unmute_status", {"status_id": "{s1}"}, "POST", "/api/v1/statuses/{s1}/unmute", [], status),
    (
        "unpin_account",
        {"account_id": "{bob}"},
        "POST",
        "/api/v1/accounts/{bob}/unendorse",
        [],
        relationship,
    ),
    ("unpin_status", {"status_id": "{s1}"}, "POST", "/api/v1/statuses/{s1}/unpin", [], status),
    (
        "update_account",
        {
            "display_name": "Alice A.",
            "bot": False,
            "metadata": [{"name": "Home", "value": "https://a.example"}],
        },
        "PATCH",
        "/api/v1/accounts/update_credentials",
        [
            ("bot", "false"),
            ("display_name", "Alice A."),
            ("fields_attributes[0][name]", "Home"),
            ("fields_attributes[0][value]", "https://a.example"),
        ],
        lambda v: account(v) and v["display_name"] == "Alice A.",
    ),
    (
        "update_filter",
        {"filter_id": "{filter}", "phrase": "spoilers", "context": ["home"]},
        "PUT",
        "/api/v1/filters/{filter}",
        [("phrase", "spoilers"), ("context[]", "home")],
        lambda v: one_of("filter")(v) and v["phrase"] == "spoilers",
    ),
    (
        "update_list",
        {"list_id": "{list}", "title": "Close friends", "replies_policy": "list"},
        "PUT",
        "/api/v1/lists/{list}",
        [("title", "Close friends"), ("replies_policy", "list")],
        lambda v: one_of("list")(v) and v["title"] == "Close friends",
    ),
    (
        "update_media",
        {"media_id": "{media}", "description": "a dot"},
        "PUT",
        "/api/v1/media/{media}",
        [("description", "a dot")],
        lambda v: one_of("media")(v) and v["description"] == "a dot",
    ),
    (
        "upload_media",
        {"file": PIXEL_INLINE, "description": "pixel"},
        "POST",
        "/api/v2/media",
        [("description", "pixel"), ("file", PIXEL_PART)],
        lambda v: one_of("media")(v) and v["url"],
    ),
    # -- wire details: integer ids, a quoted path, defaults, false/0/"" sent, what is not sent
    (
        "remove_status",
        {"status_id": Int("{s1}")},
        "DELETE",
        "/api/v1/statuses/{s1}",
        [],
        status,
    ),
    (
        "publish_status",
        {"status": "re", "in_reply_to_id": Int("{greeting}"), "media_ids": [Int("{media}")]},
        "POST",
        "/api/v1/statuses",
        [("status", "re"), ("in_reply_to_id", "{greeting}"), ("media_ids[]", "{media}")],
        lambda v: status(v) and v["in_reply_to_id"] is not None,
    ),
    (
        "get_hashtag_timeline",
        {"hashtag": "café"},
        "GET",
        "/api/v1/timelines/tag/caf%C3%A9",  # the raw path: quoted UTF-8
        [("local", "false"), ("only_media", "false"), ("limit", "20")],
        lambda v: v == [],
    ),
    (
        "get_public_timeline",
        {"remote": True, "max_id": "999999999999999999", "limit": 5, "offset": 40},
        "GET",
        "/api/v1/timelines/public",  # no offset: Mastodon's timelines page by id only
        [
            ("local", "false"),
            ("remote", "true"),
            ("only_media", "false"),
            ("max_id", "999999999999999999"),
            ("limit", "5"),
        ],
        lambda v: isinstance(v, list) and all(status(x) for x in v),
    ),
    (
        "get_statuses",
        {"account_id": Int("{bob}"), "min_id": "1"},
        "GET",
        "/api/v1/accounts/{bob}/statuses",
        [("min_id", "1"), ("limit", "20")],
        many(status),
    ),
    (
        "get_followers",
        {"account_id": "{alice}", "since_id": "1", "limit": 80},
        "GET",
        "/api/v1/accounts/{alice}/followers",
        [("since_id", "1"), ("limit", "80")],
        lambda v: isinstance(v, list) and all(account(x) for x in v),
    ),
    (
        "update_account",
        {
            "locked": False,
            "privacy": "unlisted",
            "language": "en",
            "metadata": [{"name": "a", "value": "b"}, {"name": "c", "value": ""}],
        },
        "PATCH",
        "/api/v1/accounts/update_credentials",
        [
            ("locked", "false"),
            ("source[privacy]", "unlisted"),
            ("source[language]", "en"),
            ("fields_attributes[0][name]", "a"),
            ("fields_attributes[0][value]", "b"),
            ("fields_attributes[1][name]", "c"),
            ("fields_attributes[1][value]", ""),
        ],
        account,
    ),
    (
        "follow_account",
        {"account_id": "{bob}", "notify": True},
        "POST",
        "/api/v1/accounts/{bob}/follow",
        [("notify", "true")],  # only what was given: Mastodon applies any key to a follow
        relationship,
    ),
    (
        "set_account_note",
        {"account_id": "{bob}", "note": ""},
        "POST",
        "/api/v1/accounts/{bob}/note",
        [("comment", "")],  # an empty note clears it: sent, not left out
        lambda v: relationship(v) and v["note"] == "",
    ),
    (
        "create_list",
        {"title": "Friends"},
        "POST",
        "/api/v1/lists",
        [("title", "Friends"), ("replies_policy", "list")],
        one_of("list"),
    ),
    (
        "update_filter",
        {
            "filter_id": Int("{filter}"),
            "phrase": "spoiler",
            "context": ["home"],
            "irreversible": False,
            "expires_in": 0,
        },
        "PUT",
        "/api/v1/filters/{filter}",
        [
            ("phrase", "spoiler"),
            ("context[]", "home"),
            ("irreversible", "false"),  # false and 0 are sent, not left out
            ("expires_in", "0"),
        ],
        one_of("filter"),
    ),
    (
        "get_featured_lists",
        {"account_id": "{bob}", "limit": 5, "offset": 3},
        "GET",
        "/api/v1/accounts/{bob}/lists",
        [],  # Mastodon's endpoint takes no paging
        many(one_of("list")),
    ),
    (
        "get_featured_tags",
        {"account_id": "{alice}", "limit": 3},
        "GET",
        "/api/v1/accounts/{alice}/featured_tags",
        [],
        many(one_of("tag")),
    ),
    (
        "get_notifications",
        {"notification_id": "{notif}", "limit": 5},
        "GET",
        "/api/v1/notifications/{notif}",
        [],  # one notification: no paging sent
        lambda v: one_of("notification")(v) and (v.get("status") is None or status(v["status"])),
    ),
    (
        "search",
        {"query": "sandbox", "type": "statuses", "offset": 20},
        "GET",
        "/api/v2/search",
        [
            ("q", "sandbox"),
            ("type", "statuses"),
            ("limit", "20"),
            ("offset", "20"),
            ("following", "false"),
        ],
        search,
    ),
    (
        "update_media",
        {"media_id": "{media}", "description": "new", "thumbnail": PIXEL_INLINE},
        "PUT",
        "/api/v1/media/{media}",
        [("description", "new"), ("thumbnail", PIXEL_PART)],
        lambda v: one_of("media")(v) and v["description"] == "new",
    ),
]


# -- the optional parameters beyond the reference (issue 11): one row each, sent only when given

ROWS += [
    (
        "follow_account",  # nothing given: nothing sent, so an existing follow keeps its bell
        {"account_id": "{carol}"},
        "POST",
        "/api/v1/accounts/{carol}/follow",
        [],
        lambda v: relationship(v) and v["following"] is True,
    ),
    (
        "follow_account",
        {"account_id": "{bob}", "languages": ["en", "de"]},
        "POST",
        "/api/v1/accounts/{bob}/follow",
        [("languages[]", "en"), ("languages[]", "de")],
        lambda v: relationship(v) and v["languages"] == ["en", "de"],
    ),
    (
        "get_home_timeline",
        {"since_id": "1", "only_media": True},
        "GET",
        "/api/v1/timelines/home",
        [("limit", "20"), ("since_id", "1")],
        many(status),
    ),
    (
        "get_public_timeline",
        {"since_id": "1"},
        "GET",
        "/api/v1/timelines/public",
        [
            ("local", "false"),
            ("remote", "false"),
            ("only_media", "false"),
            ("limit", "20"),
            ("since_id", "1"),
        ],
        many(status),
    ),
    (
        "get_hashtag_timeline",
        {
            "hashtag": "introductions",
            "since_id": "1",
            "any": ["fediverse"],
            "all": ["introductions"],
            "none": ["mastod"],
            "remote": False,
        },
        "GET",
        "/api/v1/timelines/tag/introductions",
        [
            ("local", "false"),
            ("only_media", "false"),
            ("limit", "20"),
            ("since_id", "1"),
            ("any[]", "fediverse"),
            ("all[]", "introductions"),
            ("none[]", "mastod"),
            ("remote", "false"),
        ],
        many(lambda v: status(v) and "introductions" in {t["name"] for t in v["hashtags"]}),
    ),
    (
        "get_list_timeline",
        {"list_id": "{list}", "since_id": "1"},
        "GET",
        "/api/v1/timelines/list/{list}",
        [("limit", "20"), ("since_id", "1")],
        many(status),
    ),
    (
        "get_list_accounts",  # min_id is not read by the endpoint: not sent
        {"list_id": "{list}", "min_id": "5", "since_id": "0", "limit": 0},
        "GET",
        "/api/v1/lists/{list}/accounts",
        [("limit", "0"), ("since_id", "0")],
        many(account),
    ),
    (
        "get_bookmarked_statuses",
        {"since_id": "0"},
        "GET",
        "/api/v1/bookmarks",
        [("limit", "20"), ("since_id", "0")],
        many(status),
    ),
    (
        "get_favourited_statuses",
        {"since_id": "0"},
        "GET",
        "/api/v1/favourites",
        [("limit", "20"), ("since_id", "0")],
        lambda v: v == [],
    ),
    (
        "get_conversations",
        {"since_id": "0"},
        "GET",
        "/api/v1/conversations",
        [("limit", "20"), ("since_id", "0")],
        many(conversation),
    ),
    (
        "get_notifications",
        {
            "since_id": "0",
            "types": ["mention", "follow"],
            "exclude_types": ["poll"],
            "account_id": "{bob}",
        },
        "GET",
        "/api/v1/notifications",
        [
            ("limit", "20"),
            ("since_id", "0"),
            ("types[]", "mention"),
            ("types[]", "follow"),
            ("exclude_types[]", "poll"),
            ("account_id", "{bob}"),
        ],
        many(lambda v: one_of("notification")(v) and v["type"] in ("mention", "follow")),
    ),
    (
        "get_statuses",
        {
            "account_id": "{alice}",
            "since_id": "0",
            "tagged": "mastod",
            "only_media": True,
            "exclude_replies": True,
            "exclude_reblogs": True,
            "pinned": False,
        },
        "GET",
        "/api/v1/accounts/{alice}/statuses",
        [
            ("limit", "20"),
            ("since_id", "0"),
            ("pinned", "false"),
            ("tagged", "mastod"),
            ("only_media", "true"),
            ("exclude_replies", "true"),
            ("exclude_reblogs", "true"),
        ],
        lambda v: many(status)(v) and all(s["attachments"] for s in v),
    ),
    (
        "mute_account",
        {"account_id": "{carol}", "notifications": False, "duration": 3600},
        "POST",
        "/api/v1/accounts/{carol}/mute",
        [("notifications", "false"), ("duration", "3600")],
        lambda v: relationship(v) and v["muting"] and v["muting_notifications"] is False,
    ),
    (
        "reblog_status",
        {"status_id": "{greeting}", "visibility": "unlisted"},
        "POST",
        "/api/v1/statuses/{greeting}/reblog",
        [("visibility", "unlisted")],
        lambda v: status(v) and v["visibility"] == "unlisted",
    ),
    (
        "remove_status",
        {"status_id": "{s1}", "delete_media": True},
        "DELETE",
        "/api/v1/statuses/{s1}",
        [("delete_media", "true")],
        lambda v: status(v) and "text" in v,
    ),
    (
        "search",
        {
            "query": "sandbox",
            "type": "statuses",
            "resolve": False,
            "account_id": "{bob}",
            "exclude_unreviewed": True,
        },
        "GET",
        "/api/v2/search",
        [
            ("q", "sandbox"),
            ("type", "statuses"),
            ("limit", "20"),
            ("following", "false"),
            ("resolve", "false"),
            ("account_id", "{bob}"),
            ("exclude_unreviewed", "true"),
        ],
        lambda v: (
            search(v)
            and all(s["account"]["id"] == v["statuses"][0]["account"]["id"] for s in v["statuses"])
        ),
    ),
    (
        "upload_media",
        {"file": PIXEL_INLINE, "focus": "0.5,-0.25"},
        "POST",
        "/api/v2/media",
        [("focus", "0.5,-0.25"), ("file", PIXEL_PART)],
        lambda v: one_of("media")(v) and v["meta"]["focus"] == {"x": 0.5, "y": -0.25},
    ),
    (
        "update_media",
        {"media_id": "{media}", "focus": "-1,1"},
        "PUT",
        "/api/v1/media/{media}",
        [("focus", "-1,1")],
        lambda v: one_of("media")(v) and v["meta"]["focus"] == {"x": -1.0, "y": 1.0},
    ),
    (
        "create_list",
        {"title": "Family", "exclusive": True},
        "POST",
        "/api/v1/lists",
        [("title", "Family"), ("replies_policy", "list"), ("exclusive", "true")],
        lambda v: one_of("list")(v) and v["exclusive"] is True,
    ),
    (
        "update_list",
        {"list_id": "{list}", "title": "Close friends", "exclusive": False},
        "PUT",
        "/api/v1/lists/{list}",
        [("title", "Close friends"), ("exclusive", "false")],
        lambda v: one_of("list")(v) and v["exclusive"] is False,
    ),
    (
        "update_account",
        {
            "hide_collections": True,
            "indexable": False,
            "attribution_domains": ["example.com", "blog.example.org"],
            "avatar_description": "a cat",
            "header_description": "a lake",
        },
        "PATCH",
        "/api/v1/accounts/update_credentials",
        [
            ("hide_collections", "true"),
            ("indexable", "false"),
            ("attribution_domains[]", "example.com"),
            ("attribution_domains[]", "blog.example.org"),
            ("avatar_description", "a cat"),
            ("header_description", "a lake"),
        ],
        lambda v: (
            account(v)
            and v["hide_collections"] is True
            and v["indexable"] is False
            and v["avatar_description"] == "a cat"
            and v["source"]["attribution_domains"] == ["example.com", "blog.example.org"]
        ),
    ),
    (
        "register_account",
        {
            "username": "frank",
            "email": "frank@sandbox.invalid",
            "password": "correct horse battery",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "date_of_birth": "1990-04-01",
            "invite_code": "WELCOME1",
        },
        "POST",
        "/api/v1/accounts",
        [
            ("username", "frank"),
            ("email", "frank@sandbox.invalid"),
            ("password", "correct horse battery"),
            ("locale", "en"),
            ("date_of_birth", "1990-04-01"),
            ("invite_code", "WELCOME1"),
            ("agreement", "true"),
        ],
        one_of("token"),
    ),
    (
        "publish_status",
        {
            "status": "Tea or coffee?",
            "poll": {"options": ["tea", "coffee"], "expires_in": 3600.0, "multiple": True},
            "language": "de",
            "quote_approval_policy": "followers",
        },
        "POST",
        "/api/v1/statuses",
        [
            ("status", "Tea or coffee?"),
            ("poll[options][]", "tea"),
            ("poll[options][]", "coffee"),
            ("poll[expires_in]", "3600"),
            ("poll[multiple]", "true"),
            ("language", "de"),
            ("quote_approval_policy", "followers"),
        ],
        lambda v: (
            status(v)
            and [o["title"] for o in v["poll"]["options"]] == ["tea", "coffee"]
            and v["poll"]["multiple"] is True
            and v["language"] == "de"
            and v["quote_approval"]["automatic"] == ["followers"]
        ),
    ),
    (
        "publish_status",
        {"status": "later", "scheduled_at": "2099-01-01T09:00:00Z"},
        "POST",
        "/api/v1/statuses",
        [("status", "later"), ("scheduled_at", "2099-01-01T09:00:00Z")],
        lambda v: (
            isinstance(v, dict)
            and v["scheduled_at"] == "2099-01-01T09:00:00.000Z"
            and v["params"]["text"] == "later"
        ),
    ),
    (
        "publish_status",
        {"status": "so true", "quoted_status_id": "{greeting}"},
        "POST",
        "/api/v1/statuses",
        [("status", "so true"), ("quoted_status_id", "{greeting}")],
        lambda v: (
            status(v)
            and v["quote"]["state"] == "accepted"
            and v["quote"]["quoted_status"]["content"].count("welcome to the sandbox") == 1
        ),
    ),
]


def test_table_covers_all_59_actions() -> None:
    names = {fn.__name__ for fn in collect()}
    assert len(names) == 59
    assert {row[0] for row in ROWS} == names


@pytest.mark.parametrize(
    ("method", "params", "verb", "path", "pairs", "shape"),
    ROWS,
    ids=[f"{row[0]}-{i}" for i, row in enumerate(ROWS)],
)
async def test_action_through_rpc(
    rpc: Rpc,
    upstream: RunningSandbox,
    tmp_path: Path,
    method: str,
    params: dict[str, Any],
    verb: str,
    path: str,
    pairs: Pairs,
    shape: Callable[[Any], bool],
) -> None:
    world = make_world(upstream.sandbox, tmp_path)
    before = len(upstream.sandbox.recorded)
    result = await rpc.call(method, world.fill(params))
    requests = sent(upstream, before)
    target = [q for q in requests if (q.method, q.path) == (verb, world.fill(path))]
    assert target, [(q.method, q.path) for q in requests]
    request = target[-1]
    in_query = verb == "GET" or (verb == "DELETE" and not request.raw_body)
    got = (request.query if in_query else request.body) or []
    if isinstance(got, list):  # form or multipart pairs; a file part as name, type and size
        got = [(k, _part(v)) for k, v in got]
    assert got == world.fill(pairs)
    assert not (request.body if in_query else request.query)  # nothing in the other place
    assert request.headers["User-Agent"] == f"mastod/{__version__}"
    if "client_id" not in params:  # else the app token fetched for this call
        assert request.headers["Authorization"] == f"Bearer {OWNER_TOKEN}"
    assert shape(result), result


def _part(value: str | Upload) -> str:
    if isinstance(value, Upload):
        return f"file:{value.filename}:{value.content_type}:{len(value.data)}"
    return value
