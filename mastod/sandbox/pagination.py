"""Cursor pagination and the `Link` header, as Mastodon's `Api::Pagination` does it.

Each paged endpoint hands over `(cursor, item)` rows, where the cursor is whatever id the
real controller pages by: the status id for timelines, but the bookmark, favourite, follow,
block, mute or list-membership row's id for those lists, and the last status id for
conversations (PROTOCOL.md §4.1).

* `max_id`: rows below it; `since_id`: the newest rows above it; `min_id`: the rows just
  above it (paging forward). Results are always newest first.
* `Link`: `rel="next"` (max_id = last cursor) only when the page is full, `rel="prev"`
  (min_id = first cursor) whenever the page is not empty; no header for an empty page.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

from aiohttp import web

from mastod.sandbox.params import Params

T = TypeVar("T")

_DROPPED = ("max_id", "min_id", "since_id", "access_token")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    link: str | None

    def headers(self) -> dict[str, str]:
        return {"Link": self.link} if self.link else {}


def cursor_value(raw: str | None) -> int | None:
    """A cursor as the database compares it: leading digits, anything else counts as 0."""
    if raw is None or raw == "":
        return None
    match = re.match(r"\s*\d+", raw)
    return int(match.group(0)) if match else 0


def limit_param(params: Params, default: int, maximum: int) -> int:
    """`limit_param`: the default when absent, else |limit| capped at the maximum."""
    value = params.integer("limit")
    return default if value is None else min(abs(value), maximum)


def paginate(
    request: web.Request,
    params: Params,
    rows: Iterable[tuple[str, T]],
    *,
    default: int,
    maximum: int,
    unlimited_zero: bool = False,
) -> Page[T]:
    """Select one page of `(cursor, item)` rows and build its Link header.

    `unlimited_zero`: `limit=0` means everything (list members), with no Link header.
    """
    limit = limit_param(params, default, maximum)
    ordered = sorted(((int(c), c, item) for c, item in rows), key=lambda x: x[0], reverse=True)
    max_id = cursor_value(params.string("max_id"))
    since_id = cursor_value(params.string("since_id"))
    min_id = cursor_value(params.string("min_id"))
    if max_id is not None:
        ordered = [x for x in ordered if x[0] < max_id]
    if since_id is not None:
        ordered = [x for x in ordered if x[0] > since_id]
    if unlimited_zero and params.integer("limit") == 0:
        return Page([item for _, _, item in ordered], None)
    if min_id is not None:
        above = [x for x in reversed(ordered) if x[0] > min_id][:limit]
        chosen = list(reversed(above))
    else:
        chosen = ordered[:limit]
    if not chosen:
        return Page([], None)
    links = []
    if len(chosen) == limit:
        links.append(f'<{_url(request, "max_id", chosen[-1][1])}>; rel="next"')
    links.append(f'<{_url(request, "min_id", chosen[0][1])}>; rel="prev"')
    return Page([item for _, _, item in chosen], ", ".join(links))


def _url(request: web.Request, cursor: str, value: str) -> str:
    kept = [(k, v) for k, v in request.rel_url.query.items() if k not in _DROPPED]
    return str(request.url.with_query([*kept, (cursor, value)]))
