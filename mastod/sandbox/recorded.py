"""What the sandbox records of each exchange, for tests to inspect and check against the schema."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from multidict import CIMultiDictProxy

from mastod.sandbox.params import FormPairs


@dataclass
class RecordedResponse:
    """A response as the handler produced it (before aiohttp adds Date, Server, Content-Length)."""

    status: int
    headers: CIMultiDictProxy[str]
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class RecordedRequest:
    """One request as received.

    `path` is the raw path as sent (percent-escapes kept, no query string); `query` the
    decoded query pairs in order; `body` the form or multipart pairs, or the decoded JSON
    value, or None for an empty or unparsable body (`raw_body` always has the bytes).
    `response` is filled in when `Sandbox.record_responses` is on; `fault` names the injected
    fault that shaped the answer, if any (such answers are deliberately not Mastodon's).
    """

    method: str
    path: str
    query: list[tuple[str, str]]
    body: FormPairs | Any
    headers: CIMultiDictProxy[str]
    raw_body: bytes
    content_type: str
    response: RecordedResponse | None = None
    fault: str | None = None

    def query_values(self, name: str) -> list[str]:
        return [v for k, v in self.query if k == name]


@dataclass
class RecordedPush:
    """One Web Push delivery attempt: what was POSTed and what came of it.

    `status` is the endpoint's HTTP status, or None when no answer came (`error` says why).
    `outcome` is `delivered` (2xx), `retrying`, `failed` (the retries are used up) or
    `unsubscribed` (a 4xx other than 408 and 429 deleted the subscription).
    """

    endpoint: str
    encoding: str
    notification_id: str
    subscription_id: int
    attempt: int
    status: int | None
    error: str | None
    outcome: str
    headers: dict[str, str]
    body: bytes
