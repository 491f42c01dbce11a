"""The action signatures are the RPC contract: the reference's parameter names, order and
defaults, then only optional extras; annotations from the vocabulary the RPC layer validates."""

from __future__ import annotations

import inspect
import types
import typing
from typing import Any

import pytest

from mastod.actions._registry import collect

# name -> the reference's parameters (spec/actions.json): `name` required, `name=default`.
REFERENCE = {
    "add_accounts_to_list": "list_id account_ids",
    "add_favourite_status": "status_id",
    "add_featured_tag": "name",
    "block_account": "account_id",
    "bookmark_status": "status_id",
    "create_filter": "phrase context irreversible=None whole_word=None expires_in=None",
    "create_list": "title replies_policy='list'",
    "delete_list": "list_id",
    "dismiss_notifications": "notification_id=None",
    # Mastodon applies notify/reblogs to an existing follow: None leaves them as they are
    "follow_account": "account_id notify=None reblogs=None",
    "get_account": "account_id",
    "get_blocked_accounts": "max_id=None since_id=None limit=20",
    "get_bookmarked_statuses": "min_id=None max_id=None limit=20",
    "get_conversations": "min_id=None max_id=None limit=20",
    "get_favourited_statuses": "min_id=None max_id=None limit=20",
    "get_featured_lists": "account_id max_id=None since_id=None limit=20 offset=0",
    "get_featured_tags": "account_id=None max_id=None since_id=None limit=20 offset=0",
    "get_filters": "",
    "get_followers": "account_id max_id=None since_id=None limit=20 offset=0",
    "get_following": "account_id max_id=None since_id=None limit=20 offset=0",
    "get_hashtag_timeline": (
        "hashtag local=False only_media=False min_id=None max_id=None limit=20 offset=0"
    ),
    "get_home_timeline": "local=False only_media=False min_id=None max_id=None limit=20 offset=0",
    "get_list_accounts": "list_id=None min_id=None max_id=None limit=20",
    "get_list_timeline": "list_id min_id=None max_id=None limit=20 offset=0",
    "get_lists": "list_id=None",
    "get_muted_accounts": "max_id=None since_id=None limit=20",
    "get_notifications": "notification_id=None min_id=None max_id=None limit=20",
    "get_public_timeline": (
        "local=False remote=False only_media=False min_id=None max_id=None limit=20 offset=0"
    ),
    "get_status": "status_id",
    "get_statuses": "account_id min_id=None max_id=None limit=20 offset=0",
    "mark_conversation_as_read": "conversation_id",
    "mute_account": "account_id",
    "mute_status": "status_id",
    "pin_account": "account_id",
    "pin_status": "status_id",
    "publish_status": (
        "status in_reply_to_id=None media_ids=None sensitive=None spoiler_text=None visibility=None"
    ),
    "reblog_status": "status_id",
    "register_account": "username email password locale='en' reason=None",
    "remove_accounts_from_list": "list_id account_ids",
    "remove_conversation": "conversation_id",
    "remove_favourite_status": "status_id",
    "remove_featured_tag": "tag_id",
    "remove_filter": "filter_id",
    "remove_status": "status_id",
    "search": "query type=None min_id=None max_id=None limit=20 offset=0 following=False",
    "set_account_note": "account_id note",
    "unblock_account": "account_id",
    "undo_bookmark_status": "status_id",
    "undo_reblog_status": "status_id",
    "unfollow_account": "account_id",
    "unmute_account": "account_id",
    "unmute_status": "status_id",
    "unpin_account": "account_id",
    "unpin_status": "status_id",
    "update_account": (
        "discoverable=None bot=None display_name=None note=None avatar=None header=None "
        "locked=None privacy=None sensitive=None language=None metadata=None"
    ),
    "update_filter": (
        "filter_id phrase=None context=None irreversible=None whole_word=None expires_in=None"
    ),
    "update_list": "list_id title replies_policy=None",
    "update_media": "media_id file=None description=None thumbnail=None",
    "upload_media": "file description=None thumbnail=None",
}
# Optional parameters beyond the reference (Mastodon's names), after the reference's own.
EXTRAS = {
    "create_list": ["exclusive"],
    "follow_account": ["languages"],
    "get_bookmarked_statuses": ["since_id"],
    "get_conversations": ["since_id"],
    "get_favourited_statuses": ["since_id"],
    "get_hashtag_timeline": ["since_id", "any", "all", "none", "remote"],
    "get_home_timeline": ["since_id"],
    "get_list_accounts": ["since_id"],
    "get_list_timeline": ["since_id"],
    "get_notifications": ["since_id", "types", "exclude_types", "account_id"],
    "get_public_timeline": ["since_id"],
    "get_statuses": [
        "since_id",
        "pinned",
        "tagged",
        "only_media",
        "exclude_replies",
        "exclude_reblogs",
    ],
    "mute_account": ["notifications", "duration"],
    "publish_status": [
        "idempotency_key",
        "poll",
        "language",
        "scheduled_at",
        "quoted_status_id",
        "quote_approval_policy",
    ],
    "reblog_status": ["visibility"],
    "register_account": ["client_id", "client_secret", "date_of_birth", "invite_code"],
    "remove_status": ["delete_media"],
    "search": ["resolve", "account_id", "exclude_unreviewed"],
    "update_account": [
        "hide_collections",
        "indexable",
        "attribution_domains",
        "avatar_description",
        "header_description",
    ],
    "update_list": ["exclusive"],
    "update_media": ["focus"],
    "upload_media": ["focus"],
}
ACTIONS = {fn.__name__: fn for fn in collect()}
LEAVES = {str, int, float, bool, type(None), Any}


def allowed(hint: Any) -> bool:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint in LEAVES:
        return True
    if typing.is_typeddict(hint):
        return all(allowed(value) for value in typing.get_type_hints(hint).values())
    if origin in (typing.Union, types.UnionType):
        return all(allowed(arg) for arg in args)
    if origin is typing.Literal:
        return all(isinstance(arg, str) for arg in args)
    if origin is list:
        return allowed(args[0])
    return origin is dict and args[0] is str and args[1] in (Any, str)


def test_every_reference_action_exists() -> None:
    assert set(ACTIONS) == set(REFERENCE)


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_signature(name: str) -> None:
    fn = ACTIONS[name]
    hints = typing.get_type_hints(fn)  # resolvable at runtime, as the RPC layer needs
    api, *params = inspect.signature(fn).parameters.values()
    described = [
        p.name if p.default is inspect.Parameter.empty else f"{p.name}={p.default!r}"
        for p in params
    ]
    extras = EXTRAS.get(name, [])
    assert api.name == "api"
    assert " ".join(described[: len(described) - len(extras)]) == REFERENCE[name]
    assert [p.name for p in params[len(params) - len(extras) :]] == extras
    assert all(p.default is None for p in params[len(params) - len(extras) :])
    for param in params:
        assert allowed(hints[param.name]), param.name
        if param.name.endswith("_id") and param.name not in extras:
            assert {str, int} <= set(typing.get_args(hints[param.name])), param.name
    assert fn.__doc__
    assert fn.__doc__.splitlines()[0].endswith(".")
