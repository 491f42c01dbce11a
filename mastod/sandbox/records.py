"""The sandbox's stored rows: plain dataclasses, one per Mastodon table it imitates.

Entities (the JSON a client sees) are rendered from these by `mastod.sandbox.views`.
Every id is a string of digits, as Mastodon's; join rows (follows, bookmarks, ...) have ids
of their own because Mastodon paginates those endpoints by the join row's id.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class Account:
    id: str
    username: str
    display_name: str
    created_at: datetime
    note: str = ""
    locked: bool = False
    bot: bool = False
    discoverable: bool = True
    indexable: bool = True
    hide_collections: bool = False
    fields: list[tuple[str, str]] = field(default_factory=list)
    privacy: str = "public"
    sensitive: bool = False
    language: str | None = None
    avatar: str | None = None
    header: str | None = None
    avatar_description: str = ""
    header_description: str = ""
    attribution_domains: list[str] = field(default_factory=list)
    email: str | None = None
    confirmed: bool = True


@dataclass
class Status:
    id: str
    account_id: str
    text: str
    created_at: datetime
    visibility: str = "public"
    sensitive: bool = False
    spoiler_text: str = ""
    language: str | None = "en"
    in_reply_to_id: str | None = None
    in_reply_to_account_id: str | None = None
    reblog_of_id: str | None = None
    media_ids: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    mention_ids: list[str] = field(default_factory=list)
    app_id: str | None = None
    poll: Poll | None = None
    quoted_status_id: str | None = None
    quote_policy: str = "public"


@dataclass
class Poll:
    id: str
    options: list[str]
    expires_at: datetime
    multiple: bool = False
    hide_totals: bool = False


@dataclass
class ScheduledStatus:
    """A post kept until `scheduled_at`; `params` are the creation params Mastodon stores."""

    id: str
    account_id: str
    scheduled_at: datetime
    params: dict[str, Any]
    media_ids: list[str] = field(default_factory=list)


@dataclass
class Media:
    id: str
    account_id: str
    type: str
    content_type: str
    filename: str
    data: bytes
    created_at: datetime
    description: str | None = None
    focus: tuple[float, float] | None = None
    thumbnail: bytes | None = None
    thumbnail_type: str | None = None
    status_id: str | None = None
    processed: bool = True
    pending_polls: int = 0


@dataclass
class Follow:
    id: str
    account_id: str
    target_id: str
    reblogs: bool = True
    notify: bool = False
    languages: list[str] | None = None


@dataclass
class Link:
    """A join row with only an id: block, endorsement, favourite, bookmark, pin, list member."""

    id: str
    account_id: str
    target_id: str


@dataclass
class Mute:
    id: str
    account_id: str
    target_id: str
    notifications: bool = True
    expires_at: datetime | None = None


@dataclass
class UserList:
    id: str
    account_id: str
    title: str
    replies_policy: str = "list"
    exclusive: bool = False
    members: dict[str, Link] = field(default_factory=dict)


@dataclass
class Filter:
    id: str
    account_id: str
    phrase: str
    context: list[str]
    whole_word: bool = True
    irreversible: bool = False
    expires_at: datetime | None = None


@dataclass
class FeaturedTag:
    id: str
    account_id: str
    name: str


@dataclass
class Tag:
    id: str
    name: str


@dataclass
class Notification:
    id: str
    account_id: str
    type: str
    from_account_id: str
    created_at: datetime
    status_id: str | None = None
    committed: bool = True  # False: its job's transaction has not committed (invisible)
    filtered: bool = False  # held by a notification request: not listed, pushed or streamed


@dataclass
class Conversation:
    id: str
    account_id: str
    participant_ids: tuple[str, ...]
    last_status_id: str
    unread: bool = True


@dataclass
class App:
    id: str
    name: str
    client_id: str
    client_secret: str
    redirect_uris: list[str]
    scopes: list[str]
    website: str | None = None


@dataclass
class AuthCode:
    """An authorization code issued on approval, exchanged once for a token."""

    code: str
    app_id: str
    account_id: str
    scope: str
    redirect_uri: str
    created_at: datetime


@dataclass
class Token:
    token: str
    account_id: str | None
    scope: str
    app_id: str
    created_at: datetime

    @property
    def scopes(self) -> frozenset[str]:
        return frozenset(self.scope.split())


@dataclass
class PushSubscription:
    id: int
    token: str
    endpoint: str
    p256dh: str
    auth: str
    standard: bool = False
    alerts: dict[str, bool] = field(default_factory=dict)
    policy: str = "all"
    unsubscribe_token: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    """The secret in the `Unsubscribe-URL` each push carries (Mastodon signs one instead)."""
