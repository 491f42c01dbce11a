"""Per-token request counting in fixed windows aligned to the period, as Rack::Attack does."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    reset: float

    def headers(self) -> dict[str, str]:
        """`X-RateLimit-*` with the reset as ISO 8601 with microseconds (PROTOCOL.md §4.2)."""
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": reset_header(self.reset),
        }


def reset_header(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class RateLimiter:
    def __init__(self, limit: int, period: float) -> None:
        self.limit = limit
        self.period = period
        self._windows: dict[str, tuple[int, int]] = {}

    def hit(self, key: str, now: float) -> Verdict:
        """Count one request for `key` at time `now`."""
        window = math.floor(now / self.period)
        current, count = self._windows.get(key, (window, 0))
        count = count + 1 if current == window else 1
        self._windows[key] = (window, count)
        reset = (window + 1) * self.period
        return Verdict(count <= self.limit, self.limit, max(0, self.limit - count), reset)
