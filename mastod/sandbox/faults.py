"""Fault injection: programmed misbehaviour for reliability tests.

`sandbox.faults.add("/api/v1/statuses", "status", status=502, count=2)` makes the next two
matching requests fail. A string pattern matches as a prefix of the raw request path, a
compiled `re.Pattern` by `search`. Kinds:

* `latency`: sleep `seconds`, then continue (to the next fault or the real handler);
* `status`: answer `status` with `body` (str, bytes or a JSON value) as `content_type`;
* `drop`: close the connection without an answer;
* `truncate`: run the real handler, then send only `keep_bytes` of its body (default half).
  With `cut_connection` (default) the headers announce the full length and the connection is
  closed mid-body; without it, a complete response carries the cut JSON;
* `rate_limit`: answer 429 `{"error":"Too many requests"}` with `X-RateLimit-Reset` at
  now + `reset_in` seconds.

`after=True` (status, drop) runs the real handler first, so the request takes effect and only
its answer is lost. `count=None` never runs out. `close_connections = True` makes every
response carry `Connection: close`, as some non-Mastodon servers do.

`drop_streams()` cuts every open streaming connection (WebSocket and Server-Sent Events) at
once, as a crashed or restarted streaming server does; `drop_streams(graceful=True)` closes
WebSockets with 1001 (going away) instead. To refuse the reconnects too, add a `status` fault
on `/api/v1/streaming`.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass
from typing import Any, Literal, cast, get_args

from mastod.sandbox.errors import ApiError
from mastod.sandbox.streams import Streams

FaultKind = Literal["latency", "status", "drop", "truncate", "rate_limit"]
FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)


@dataclass
class Fault:
    id: int
    kind: FaultKind
    path: str | re.Pattern[str]
    count: int | None = 1
    method: str | None = None
    seconds: float = 0.0
    status: int = 503
    body: Any = None
    content_type: str = "application/json"
    reset_in: float = 60.0
    keep_bytes: int | None = None
    cut_connection: bool = True
    after: bool = False
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.count is not None and self.count <= 0:
            return False
        if self.method is not None and self.method.upper() != method.upper():
            return False
        if isinstance(self.path, re.Pattern):
            return self.path.search(path) is not None
        return path.startswith(self.path)

    def body_bytes(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        default = {"error": "There was a temporary problem serving your request, please try again"}
        return json.dumps(default if self.body is None else self.body).encode()

    def to_json(self) -> dict[str, Any]:
        regex = isinstance(self.path, re.Pattern)
        return {
            "id": self.id,
            "kind": self.kind,
            "path": self.path.pattern if isinstance(self.path, re.Pattern) else self.path,
            "regex": regex,
            "count": self.count,
            "method": self.method,
            "hits": self.hits,
        }


class Faults:
    """The programmed faults of one sandbox, consumed in the order they were added."""

    def __init__(self, streams: Streams | None = None) -> None:
        self.active: list[Fault] = []
        self.close_connections = False
        self.streams = streams if streams is not None else Streams()
        self._ids = itertools.count(1)

    def drop_streams(self, *, graceful: bool = False) -> int:
        """Cut every streaming connection; returns how many there were."""
        return self.streams.drop_all(code=1001 if graceful else None)

    def add(
        self,
        path: str | re.Pattern[str],
        kind: FaultKind,
        *,
        count: int | None = 1,
        method: str | None = None,
        seconds: float = 0.0,
        status: int = 503,
        body: Any = None,
        content_type: str = "application/json",
        reset_in: float = 60.0,
        keep_bytes: int | None = None,
        cut_connection: bool = True,
        after: bool = False,
    ) -> Fault:
        """Program a fault; returns it (its `hits` counts how often it fired)."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}")
        fault = Fault(
            next(self._ids), kind, path, count, method, seconds, status, body,
            content_type, reset_in, keep_bytes, cut_connection, after,
        )  # fmt: skip
        self.active.append(fault)
        return fault

    def clear(self) -> None:
        self.active.clear()
        self.close_connections = False

    def take(self, method: str, path: str) -> list[Fault]:
        """Consume the faults for one request: any latencies, then at most one terminal fault."""
        taken: list[Fault] = []
        for fault in self.active:
            if not fault.matches(method, path):
                continue
            if fault.count is not None:
                fault.count -= 1
            fault.hits += 1
            taken.append(fault)
            if fault.kind != "latency":
                break
        return taken

    def add_json(self, data: dict[str, Any]) -> Fault:
        """`add` from the JSON of `POST /_sandbox/faults`; raises a 422 ApiError on bad input."""
        try:
            path = str(data["path"])
            kind = str(data["kind"])
            pattern: str | re.Pattern[str] = re.compile(path) if data.get("regex") else path
            options = {k: convert(data[k]) for k, convert in _JSON_OPTIONS.items() if k in data}
            if kind not in FAULT_KINDS:
                raise ValueError(f"kind must be one of {', '.join(FAULT_KINDS)}")
            return self.add(pattern, cast(FaultKind, kind), **options)
        except (KeyError, ValueError, TypeError, re.error) as exc:
            raise ApiError(422, f"Invalid fault: {exc}") from exc


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _optional_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _same(value: Any) -> Any:
    return value


def _strict_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError("flags must be JSON booleans")
    return value


_JSON_OPTIONS: dict[str, Any] = {
    "count": _optional_int,
    "method": _optional_str,
    "seconds": float,
    "status": int,
    "body": _same,
    "content_type": str,
    "reset_in": float,
    "keep_bytes": _optional_int,
    "cut_connection": _strict_bool,
    "after": _strict_bool,
}
