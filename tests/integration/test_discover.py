"""`rpc.discover` of the real daemon tells a client everything it needs: a valid OpenRPC
document (checked against the OpenRPC meta-schema, @open-rpc/meta-schema 1.14.9, vendored
under tests/rpc/data, Apache-2.0), typed parameters and results a generated client can use,
descriptions, bounds, scopes, errors and the subscription messages."""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from mastod.actions._docs import PARAMS, SCOPES
from mastod.actions._registry import collect
from tests.integration.conftest import Rpc

JSON_SCHEMA_META = "https://meta.json-schema.tools"
META_SCHEMA = Path(__file__).parents[1] / "rpc" / "data" / "openrpc-meta-schema-1.14.9.json"


def typed(schema: dict[str, Any]) -> bool:
    """A schema a generator can turn into a type: a `type`/`$ref`, or a union of such."""
    if "type" in schema or "$ref" in schema:
        return True
    return bool(schema.get("anyOf")) and all(typed(s) for s in schema["anyOf"])


async def test_discover_is_a_valid_openrpc_document_with_typed_params(rpc: Rpc) -> None:
    doc = await rpc.call("rpc.discover")
    meta = json.loads(META_SCHEMA.read_text(encoding="utf-8"))
    # it describes schema objects by the JSON Schema meta-schema it names by URL: draft 7's
    # (json-schema-tools' copy of it, which also names the root `definitions/JSONSchemaObject`)
    core = {k: v for k, v in jsonschema.Draft7Validator.META_SCHEMA.items() if k != "$id"}
    tools = {**core, "definitions": {**core["definitions"], "JSONSchemaObject": core}}
    draft7 = Resource.from_contents(tools, DRAFT7)
    schemas = Registry().with_resources(
        (u, draft7) for u in (JSON_SCHEMA_META, JSON_SCHEMA_META + "/")
    )
    validator = jsonschema.Draft7Validator(meta, registry=schemas)
    errors = [e.message for e in validator.iter_errors(doc)]
    assert errors == []
    broken = {**doc, "methods": [{**doc["methods"][0], "params": [{"schema": {}}]}]}
    assert list(validator.iter_errors(broken))  # the check does bite (a param needs a name)
    for method in doc["methods"]:
        assert typed(method["result"]["schema"]), method["name"]
        for param in method["params"]:
            assert typed(param["schema"]), (method["name"], param["name"])
            if method["name"] not in ("subscribe", "unsubscribe"):
                assert param.get("description"), (method["name"], param["name"])


async def test_discover_has_bounds_scopes_errors_and_frames(rpc: Rpc) -> None:
    doc = await rpc.call("rpc.discover")
    methods = {m["name"]: m for m in doc["methods"]}
    params = {(m["name"], p["name"]): p for m in doc["methods"] for p in m["params"]}
    limit = params[("get_home_timeline", "limit")]["schema"]
    assert (limit["type"], limit["minimum"], limit["default"]) == ("integer", 0, 20)
    pages = params[("paginate", "pages")]["schema"]
    assert (pages["minimum"], pages["maximum"]) == (1, 20)
    assert "get_bookmarked_statuses" in params[("paginate", "method")]["schema"]["enum"]
    assert "ignores" in params[("get_home_timeline", "local")]["description"]
    notify = params[("follow_account", "notify")]
    assert notify["schema"]["default"] is None
    assert "left as it is" in notify["description"]
    poll = params[("publish_status", "poll")]["schema"]["anyOf"][0]
    assert poll["required"] == ["options", "expires_in"]
    assert "ScheduledStatus" in methods["publish_status"]["description"]
    home = methods["get_home_timeline"]
    assert home["x-scope"] == "read:statuses"
    assert "OAuth scope: `read:statuses`" in home["description"]
    errors = doc["components"]["errors"]

    def codes(method: dict[str, Any]) -> set[int]:
        prefix = "#/components/errors/"
        return {errors[e["$ref"].removeprefix(prefix)]["code"] for e in method["errors"]}

    assert {-32602, -32603, -32001, -32003, -32004, -32029, -32052} <= codes(home)
    assert -32053 not in codes(home)
    assert -32053 in codes(methods["upload_media"])
    assert -32004 in codes(methods["paginate"])
    assert all("x-scope" in methods[n] for n in methods if n.startswith("get_"))
    subscribe = methods["subscribe"]
    assert -32010 in codes(subscribe)
    assert errors["RateLimited"]["data"]["properties"]["rate_limit_reset"]["format"] == "date-time"
    frames = {f["name"]: f for f in subscribe["x-notifications"]}
    assert frames["dropped"]["params"]["required"] == ["subscription", "since_id"]
    assert frames["notification"]["params"]["required"] == ["subscription", "notification"]


def test_scope_and_parameter_tables_match_the_actions() -> None:
    actions = {fn.__name__: set(inspect.signature(fn).parameters) - {"api"} for fn in collect()}
    assert set(SCOPES) == set(actions)
    for name, described in PARAMS.items():
        assert set(described) <= actions[name], name  # no description of a gone parameter
