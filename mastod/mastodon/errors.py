"""Typed failures of a Mastodon call: the request core raises these, nothing else.

HTTP status and body are turned into one of these classes in exactly one place (the request
core); `mastod.rpc.errors` maps each class to a JSON-RPC error in exactly one table.
"""

from __future__ import annotations


class MastodonError(Exception):
    """A Mastodon call failed. `error` is the server's message, safe to show to the caller."""

    def __init__(
        self,
        error: str,
        *,
        http_status: int | None = None,
        rate_limit_reset: str | None = None,
        details: object = None,
    ) -> None:
        super().__init__(error)
        self.error = error
        self.http_status = http_status
        self.rate_limit_reset = rate_limit_reset
        self.details = details


class BadRequest(MastodonError):
    """400: a parameter is missing or invalid."""


class Unauthorized(MastodonError):
    """401 (or a 400/422 that says the token is bad): no valid access token."""


class Forbidden(MastodonError):
    """403: outside the token's scopes, or the account may not do this."""


class NotFound(MastodonError):
    """404: no such record (or not visible to this token)."""


class Unprocessable(MastodonError):
    """422: validation failed."""


class RateLimited(MastodonError):
    """429: rate limited; `rate_limit_reset` is when the window resets (ISO 8601, UTC)."""


class ServerError(MastodonError):
    """5xx: the server failed."""


class UnexpectedResponse(MastodonError):
    """The server answered something that is not the API's shape (HTML, truncated JSON, ...)."""


class Unreachable(MastodonError):
    """No answer: connection refused or reset, DNS failure, TLS failure or timeout."""


class MediaNotReady(MastodonError):
    """Uploaded media did not finish processing within the configured time."""


class InvalidParam(ValueError):
    """A parameter's value cannot be used (unreadable file, empty path id, bad cursor, ...).

    Raised before anything is sent; `mastod.rpc.errors` maps it to JSON-RPC -32602 with
    `param` named. `reason` is written for the caller and holds no secret.
    """

    def __init__(self, param: str, reason: str) -> None:
        super().__init__(f"{param}: {reason}")
        self.param = param
        self.reason = reason
