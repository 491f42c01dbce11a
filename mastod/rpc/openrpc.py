"""`rpc.discover`: an OpenRPC 1.x document built from the registry, i.e. from the same
signatures that dispatch binds against.

Beyond the signatures it publishes what a client (or a generated one) needs: each parameter's
description, bounds and enums (from the annotations), the OAuth scope of each action (in
its description and as `x-scope`), the errors each method can answer (from the one error
table), and the `notification`/`dropped` messages a subscription sends (`x-notifications`
on `subscribe`).
"""

from __future__ import annotations

from typing import Any

from mastod import __version__
from mastod.mastodon import errors as m
from mastod.rpc import params
from mastod.rpc.errors import INTERNAL_ERROR, INTERNAL_ERROR_TEXT, INVALID_PARAMS, MASTODON_CODES
from mastod.rpc.registry import Method, Registry
from mastod.rpc.subscriptions import NEEDS_CONNECTION, NEEDS_CONNECTION_TEXT

OPENRPC_VERSION = "1.3.2"

# Methods that take a file parameter: only they can fail waiting for media processing.
_MEDIA_METHODS = frozenset({"upload_media", "update_media"})
_NEEDS_CONNECTION = {
    "code": NEEDS_CONNECTION,
    "message": NEEDS_CONNECTION_TEXT,
    "data": {"type": "object", "properties": {"transport": {}, "use": {"type": "array"}}},
}
_MASTODON_DATA = {
    "type": "object",
    "properties": {
        "http_status": {"type": ["integer", "null"]},
        "error": {"type": "string"},
        "rate_limit_reset": {"type": "string", "format": "date-time"},
        "details": {"type": "object"},
    },
    "required": ["http_status", "error"],
}
_NOTIFICATION_FRAMES = [
    {
        "name": "notification",
        "summary": "One notification of the subscription, in the order stored.",
        "params": {
            "type": "object",
            "properties": {
                "subscription": {"type": "string"},
                "notification": {
                    "type": "object",
                    "description": "Mastodon's Notification, shaped as get_notifications.",
                },
            },
            "required": ["subscription", "notification"],
        },
    },
    {
        "name": "dropped",
        "summary": (
            "The connection fell too far behind: the subscription has ended. Subscribe again "
            "with this since_id to resume without a gap."
        ),
        "params": {
            "type": "object",
            "properties": {"subscription": {"type": "string"}, "since_id": {"type": "string"}},
            "required": ["subscription", "since_id"],
        },
    },
    {
        "name": "pruned",
        "summary": (
            "Retention deleted notifications after the since_id asked for: the replay goes on "
            "from oldest_id, the oldest one kept."
        ),
        "params": {
            "type": "object",
            "properties": {
                "subscription": {"type": "string"},
                "since_id": {"type": "string"},
                "oldest_id": {"type": "string"},
            },
            "required": ["subscription", "since_id", "oldest_id"],
        },
    },
]


def document(registry: Registry) -> dict[str, Any]:
    return {
        "openrpc": OPENRPC_VERSION,
        "info": {
            "title": "mastod",
            "version": __version__,
            "description": "Mastodon actions and notifications as JSON-RPC 2.0 methods.",
        },
        "methods": [_method(m) for m in sorted(registry, key=lambda m: m.name)],
        "components": {"errors": _ERRORS},
    }


def _method(method: Method) -> dict[str, Any]:
    by_position = all(p.positional for p in method.params if p.required)
    entry: dict[str, Any] = {
        "name": method.name,
        "summary": method.summary,
        "paramStructure": "either" if by_position else "by-name",
        "params": [
            {
                "name": p.name,
                **({"description": p.description} if p.description else {}),
                "required": p.required,
                "schema": {
                    **params.json_schema(p.annotation),
                    **({} if p.required else {"default": p.default}),
                },
            }
            for p in method.params
        ],
        "result": {"name": "result", "schema": params.json_schema(method.result)},
        "errors": _errors(method),
    }
    description = "\n\n".join(part for part in (method.description, _scope_text(method)) if part)
    if description:
        entry["description"] = description
    if method.scope is not None:
        entry["x-scope"] = method.scope
    if method.name == "subscribe":
        entry["x-notifications"] = _NOTIFICATION_FRAMES
    return entry


def _scope_text(method: Method) -> str:
    if method.scope is None:
        return ""
    text = f"OAuth scope: `{method.scope}`"
    if method.scope_optional:
        return text + " (also works without a token, on public data)."
    return text + "."


# Each error once, under `components`; methods refer to them (the document stays small).
_ERRORS: dict[str, dict[str, Any]] = {
    "InvalidParams": {"code": INVALID_PARAMS, "message": "Invalid params: <parameter: reason>"},
    "InternalError": {"code": INTERNAL_ERROR, "message": INTERNAL_ERROR_TEXT},
    **{
        cls.__name__: {"code": code, "message": message, "data": _MASTODON_DATA}
        for cls, (code, message) in MASTODON_CODES.items()
    },
    "NeedsConnection": _NEEDS_CONNECTION,
}


def _errors(method: Method) -> list[dict[str, str]]:
    names = ["InvalidParams", "InternalError"]
    if method.scope is not None or method.name == "paginate":  # calls Mastodon
        names += [
            cls.__name__
            for cls in MASTODON_CODES
            if cls is not m.MediaNotReady or method.name in _MEDIA_METHODS
        ]
    if method.name == "subscribe":
        names.append("NeedsConnection")
    return [{"$ref": f"#/components/errors/{name}"} for name in names]
