"""The reference's result shape: Mastodon entities as sent, with the plugin's two Status renames.

Status entities get `media_attachments` -> `attachments` and `tags` -> `hashtags` wherever they
appear (top level, lists, `reblog`, a notification's `status`, a conversation's `last_status`,
search `statuses`, a quote's `quoted_status`). Every other field is kept as Mastodon sends it,
and ids stay strings. An empty object (Mastodon's "nothing to return") becomes None.
"""

from __future__ import annotations

import json
from typing import Any

from mastod.jsontext import mark_constant, mark_float

STATUS_RENAMES = {"media_attachments": "attachments", "tags": "hashtags"}


def is_status(entity: dict[str, Any]) -> bool:
    """A Status has an author and content; so do edits, which share its media/tags fields.

    Announcements (content and tags, no account) and notifications (account, no content)
    are left alone.
    """
    return "account" in entity and "content" in entity


def shape(data: Any) -> Any:
    """Return `data` with every Status renamed; `{}` at the top level becomes None."""
    if data == {}:
        return None
    return _walk(data)


def _walk(value: Any) -> Any:
    if isinstance(value, list):
        return [_walk(item) for item in value]
    if isinstance(value, dict):
        renames = STATUS_RENAMES if is_status(value) else {}
        return {renames.get(key, key): _walk(item) for key, item in value.items()}
    return value


def _renamed(entity: dict[str, Any]) -> dict[str, Any]:
    if is_status(entity):
        return {STATUS_RENAMES.get(key, key): item for key, item in entity.items()}
    return entity


# Renaming while decoding costs one dict rebuild per Status instead of a second walk over
# the whole document. A NaN or infinity is kept, marked for the encoder (`mastod.jsontext`).
_decoder = json.JSONDecoder(
    object_hook=_renamed, parse_constant=mark_constant, parse_float=mark_float
)


def loads(text: str) -> Any:
    """Decode Mastodon's JSON with every Status already renamed (`shape` for decoded data)."""
    return _decoder.decode(text)


def empty_to_none(data: Any) -> Any:
    """Mastodon's "nothing to return" (`{}`) becomes None."""
    return None if data == {} else data
