"""The plaintext of a Web Push: Mastodon's `Web::NotificationSerializer` (PROTOCOL.md §2.6).

`{"access_token", "preferred_locale", "notification_id", "notification_type", "icon",
"title", "body"}` in that order, serialised as Rails' `to_json` does (compact, UTF-8, with
`<`, `>`, `&`, U+2028 and U+2029 escaped). `access_token` is the token the subscription was
made with: a live credential that a receiver must never pass on.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

from mastod.sandbox import records as r
from mastod.sandbox.state import Sandbox
from mastod.sandbox.views.base import View

LOCALE = "en"
BODY_LENGTH = 140

# config/locales/en.yml, `notification_mailer.<type>.subject`
SUBJECTS = {
    "mention": "You were mentioned by %{name}",
    "status": "%{name} just posted",
    "reblog": "%{name} boosted your post",
    "follow": "%{name} is now following you",
    "follow_request": "Pending follower: %{name}",
    "favourite": "%{name} favorited your post",
    "poll": "A poll by %{name} has ended",
    "update": "%{name} edited a post",
    "quote": "%{name} quoted your post",
    "admin.sign_up": "%{name} signed up",
    "admin.report": "%{name} submitted a report",
}

_TAG = re.compile(r"<[^>]*>")
_RAILS_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def push_payload(sb: Sandbox, sub: r.PushSubscription, n: r.Notification) -> bytes:
    """The JSON Mastodon encrypts for `sub` about notification `n`."""
    sender = sb.account(n.from_account_id)
    return rails_json(
        {
            "access_token": sub.token,
            "preferred_locale": LOCALE,
            "notification_id": int(n.id),
            "notification_type": n.type,
            "icon": View(sb, None).file_url(sender.avatar),
            "title": title(n.type, sender.display_name or sender.username),
            "body": body(sb, n, sender),
        }
    )


def title(kind: str, name: str) -> str:
    """The localised subject; a type without one gets Rails' missing-translation text."""
    subject = SUBJECTS.get(kind)
    if subject is None:
        return f"Translation missing: {LOCALE}.notification_mailer.{kind}.subject"
    return subject.replace("%{name}", name)


def body(sb: Sandbox, n: r.Notification, sender: r.Account) -> str:
    """The status's content warning, else its text, else the sender's bio: tags stripped,
    entities decoded, cut to 140 characters as Rails' `truncate` does."""
    target = sb.statuses.get(n.status_id) if n.status_id else None
    if target is not None:
        text = target.spoiler_text if target.spoiler_text.strip() else target.text
    else:
        text = sender.note
    return truncate(html.unescape(_TAG.sub("", text)), BODY_LENGTH)


def truncate(text: str, length: int, omission: str = "...") -> str:
    if len(text) <= length:
        return text
    return text[: length - len(omission)] + omission


def rails_json(value: Any) -> bytes:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    for char, escape in _RAILS_ESCAPES.items():
        text = text.replace(char, escape)
    return text.encode()
