"""How an action's parameters become a Mastodon request: path, query string, form or multipart body.

Rails conventions, which Mastodon (and the servers that copy its API) parse:
lists as `key[]=a&key[]=b`, booleans as `true`/`false`, mappings as `key[sub]=v`, lists of
mappings as `key[0][sub]=v` (`fields_attributes`). None means "not given" and is never sent;
an explicit `false` or `0` is.
"""

from __future__ import annotations

import functools
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
    """Fill `{name}` placeholders from params, each value quoted as one path segment; the
    path and the names it used.

    `quote(..., safe="")` turns `../../admin` into `..%2F..%2Fadmin` and `%2e%2e` into
    `%252e%252e`, so an id can never climb to another endpoint. A segment that is empty,
    `.` or `..` would (the server or a proxy collapses it), so those are refused.
    """
    literals, names, used = _template(template)
    if not names:
        return template, used
    parts = [literals[0]]
    for name, literal in zip(names, literals[1:], strict=True):
        parts.append(_segment(name, params.get(name)))
        parts.append(literal)
    return "".join(parts), used


@functools.lru_cache(maxsize=512)
def _template(template: str) -> tuple[tuple[str, ...], tuple[str, ...], frozenset[str]]:
    """A path template's literal pieces, the placeholder names between them, and their set
    (templates are the actions' own constants: a few dozen)."""
    pieces = _PLACEHOLDER.split(template)
    return tuple(pieces[0::2]), tuple(pieces[1::2]), frozenset(pieces[1::2])


def _segment(name: str, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        if value is None:
            raise InvalidParam(name, "is required")
        raise InvalidParam(name, "must be a string or an integer")
    text = str(value)
    if text.isascii() and text.isalnum():  # an id as Mastodon makes them: nothing to quote
        return text
    if text.strip(".") == "":
        raise InvalidParam(name, "must not be empty, '.' or '..'")
    return quote(text, safe="")


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
    """`urlencode(pairs)`: quote_plus of each key and value. Keys and values made only of the
    characters it leaves as they are (ids, numbers, plain names) are joined without it: a
    notifications page's query 2.4 -> 1.3 µs."""
    if all(_as_is(key) and _as_is(value) for key, value in pairs):
        return "&".join([f"{key}={value}" for key, value in pairs])
    return urlencode(pairs)


_as_is = re.compile(r"[A-Za-z0-9_.~-]*").fullmatch  # quote_plus's always-safe characters


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
