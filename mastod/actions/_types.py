"""Parameter types of the actions that Mastodon restricts to a fixed set (from openapi.json)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal, TypedDict


@dataclass(frozen=True, slots=True)
class Range:
    """Bounds of an integer parameter, checked before anything is sent and published in
    `rpc.discover` as `minimum`/`maximum` (the RPC layer reads these two attributes)."""

    minimum: int | None = None
    maximum: int | None = None


Limit = Annotated[int, Range(minimum=0)]
"""A page size: Mastodon caps it per endpoint, and a negative one is a caller's mistake."""

Visibility = Literal["public", "unlisted", "private", "direct"]
"""StatusVisibilityEnum."""

Privacy = Literal["public", "unlisted", "private"]
"""Default post privacy of an account (`source[privacy]`)."""

RepliesPolicy = Literal["followed", "list", "none"]
"""ListRepliesPolicyEnum. The reference's `following` is not a value Mastodon knows."""

FilterContext = Literal["home", "notifications", "public", "thread", "account"]
"""FilterContextEnum (`account` since Mastodon 3.1, missing from the reference)."""

SearchType = Literal["accounts", "hashtags", "statuses"]

QuotePolicy = Literal["public", "followers", "nobody"]
"""Who may quote a status (`quote_approval_policy`, Mastodon 4.5+)."""


class _PollRequired(TypedDict):
    options: list[str]
    expires_in: int


# Optional keys by `total=False`, not `NotRequired`: under `from __future__ import
# annotations` the latter stays a string at runtime and every key would count as required.
class Poll(_PollRequired, total=False):
    """A poll to attach to a new status (sent as `poll[options][]`, `poll[expires_in]`, ...)."""

    multiple: bool
    hide_totals: bool
