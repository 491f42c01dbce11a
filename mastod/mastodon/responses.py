"""The one table from an HTTP answer to a result or a typed `MastodonError`.

Mastodon's error body is `{"error": "...", "error_description"?: ..., "details"?: ...}`; other
servers (GoToSocial, Akkoma, Takahē, snac) and the proxies in front of them send HTML pages,
plain text, or JSON with other keys (`message`, `detail`, `errors`), and some answer a bad
token with 400, 403 or 422. Every message built here is short (<= 200 characters), has no
markup and no URL, and never includes our request (so never the token).
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

from mastod.mastodon.errors import (
    BadRequest,
    Forbidden,
    MastodonError,
    NotFound,
    RateLimited,
    ServerError,
    Unauthorized,
    UnexpectedResponse,
    Unprocessable,
)
from mastod.mastodon.shaping import loads

MAX_MESSAGE = 200

_BY_STATUS: dict[int, type[MastodonError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    410: NotFound,
    422: Unprocessable,
    429: RateLimited,
}
# A bad or missing token, in the words of Mastodon (Doorkeeper), GoToSocial, Akkoma, Takahē.
_BAD_TOKEN = re.compile(
    r"access.?token.{0,40}(invalid|expired|revoked|not (found|valid|supplied))"
    r"|invalid.{0,10}(access.?)?token|invalid_token|token.{0,20}(not|missing).{0,10}(supplied|provided)"
    r"|invalid credentials|requires an authenticated user|not authenticated|\bunauthori[sz]ed\b",
    re.IGNORECASE,
)
_TAG = re.compile(r"<[^>]*>")
_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://\S+", re.IGNORECASE)
_SPACE = re.compile(r"\s+")


def decode(status: int, content_type: str, body: bytes) -> Any:
    """The JSON of a 2xx answer, Statuses renamed (`shaping`); None for an empty body.
    Anything else is UnexpectedResponse."""
    if not body.strip():
        return None
    try:
        return loads(body)
    except ValueError:
        if _looks_like_json(content_type, body):
            kind = "malformed or truncated JSON"
        else:
            kind = "an HTML page" if _is_html(content_type, body) else "not JSON"
        raise UnexpectedResponse(
            f"HTTP {status} from server is {kind}", http_status=status
        ) from None


def error_for(status: int, content_type: str, body: bytes) -> MastodonError:
    """The typed error for a non-2xx answer."""
    message, details = _message(status, content_type, body)
    cls = _BY_STATUS.get(status)
    if cls is None:
        if 500 <= status <= 599:
            cls = ServerError
        elif 400 <= status <= 499:
            cls = BadRequest
        else:
            cls = UnexpectedResponse
    if cls in (BadRequest, Forbidden, Unprocessable) and _BAD_TOKEN.search(message):
        cls = Unauthorized
    return cls(message, http_status=status, details=details)


def clean(text: str) -> str:
    """Text safe to show: no tags, no URLs, one line, at most MAX_MESSAGE characters."""
    return _clip(_SPACE.sub(" ", _URL.sub("<url>", html.unescape(_TAG.sub(" ", text)))).strip())


def _clip(text: str) -> str:
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1].rstrip() + "…"


def _message(status: int, content_type: str, body: bytes) -> tuple[str, object]:
    fallback = f"HTTP {status} from server"
    if not body.strip():
        return f"{fallback} (empty body)", None
    try:
        data = json.loads(body)
    except ValueError:
        if _looks_like_json(content_type, body):
            return f"{fallback} (malformed or truncated JSON)", None
        if _is_html(content_type, body):
            return f"{fallback} (HTML error page)", None
        text = clean(body[: MAX_MESSAGE * 4].decode("utf-8", "replace"))
        return (_clip(f"{fallback}: {text}") if text else fallback), None
    text = clean(_json_text(data))
    details = data.get("details") if isinstance(data, dict) else None
    return (text or f"{fallback} (no error message)"), details


def _json_text(data: Any) -> str:
    """The human part of a JSON error body, whatever keys the server chose."""
    if isinstance(data, str):
        return data
    if isinstance(data, list):
        return "; ".join(_json_text(item) for item in data[:3])
    if not isinstance(data, dict):
        return ""
    error = data.get("error")
    description = data.get("error_description")
    if isinstance(error, str) and isinstance(description, str) and description != error:
        return f"{error}: {description}"
    for key in ("error", "message", "detail", "errors", "error_description"):
        if data.get(key):
            return _json_text(data[key])
    # e.g. Rails' {"errors": {"username": ["has already been taken"]}}, one level down
    parts = (
        f"{key}: {text}" for key, value in list(data.items())[:3] if (text := _json_text(value))
    )
    return "; ".join(parts)


def _is_html(content_type: str, body: bytes) -> bool:
    head = body[:200].lstrip().lower()
    return "html" in content_type or head.startswith((b"<!doctype html", b"<html"))


def _looks_like_json(content_type: str, body: bytes) -> bool:
    return "json" in content_type or body.lstrip()[:1] in (b"{", b"[")
