"""Realistic Mastodon JSON for the local upstream: a ~3 KB Status (account, two media
attachments, tags, mentions, a card) and a 20-status home timeline (~60 KB).

Deterministic, so every run serves the same bytes.
"""

from __future__ import annotations

import json
from typing import Any

ACCESS_TOKEN = "bench-upstream-token-7d1e4a9c0b"
STATUS_ID = "109999999999999999"
TIMELINE_LIMIT = 20


def account(n: int) -> dict[str, Any]:
    name = f"user{n}"
    base = "https://social.example"
    return {
        "id": str(108000000000000000 + n),
        "username": name,
        "acct": name,
        "display_name": f"User Number {n}",
        "locked": False,
        "bot": False,
        "discoverable": True,
        "indexable": True,
        "group": False,
        "created_at": "2022-11-07T00:00:00.000Z",
        "note": "<p>Writes about software, cycling and bread. Opinions my own.</p>",
        "url": f"{base}/@{name}",
        "uri": f"{base}/users/{name}",
        "avatar": f"{base}/system/accounts/avatars/108/000/{n:03d}/original/a1b2c3.png",
        "avatar_static": f"{base}/system/accounts/avatars/108/000/{n:03d}/original/a1b2c3.png",
        "header": f"{base}/system/accounts/headers/108/000/{n:03d}/original/d4e5f6.jpg",
        "header_static": f"{base}/system/accounts/headers/108/000/{n:03d}/original/d4e5f6.jpg",
        "followers_count": 1200 + n,
        "following_count": 310 + n,
        "statuses_count": 5400 + n,
        "last_status_at": "2024-05-01",
        "hide_collections": False,
        "noindex": False,
        "emojis": [],
        "roles": [],
        "fields": [
            {
                "name": "Website",
                "value": f'<a href="https://{name}.example" rel="me nofollow">{name}.example</a>',
                "verified_at": "2023-01-01T12:00:00.000+00:00",
            },
            {"name": "Pronouns", "value": "they/them", "verified_at": None},
        ],
    }


def media(n: int, k: int) -> dict[str, Any]:
    base = "https://files.social.example/media"
    return {
        "id": str(110000000000000000 + n * 10 + k),
        "type": "image",
        "url": f"{base}/{n:03d}{k}/original.jpg",
        "preview_url": f"{base}/{n:03d}{k}/small.jpg",
        "remote_url": None,
        "preview_remote_url": None,
        "text_url": None,
        "meta": {
            "original": {"width": 1920, "height": 1080, "size": "1920x1080", "aspect": 1.777},
            "focus": {"x": 0.0, "y": 0.1},
        },
        "description": "A loaf of sourdough bread on a wooden board, cut open.",
        "blurhash": "UFGR~yIU00xu_3WBD%t7-;M{RjfQ00t7?bRj",
    }


def status(n: int = 0) -> dict[str, Any]:
    sid = STATUS_ID if n == 0 else str(int(STATUS_ID) - n)
    author = account(n % 7)
    base = "https://social.example"
    return {
        "id": sid,
        "created_at": "2024-05-01T10:20:30.000Z",
        "in_reply_to_id": None,
        "in_reply_to_account_id": None,
        "sensitive": False,
        "spoiler_text": "",
        "visibility": "public",
        "language": "en",
        "uri": f"{base}/users/{author['username']}/statuses/{sid}",
        "url": f"{base}/@{author['username']}/{sid}",
        "replies_count": 3,
        "reblogs_count": 12,
        "favourites_count": 48,
        "edited_at": None,
        "favourited": False,
        "reblogged": False,
        "muted": False,
        "bookmarked": False,
        "pinned": False,
        "content": (
            "<p>Baked the weekend loaf again, 78% hydration this time. "
            '<span class="h-card"><a href="https://social.example/@baker" class="u-url mention">'
            "@<span>baker</span></a></span> the crumb is finally open! "
            '<a href="https://social.example/tags/sourdough" class="mention hashtag" rel="tag">'
            '#<span>sourdough</span></a> <a href="https://social.example/tags/bread" '
            'class="mention hashtag" rel="tag">#<span>bread</span></a></p>'
        ),
        "filtered": [],
        "reblog": None,
        "application": {"name": "Web", "website": None},
        "account": author,
        "media_attachments": [media(n, 0), media(n, 1)],
        "mentions": [
            {
                "id": "108000000000000099",
                "username": "baker",
                "url": f"{base}/@baker",
                "acct": "baker",
            }
        ],
        "tags": [
            {"name": "sourdough", "url": f"{base}/tags/sourdough"},
            {"name": "bread", "url": f"{base}/tags/bread"},
        ],
        "emojis": [],
        "card": None,
        "poll": None,
    }


def timeline(limit: int = TIMELINE_LIMIT) -> list[dict[str, Any]]:
    return [status(n) for n in range(limit)]


def verify_credentials() -> dict[str, Any]:
    me = account(0)
    me["source"] = {
        "privacy": "public",
        "sensitive": False,
        "language": "en",
        "note": "Writes about software, cycling and bread.",
        "fields": [],
        "follow_requests_count": 0,
    }
    return me


def encoded(value: Any) -> bytes:
    """Compact JSON, as Mastodon (Rails) sends it."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
