"""`rpc.discover`: an OpenRPC 1.x document built from the registry, i.e. from the same
signatures that dispatch binds against."""

from __future__ import annotations

from typing import Any

from mastod import __version__
from mastod.rpc import params
from mastod.rpc.registry import Method, Registry

OPENRPC_VERSION = "1.3.2"


def document(registry: Registry) -> dict[str, Any]:
    return {
        "openrpc": OPENRPC_VERSION,
        "info": {
            "title": "mastod",
            "version": __version__,
            "description": "Mastodon actions and notifications as JSON-RPC 2.0 methods.",
        },
        "methods": [_method(m) for m in sorted(registry, key=lambda m: m.name)],
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
                "required": p.required,
                "schema": {
                    **params.json_schema(p.annotation),
                    **({} if p.required else {"default": p.default}),
                },
            }
            for p in method.params
        ],
        "result": {"name": "result", "schema": params.json_schema(method.result)},
    }
    if method.description:
        entry["description"] = method.description
    return entry
