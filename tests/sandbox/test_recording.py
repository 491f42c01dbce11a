"""What the sandbox records, and the application object itself."""

from __future__ import annotations

import aiohttp
from yarl import URL

from mastod.sandbox import SANDBOX_KEY, Sandbox, create_app


def test_create_app_holds_the_given_sandbox() -> None:
    sandbox = Sandbox(seed=False)
    assert create_app(sandbox)[SANDBOX_KEY] is sandbox
    assert create_app()[SANDBOX_KEY].accounts  # a new, seeded one by default


async def test_requests_are_recorded_as_sent(
    client: aiohttp.ClientSession, sandbox: Sandbox
) -> None:
    url = URL("/api/v1/statuses/%2E%2E?x=1&x=2&y=%20", encoded=True)
    await client.get(url, headers={"X-Probe": "yes"})
    await client.post("/api/v1/lists", data=[("title", "T"), ("account_ids[]", "1")])
    await client.post("/api/v1/filters", json={"phrase": "p", "context": ["home"]})
    get, form, body = sandbox.recorded[-3:]
    assert (get.method, get.path, get.query) == (
        "GET",
        "/api/v1/statuses/%2E%2E",
        [("x", "1"), ("x", "2"), ("y", " ")],
    )
    assert get.headers["X-Probe"] == "yes"
    assert get.response is not None
    assert get.response.status == 404
    assert get.response.json() == {"error": "Record not found"}
    assert form.body == [("title", "T"), ("account_ids[]", "1")]
    assert body.body == {"phrase": "p", "context": ["home"]}
    assert body.content_type == "application/json"


async def test_response_recording_is_switchable(
    client: aiohttp.ClientSession, sandbox: Sandbox
) -> None:
    sandbox.record_responses = False
    await client.get("/api/v1/instance")
    assert sandbox.recorded[-1].response is None
    sandbox.recording = False
    before = len(sandbox.recorded)
    await client.get("/api/v1/instance")
    assert len(sandbox.recorded) == before


async def test_record_limit_keeps_the_newest(
    client: aiohttp.ClientSession, sandbox: Sandbox
) -> None:
    sandbox.record_limit = 10
    for n in range(12):
        await client.get(f"/api/v1/accounts/{n}")
    assert len(sandbox.recorded) <= 11
    assert sandbox.recorded[-1].path == "/api/v1/accounts/11"
