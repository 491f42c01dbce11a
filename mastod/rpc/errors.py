"""The one error table: every failure a method can raise becomes exactly one JSON-RPC error.

Nothing else in the daemon builds JSON-RPC errors from exceptions. Unknown exceptions become
-32603 with fixed text; their detail goes to the log only, never to the client.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from mastod.mastodon import errors as m
from mastod.rpc.params import InvalidParams

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
INTERNAL_ERROR_TEXT = "Internal error"
# A call still running when the shutdown grace period ran out: Mastodon may have acted on it
STOPPED_TEXT = "Daemon stopped before the call finished; it may have taken effect"


class DaemonStopped(Exception):
    """The daemon is stopping and cut this call short (after `rpc.shutdown_grace`)."""


class RpcFault(Exception):
    """An error a method raises on purpose, with its own code and client-safe message."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data


@dataclass(frozen=True, slots=True)
class RpcError:
    code: int
    message: str
    data: Any = None

    def as_dict(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


# Mastodon failures: -32000 range, most specific class first is not needed (MRO lookup).
MASTODON_CODES: dict[type[m.MastodonError], tuple[int, str]] = {
    m.MastodonError: (-32000, "Mastodon error"),
    m.Unauthorized: (-32001, "Unauthorized by Mastodon"),
    m.Forbidden: (-32003, "Forbidden by Mastodon"),
    m.NotFound: (-32004, "Not found on Mastodon"),
    m.BadRequest: (-32005, "Rejected by Mastodon"),
    m.Unprocessable: (-32022, "Validation failed on Mastodon"),
    m.RateLimited: (-32029, "Rate limited by Mastodon"),
    m.ServerError: (-32050, "Mastodon server error"),
    m.UnexpectedResponse: (-32051, "Unexpected response from Mastodon"),
    m.Unreachable: (-32052, "Mastodon unreachable"),
    m.MediaNotReady: (-32053, "Media not processed in time"),
}


def method_not_found(name: str, known: Iterable[str]) -> RpcError:
    """-32601 naming the method, with the nearest known name when one is close."""
    return RpcError(METHOD_NOT_FOUND, f"Method not found: {name[:100]}{_did_you_mean(name, known)}")


def binding_error(reason: str, given: Any, known: list[str]) -> RpcError:
    """-32602 for params that do not bind to the signature. `reason` is Python's text (it
    names a parameter); a name the method does not have is reported first, whatever Python
    met first, with the nearest parameter name when one is close."""
    unknown = [name for name in given if name not in known] if isinstance(given, dict) else []
    if unknown:
        name = str(unknown[0])
        reason = f"got an unexpected keyword argument {name[:100]!r}{_did_you_mean(name, known)}"
    return RpcError(INVALID_PARAMS, f"Invalid params: {reason}")


def _did_you_mean(name: str, known: Iterable[str]) -> str:
    if len(name) > 100:  # no name is that long, and matching costs grow with the length
        return ""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def from_exception(exc: BaseException) -> RpcError | None:
    """The client-facing error for `exc`, or None when it is unexpected (a bug: log it)."""
    if isinstance(exc, RpcFault):
        return RpcError(exc.code, exc.message, exc.data)
    if isinstance(exc, DaemonStopped):
        return RpcError(INTERNAL_ERROR, STOPPED_TEXT)
    if isinstance(exc, InvalidParams | m.InvalidParam):
        return RpcError(INVALID_PARAMS, f"Invalid params: {exc}")
    if isinstance(exc, m.MastodonError):
        for cls in type(exc).__mro__:
            if cls in MASTODON_CODES:
                code, message = MASTODON_CODES[cls]
                return RpcError(code, message, _mastodon_data(exc))
    return None


def _mastodon_data(exc: m.MastodonError) -> dict[str, Any]:
    data: dict[str, Any] = {"http_status": exc.http_status, "error": exc.error}
    if exc.rate_limit_reset is not None:
        data["rate_limit_reset"] = exc.rate_limit_reset
    if exc.details is not None:
        data["details"] = exc.details
    return data
