"""Platypush's `POST /execute` on the daemon's real HTTP app against the sandbox, with requests
replayed as Platypush's clients send them: its browser extension (axios: JSON body,
`X-Token`) and its documented curl call (`Authorization: Bearer`)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from mastod.app import build
from mastod.config import load_config
from mastod.sandbox import OWNER_TOKEN, RunningSandbox
from tests.integration.conftest import upstream  # noqa: F401 - the sandbox fixture
from tests.servers import serve

TOKEN = "execute-token-7c1d9e"
# what axios (Platypush's web extension posts with it) adds to a JSON POST (0.x versions)
AXIOS = {
    "Accept": "application/json, text/plain, */*",
    "Content-Type": "application/json;charset=utf-8",
}


@pytest.fixture
async def daemon_url(tmp_path: Path, upstream: RunningSandbox) -> AsyncIterator[str]:  # noqa: F811
    config = load_config(
        None,
        env={},
        overrides={
            "mastodon": {"base_url": upstream.url, "access_token": OWNER_TOKEN},
            "rpc": {"unix_socket": None, "token_file": str(tmp_path / "rpc.token")},
            "notifications": {"source": "none"},
            "state_dir": str(tmp_path / "state"),
        },
    )
    daemon = build(config, rpc_token=TOKEN)
    served = await serve(daemon.app)
    yield served.url
    await served.runner.cleanup()


async def execute(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{url}/execute", data=body, headers=headers) as response,
    ):
        return response.status, json.loads(await response.read())


def axios_body(action: str, args: dict[str, Any]) -> bytes:
    # JSON.stringify: compact, keys in the order the extension builds them
    body = {"type": "request", "action": action, "args": args}
    return json.dumps(body, separators=(",", ":")).encode()


async def test_a_request_as_the_web_extension_sends_it(daemon_url: str) -> None:
    status, answer = await execute(
        daemon_url,
        axios_body("mastodon.publish_status", {"status": "from Platypush"}),
        {**AXIOS, "X-Token": TOKEN},
    )
    assert status == 200
    assert set(answer) == {"id", "type", "target", "origin", "_timestamp", "response"}
    assert answer["type"] == "response"
    assert isinstance(answer["_timestamp"], float)
    assert answer["response"]["errors"] == []
    output = answer["response"]["output"]
    assert "from Platypush" in output["content"]
    status, again = await execute(
        daemon_url,
        axios_body("mastodon.get_status", {"status_id": output["id"]}),
        {**AXIOS, "X-Token": TOKEN},
    )
    assert again["response"]["output"]["id"] == output["id"]


async def test_a_request_as_the_docs_curl_sends_it(daemon_url: str) -> None:
    body = {
        "type": "request",
        "action": "mastodon.dismiss_notifications",
        "args": {},
        "id": "req-42",
        "origin": "my-laptop",
    }
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"}
    status, answer = await execute(daemon_url, json.dumps(body).encode(), headers)
    assert status == 200
    assert answer["id"] == "req-42"
    assert answer["target"] == "my-laptop"
    # an empty result is Platypush's {"success": true}
    assert answer["response"] == {"output": {"success": True}, "errors": []}


async def test_failures_are_one_line_in_errors(daemon_url: str) -> None:
    headers = {**AXIOS, "X-Token": TOKEN}
    _, missing = await execute(
        daemon_url, axios_body("mastodon.get_status", {"status_id": "999999"}), headers
    )
    assert missing["response"]["output"] is None
    [line] = missing["response"]["errors"]
    assert line.startswith("Not found on Mastodon")
    assert "\n" not in line
    _, bad = await execute(daemon_url, axios_body("mastodon.get_status", {"nope": 1}), headers)
    assert bad["response"]["errors"][0].startswith("Invalid params")
    for action in ("mastodon.status", "mastodon.subscribe", "mastodon.rpc.discover"):
        _, answer = await execute(daemon_url, axios_body(action, {}), headers)
        [line] = answer["response"]["errors"]  # (perhaps with a "did you mean")
        assert line.startswith(f"Method not found: {action}")
        assert "\n" not in line
    status, shell = await execute(daemon_url, axios_body("shell.exec", {"cmd": "id"}), headers)
    assert status == 400
    assert shell["response"]["errors"] == ['Invalid request: "action" must be a mastodon.* action']
    for garbage in (b"{oops", b'{"type":"request","action":"mastodon.get_status","args":NaN}'):
        status, answer = await execute(daemon_url, garbage, headers)
        assert status == 400
        assert answer["response"]["errors"] == ["Invalid request: the body is not JSON"]
    huge = b'{"type":"request","action":"mastodon.get_status","args":{"status_id":1e400}}'
    assert (await execute(daemon_url, huge, headers))[0] == 400


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-Token": "wrong"}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}],
    ids=["none", "wrong-x-token", "wrong-bearer", "not-bearer"],
)
async def test_a_bad_token_gets_platypush_401_and_runs_nothing(
    daemon_url: str,
    upstream: RunningSandbox,  # noqa: F811
    headers: dict[str, str],
) -> None:
    before = len(upstream.sandbox.recorded)
    status, answer = await execute(
        daemon_url, axios_body("mastodon.publish_status", {"status": "no"}), {**AXIOS, **headers}
    )
    assert status == 401
    assert answer == {"code": 401, "error": "INVALID_CREDENTIALS", "message": "Invalid credentials"}
    assert [r for r in upstream.sandbox.recorded[before:] if r.method == "POST"] == []


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("https://evil.example", False),
        ("null", False),
        ("http://127.0.0.1:8765", True),
        ("moz-extension://5f0c1a2b-platypush", True),
    ],
)
async def test_web_pages_are_refused(daemon_url: str, origin: str, allowed: bool) -> None:
    status, answer = await execute(
        daemon_url,
        axios_body("mastodon.dismiss_notifications", {}),
        {**AXIOS, "X-Token": TOKEN, "Origin": origin},
    )
    assert status == (200 if allowed else 403)
    if not allowed:
        assert answer["code"] == 403
