"""JSON answers."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from aiohttp import web

from mastod.sandbox.pagination import Page

T = TypeVar("T")


def ok(data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    return web.json_response(data, status=status, headers=headers)


def empty() -> web.Response:
    """Mastodon's `render_empty`: `{}` with 200."""
    return web.json_response({})


def paged(page: Page[T], render: Callable[[T], dict[str, Any]]) -> web.Response:
    return web.json_response([render(item) for item in page.items], headers=page.headers())
