"""How an action's parameters become a Mastodon request: path, query string, form or multipart body.

Rails conventions, which Mastodon (and the servers that copy its API) parse:
lists as `key[]=a&key[]=b`, booleans as `true`/`false`, mappings as `key[sub]=v`, lists of
mappings as `key[0][sub]=v` (`fields_attributes`). None means "not given" and is never sent;
an explicit `false` or `0` is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp

from mastod.mastodon.errors import InvalidParam
from mastod.mastodon.uploads import Upload

Pairs = list[tuple[str, str]]

_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_NOT_PARAMS = frozenset({"api"})  # an action's own `locals()` holds its Api view


def fill_path(template: str, params: Mapping[str, Any]) -> tuple[str, frozenset[str]]:
    """Fill `{name}` placeholders from params, each value quoted as one path segment.

    `quote(..., safe="")` turns `../../admin` into `..%2F..%2Fadmin` and `%2e%2e` into
    `%252e%252e`, so an id can never climb to another endpoint. A segment that is empty,
    `.` or `..` would (the server or a proxy collapses it), so those are refused.
    """
    used: set[str] = set()

    def segment(match: re.Match[str]) -> str:
        name = match.group(1)
        value = params.get(name)
        if value is None:
            raise InvalidParam(name, "is required")
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise InvalidParam(name, "must be a string or an integer")
        text = str(value)
        if text.strip(".") == "":
            raise InvalidParam(name, "must not be empty, '.' or '..'")
        used.add(name)
        return quote(text, safe="")

    return _PLACEHOLDER.sub(segment, template), frozenset(used)


def form_pairs(params: Mapping[str, Any], skip: frozenset[str] = frozenset()) -> Pairs:
    """Flatten params (minus `skip`, the `api` key and None values) into wire pairs."""
    pairs: Pairs = []
    for key, value in params.items():
        if key not in skip and key not in _NOT_PARAMS:
            _flatten(key, value, pairs)
    return pairs


def _flatten(key: str, value: Any, out: Pairs) -> None:
    if value is None:
        return
    if isinstance(value, Mapping):
        for sub, item in value.items():
            _flatten(f"{key}[{sub}]", item, out)
    elif isinstance(value, list | tuple):
        indexed = any(isinstance(item, Mapping) for item in value)
        for index, item in enumerate(value):
            _flatten(f"{key}[{index}]" if indexed else f"{key}[]", item, out)
    elif isinstance(value, bool):
        out.append((key, "true" if value else "false"))
    elif isinstance(value, str | int | float):
        out.append((key, str(value)))
    else:
        raise TypeError(f"cannot send a {type(value).__name__} as the value of {key!r}")


def cursor_pairs(cursor: Mapping[str, Any]) -> Pairs:
    """A pagination cursor is a Link URL's query, already in wire form: send it unchanged."""
    pairs: Pairs = []
    for key, value in cursor.items():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, bool) or not isinstance(item, str | int):
                raise InvalidParam("cursor", "must map query names to strings or lists of them")
            pairs.append((str(key), str(item)))
    return pairs


def encode_query(pairs: Pairs) -> str:
    return urlencode(pairs)


def multipart(pairs: Pairs, files: list[Upload]) -> aiohttp.FormData:
    """A multipart body of the form fields and the files' content."""
    form = aiohttp.FormData(quote_fields=False)
    for key, value in pairs:
        form.add_field(key, value)
    for upload in files:
        form.add_field(
            upload.field, upload.data, filename=upload.filename, content_type=upload.content_type
        )
    return form
