"""When a rate-limited (429) request may be tried again.

Mastodon sends no `Retry-After`; it sends `X-RateLimit-Reset` as ISO 8601 with microseconds
(`2026-08-01T13:55:00.006593Z`), GoToSocial as an integer epoch. The reset is the server's
clock, so, as Mastodon.py does, the wait is measured against the server's `Date` header and
then applied to our clock: a skewed local clock neither waits too long nor hammers the server.
A `Retry-After` (seconds or HTTP date), if a server sends one, wins.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

_EPOCH = re.compile(r"^\d+(\.\d+)?$")
_FRACTION = re.compile(r"(\.\d{6})\d+")  # fromisoformat takes at most microseconds


@dataclass(frozen=True, slots=True)
class RateLimit:
    """How long to wait (seconds, >= 0), and the reset as ISO 8601 UTC for the caller."""

    wait: float
    reset: str


def rate_limit(headers: Mapping[str, str], now: datetime | None = None) -> RateLimit | None:
    """The wait a 429 response asks for, or None if it names no time."""
    local_now = now or datetime.now(UTC)
    server_now = _http_date(headers.get("Date")) or local_now
    until = _retry_after(headers.get("Retry-After"), server_now) or _reset(
        headers.get("X-RateLimit-Reset")
    )
    if until is None:
        return None
    wait = max((until - server_now).total_seconds(), 0.0)
    return RateLimit(wait=wait, reset=iso_utc(local_now + timedelta(seconds=wait)))


def retry_after(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """Seconds a `Retry-After` header (on a 503, say) asks us to wait, if it is there."""
    server_now = _http_date(headers.get("Date")) or now or datetime.now(UTC)
    until = _retry_after(headers.get("Retry-After"), server_now)
    return None if until is None else max((until - server_now).total_seconds(), 0.0)


def iso_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _retry_after(value: str | None, server_now: datetime) -> datetime | None:
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return server_now + timedelta(seconds=int(value))
    return _http_date(value)


def _reset(value: str | None) -> datetime | None:
    if value is None:
        return None
    value = value.strip()
    if _EPOCH.match(value):
        return datetime.fromtimestamp(float(value), UTC)
    try:
        moment = datetime.fromisoformat(_FRACTION.sub(r"\1", value))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
