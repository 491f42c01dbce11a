"""Parameter types of the actions that Mastodon restricts to a fixed set (from openapi.json)."""

from __future__ import annotations

from typing import Literal

Visibility = Literal["public", "unlisted", "private", "direct"]
"""StatusVisibilityEnum."""

Privacy = Literal["public", "unlisted", "private"]
"""Default post privacy of an account (`source[privacy]`)."""

RepliesPolicy = Literal["followed", "list", "none"]
"""ListRepliesPolicyEnum. The reference's `following` is not a value Mastodon knows."""

FilterContext = Literal["home", "notifications", "public", "thread", "account"]
"""FilterContextEnum (`account` since Mastodon 3.1, missing from the reference)."""

SearchType = Literal["accounts", "hashtags", "statuses"]
