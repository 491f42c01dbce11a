"""The reference's result shape: Mastodon entities as sent, with the plugin's two Status renames.

Status entities get `media_attachments` -> `attachments` and `tags` -> `hashtags` wherever they
appear (top level, lists, `reblog`, a notification's `status`, a conversation's `last_status`,
search `statuses`, a quote's `quoted_status`). Every other field is kept as Mastodon sends it,
and ids stay strings. An empty object (Mastodon's "nothing to return") becomes None.
"""

from __future__ import annotations

import json
from typing import Any

from mastod.jsontext import REFUSED, mark_constant, mark_float, orjson_loads

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


# The stdlib's decoder renames while decoding (one dict rebuild per Status, no second walk)
# and keeps a NaN or infinity, marked for the encoder (`mastod.jsontext`). It decides every
# document orjson would read differently.
_decoder = json.JSONDecoder(
    object_hook=_renamed, parse_constant=mark_constant, parse_float=mark_float
)


def loads(body: bytes) -> Any:
    """Decode Mastodon's JSON (UTF-8) with every Status renamed (`shape` for decoded data);
    ValueError for what is not JSON.

    orjson decodes (`jsontext.orjson_loads`), then the Statuses are renamed without visiting
    the whole document (`_rename_statuses`); a body it refuses (a number it would change, or
    NaN, Infinity, 1e400, a lone surrogate escape, which the stdlib reads) takes the
    stdlib's decoder, which renames as it decodes.
    """
    data = orjson_loads(body)
    if data is not REFUSED:
        return _rename_statuses(data, body.count(b'"content"'))
    return _decoder.decode(body.decode("utf-8"))


def _rename_statuses(data: Any, budget: int) -> Any:
    """`data` with every Status renamed, level by level from the top, stopping once `budget`
    objects with a `content` key were seen: `budget` is how often `"content"` occurs in the
    JSON text, which counts every such key (and any string "content"), so none is missed —
    a key spelled with escapes for plain letters aside, which no JSON encoder writes. A
    Status, or a page of Statuses none of which holds another, is renamed without a look
    inside them; a reblog or quote costs a walk of the level it is on."""
    top = [data]
    level: list[tuple[Any, Any]] = [(top, 0)]
    seen = 0
    while level and seen < budget:
        below: list[tuple[Any, Any]] = []
        for parent, key in level:
            value = parent[key]
            if type(value) is dict:
                if "content" in value:
                    if "account" in value:
                        value = parent[key] = _renamed(value)
                    seen += 1
                    if seen >= budget:
                        break
                items: Any = value.items()
            elif type(value) is list:
                items = enumerate(value)
            else:  # a document that is a string
                continue
            below.extend((value, k) for k, v in items if type(v) is dict or type(v) is list)
        level = below
    return top[0]


def empty_to_none(data: Any) -> Any:
    """Mastodon's "nothing to return" (`{}`) becomes None."""
    return None if data == {} else data
