"""Link-header pagination (RFC 8288), the way Mastodon pages its lists.

A cursor is the query of a `Link` URL as a mapping (`{"max_id": "123", "limit": "20"}`;
repeated keys become lists). It is the only correct cursor for bookmarks, favourites,
conversations, followers, blocks, mutes and list members, whose `max_id`/`min_id` are internal
record ids rather than the ids of the returned entities (PROTOCOL.md §4.1).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit

from mastod.net import origin

Cursor = dict[str, str | list[str]]

_LINK = re.compile(r"<([^>]*)>([^<]*)")
_REL = re.compile(r"""(?:^|;)\s*rel\s*=\s*(?:"([^"]*)"|([^\s;,]+))""", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Links:
    """The `next` and `prev` URLs of a response (absolute), None where the server sent none."""

    next: str | None = None
    prev: str | None = None


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a list endpoint with the cursors that continue it."""

    items: list[Any]
    next: Cursor | None
    prev: Cursor | None


def parse_links(header: str | None, request_url: str) -> Links:
    """The `next`/`prev` targets of a Link header, resolved against the request URL.

    Tolerates the variations servers send: `rel=next` unquoted, several relations in one
    `rel="next last"`, extra parameters, and `previous` for `prev`.
    """
    if not header:
        return _NO_LINKS
    found: dict[str, str] = {}
    for match in _LINK.finditer(header):
        target, params = match.group(1).strip(), match.group(2)
        rel = _REL.search(params)
        if rel is None:
            continue
        for name in (rel.group(1) or rel.group(2) or "").lower().split():
            key = "prev" if name == "previous" else name
            if key not in found:
                found[key] = _resolved(target, request_url)
    return Links(next=found.get("next"), prev=found.get("prev"))


def _resolved(target: str, request_url: str) -> str:
    """`target` made absolute against the request URL. Mastodon's links are absolute already
    and are used as they are: urljoin would return them re-assembled (an empty `?` or `#`
    dropped, which no cursor can tell apart), at 5 µs each."""
    if target.startswith(("https://", "http://")):
        return target
    return urljoin(request_url, target)


_NO_LINKS = Links()


def cursor_of(url: str | None) -> Cursor | None:
    """The query of a Link URL as a cursor (None when there is no link to follow)."""
    if url is None:
        return None
    cursor: Cursor = {}
    for key, value in parse_qsl(urlsplit(url).query, keep_blank_values=True):
        previous = cursor.get(key)
        if previous is None:
            cursor[key] = value
        elif isinstance(previous, list):
            previous.append(value)
        else:
            cursor[key] = [previous, value]
    return cursor


def same_instance(url: str, base_url: str) -> bool:
    """Whether `url` is on the instance at `base_url` (scheme, host, port and path prefix).

    A Link is followed with our token only when it is; a server that links elsewhere must not
    be able to send our token to another host.
    """
    if origin(url) != origin(base_url):
        return False
    target, prefix = urlsplit(url).path, urlsplit(base_url).path.rstrip("/") + "/"
    return target.startswith(prefix) and "/../" not in f"{target}/"
