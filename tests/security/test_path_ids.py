"""An id never leaves its endpoint: for every method (from `rpc.discover`) with an `*_id`
parameter that goes into the URL path, ids built to climb or cut the path (`../../admin`,
`%2e%2e`, `..%2F`, `a/b`, `?x`, `#f`, unicode slashes, ...) are sent through RPC to the
sandbox, and the raw path it received must be the endpoint's own, with the id as exactly one
segment that decodes back to the id; or the call is refused (-32602) and nothing is sent."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from tests.fuzz.clients import LineClient
from tests.fuzz.rig import Rig, request, running_daemon

BENIGN = "424242"
HOSTILE: list[Any] = [
    "../../admin",
    "../../../api/v1/admin/accounts",
    "%2e%2e",
    "%2e%2e%2fadmin",
    "..%2F",
    "..%2F..%2Fadmin",
    "%252e%252e",
    "a/b",
    "/",
    "//evil.example/x",
    "?x",
    "?x=1&y=2",
    "#f",
    "a?b=c#d",
    "\u2215admin",
    "\uff0fadmin",
    "\u2044",
    "..\\admin",
    "..;/admin",
    "%00",
    "a\x00b",
    "a\r\nX-Injected: 1",
    " ",
    "..",
    ".",
    "",
    "...",
    1,
    -1,
    10**30,
]


@dataclass
class Target:
    method: str
    param: str
    params: dict[str, Any]  # the other params it needs
    templates: list[str]  # the benign call's paths with the id as {} (a fallback adds one)
    query: list[tuple[str, str]]  # the benign call's query: a hostile id must not add to it


def filler(schema: dict[str, Any]) -> Any:
    if "enum" in schema:
        return schema["enum"][0]
    if "anyOf" in schema:
        return filler(schema["anyOf"][0])
    kind = schema.get("type")
    kind = kind[0] if isinstance(kind, list) else kind
    return {"string": "x", "integer": 1, "boolean": False, "array": ["1"], "object": {}}.get(
        str(kind)
    )


async def call(rig: Rig, method: str, params: dict[str, Any]) -> dict[str, Any]:
    client = await LineClient.connect(rig.socket_path)
    try:
        await client.send(request(method, params) + b"\n")
        answer: dict[str, Any] = await client.recv(method)
    finally:
        client.close()
    return answer


@dataclass
class Setup:
    rig: Rig
    targets: list[Target]


@pytest.fixture
async def setup(tmp_path: Path) -> AsyncIterator[Setup]:
    async with running_daemon(tmp_path) as rig:
        rig.sandbox.record_limit = None
        document = (await call(rig, "rpc.discover", {}))["result"]
        targets: list[Target] = []
        for method in document["methods"]:
            ids = [p for p in method["params"] if p["name"].endswith("_id")]
            others = {
                p["name"]: filler(p["schema"])
                for p in method["params"]
                if p["required"] and not p["name"].endswith("_id")
            }
            for id_param in ids:
                params = {
                    **others,
                    **{p["name"]: "1" for p in ids if p["required"]},
                    id_param["name"]: BENIGN,
                }
                before = len(rig.sandbox.recorded)
                await call(rig, method["name"], params)
                hits = [r for r in rig.sandbox.recorded[before:] if BENIGN in r.path]
                if hits:
                    # one request, or two where an older server's endpoint is the fallback
                    # (pin_account: /endorse, then /pin on a 404)
                    assert len(hits) <= 2, [r.path for r in hits]
                    templates = [r.path.replace(BENIGN, "{}") for r in hits]
                    targets.append(
                        Target(method["name"], id_param["name"], params, templates, hits[0].query)
                    )
        yield Setup(rig, targets)


async def test_hostile_ids_stay_one_segment_of_their_endpoint(setup: Setup) -> None:
    rig = setup.rig
    # the endpoints with an id in the path: statuses, accounts, lists, filters, media, ...
    assert len(setup.targets) >= 25, [t.method for t in setup.targets]
    problems: list[str] = []
    for target in setup.targets:
        for hostile in HOSTILE:
            before = len(rig.sandbox.recorded)
            answer = await call(rig, target.method, {**target.params, target.param: hostile})
            sent = rig.sandbox.recorded[before:]
            where = f"{target.method}({target.param}={hostile!r})"
            if not sent:
                error = answer.get("error", {})
                if error.get("code") != -32602:
                    problems.append(f"{where}: nothing sent, but answered {json.dumps(answer)}")
                continue
            for recorded in sent:
                path = recorded.path
                fits = [
                    (prefix, suffix)
                    for prefix, _, suffix in (t.partition("{}") for t in target.templates)
                    if path.startswith(prefix) and path.endswith(suffix)
                ]
                prefix, suffix = fits[0] if fits else ("", "")
                segment = path[len(prefix) : len(path) - len(suffix)]
                if not fits:
                    problems.append(f"{where}: sent to {path!r}, not under {target.templates!r}")
                elif "/" in segment or unquote(segment) != str(hostile):
                    problems.append(f"{where}: id segment {segment!r} in {path!r}")
                if recorded.query != target.query:
                    problems.append(f"{where}: query {recorded.query} != {target.query}")
    assert problems == []
