"""Mastodon's error answers: one exception type, rendered as `{"error": "..."}` by a middleware.

The texts are Mastodon's own (PROTOCOL.md §4.4), so a client's error mapping sees what it
would see from a real instance.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error answer: HTTP status, Mastodon's `error` text and any extra body fields."""

    def __init__(self, status: int, error: str, **extra: Any) -> None:
        super().__init__(f"{status} {error}")
        self.status = status
        self.error = error
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"error": self.error, **self.extra}


def not_found() -> ApiError:
    return ApiError(404, "Record not found")


def unauthorized() -> ApiError:
    return ApiError(401, "The access token is invalid")


def out_of_scope() -> ApiError:
    return ApiError(403, "This action is outside the authorized scopes")


def not_allowed() -> ApiError:
    return ApiError(403, "This action is not allowed")


def user_required() -> ApiError:
    return ApiError(422, "This method requires an authenticated user")


def invalid(*messages: str) -> ApiError:
    """422 for a failed model validation (`ActiveRecord::RecordInvalid`)."""
    return ApiError(422, "Validation failed: " + ", ".join(messages))


def unprocessable(message: str) -> ApiError:
    """422 with a bare message (`Mastodon::ValidationError`)."""
    return ApiError(422, message)


def param_missing(name: str) -> ApiError:
    return ApiError(400, f"param is missing or the value is empty: {name}")
