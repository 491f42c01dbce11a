"""rpc.discover is generated from the same signatures dispatch binds against."""

from __future__ import annotations

import inspect
import json
from typing import Any, Literal

from mastod.rpc.actions import register_actions
from mastod.rpc.dispatch import Dispatcher
from mastod.rpc.openrpc import document
from mastod.rpc.registry import Registry
from tests.rpc.conftest import Calls, make_registry


class Peer:
    transport = "test"


class FakeClient:
    def __init__(self) -> None:
        self.seen: list[tuple[str | None, str | None]] = []

    def api(self, base_url: str | None = None, access_token: str | None = None) -> Any:
        self.seen.append((base_url, access_token))
        return {"base_url": base_url}


async def favourite_thing(
    api: Any, status_id: str | int, visibility: Literal["public", "direct"] | None = None
) -> dict[str, Any]:
    """Favourite a thing.

    Longer text.
    """
    return {"api": api, "status_id": status_id, "visibility": visibility}


def test_document_lists_every_method_with_its_params() -> None:
    registry = make_registry(Calls())
    doc = document(registry)
    assert doc["openrpc"].startswith("1.")
    methods = {m["name"]: m for m in doc["methods"]}
    assert set(methods) == {m.name for m in registry}
    add = methods["add"]
    assert add["summary"] == "Add two integers."
    assert add["params"] == [
        {"name": "a", "required": True, "schema": {"type": "integer"}},
        {"name": "b", "required": False, "schema": {"type": "integer", "default": 0}},
    ]
    assert add["result"]["schema"] == {"type": "integer"}
    assert methods["pick"]["params"][0]["schema"] == {
        "type": "string",
        "enum": ["public", "private"],
        "default": "public",
    }


async def test_actions_get_overrides_and_alias_and_describe_the_same() -> None:
    registry = Registry()
    client = FakeClient()
    register_actions(registry, [favourite_thing], client)
    method = registry.get("favourite_thing")
    assert method is not None
    assert registry.get("mastodon.favourite_thing") is method
    assert list(method.signature.parameters) == [
        "status_id",
        "visibility",
        "base_url",
        "access_token",
    ]
    assert method.signature.parameters["base_url"].kind is inspect.Parameter.KEYWORD_ONLY
    doc = {m["name"]: m for m in document(registry)["methods"]}["favourite_thing"]
    assert [p["name"] for p in doc["params"]] == [p for p in method.signature.parameters]
    assert doc["params"][0]["schema"] == {"type": ["string", "integer"]}
    assert doc["params"][2]["schema"] == {"type": ["string", "null"], "default": None}
    assert doc["description"] == "Longer text."

    dispatcher = Dispatcher(registry)
    frame = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "mastodon.favourite_thing",
        "params": {"status_id": 7, "base_url": "https://other.example", "access_token": "t"},
    }
    answer = json.loads(await dispatcher.handle(json.dumps(frame), Peer()) or "")
    assert answer["result"] == {
        "api": {"base_url": "https://other.example"},
        "status_id": 7,
        "visibility": None,
    }
    assert client.seen == [("https://other.example", "t")]
    positional = {
        "jsonrpc": "2.0",
        "id": 2,
        "method": "favourite_thing",
        "params": ["9", "direct", "https://x"],
    }
    answer = json.loads(await dispatcher.handle(json.dumps(positional), Peer()) or "")
    assert "too many positional arguments" in answer["error"]["message"]
