"""Fault injection, programmatic and over `/_sandbox/faults`."""

from __future__ import annotations

import asyncio
import re
import time

import aiohttp
import pytest

from mastod.sandbox import RunningSandbox, Sandbox


async def test_latency_delays_then_answers(client: aiohttp.ClientSession, sandbox: Sandbox) -> None:
    fault = sandbox.faults.add("/api/v1/timelines/home", "latency", seconds=0.2)
    started = time.monotonic()
    async with client.get("/api/v1/timelines/home") as resp:
        assert resp.status == 200
    assert time.monotonic() - started >= 0.2
    assert fault.hits == 1
    assert fault.count == 0


async def test_status_fault_counts_down_with_html_body(
    client: aiohttp.ClientSession, sandbox: Sandbox
) -> None:
    sandbox.faults.add(
        "/api/v1/notifications", "status", status=502, count=2,
        body="<html><body>Bad gateway</body></html>", content_type="text/html",
    )  # fmt: skip
    seen = []
    for _ in range(3):
        async with client.get("/api/v1/notifications") as resp:
            seen.append((resp.status, resp.content_type))
    assert seen == [(502, "text/html"), (502, "text/html"), (200, "application/json")]
    assert [r.fault for r in sandbox.recorded] == ["status", "status", None]


async def test_status_fault_default_json_and_method_and_regex_filters(
    client: aiohttp.ClientSession, sandbox: Sandbox
) -> None:
    sandbox.faults.add(re.compile(r"/statuses/\d+/favourite$"), "status", method="POST", count=None)
    async with client.get("/api/v1/statuses/113000000000000004") as resp:
        assert resp.status == 200
    for _ in range(2):
        async with client.post("/api/v1/statuses/113000000000000004/favourite") as resp:
            assert resp.status == 503
            assert "error" in await resp.json()


async def test_drop_closes_without_an_answer(
    client: aiohttp.ClientSession, sandbox: Sandbox
) -> None:
    fault = sandbox.faults.add("/api/v1/instance", "drop", count=3)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        async with client.get("/api/v1/instance") as resp:
            await resp.read()
    dropped = [r for r in sandbox.recorded if r.fault == "drop"]
    assert dropped
    assert all(r.response is None for r in dropped)
    assert fault.hits == len(dropped)  # aiohttp's client may retry a GET once by itself
    fault.count = 0
    async with client.get("/api/v1/instance") as resp:
        assert resp.status == 200


async def test_drop_after_handling_loses_only_the_answer(
    client: aiohttp.ClientSession, sandbox: Sandbox
) -> None:
    sandbox.faults.add("/api/v1/statuses", "drop", method="POST", after=True)
    before = len(sandbox.statuses)
    headers = {"Idempotency-Key": "retry-me"}
    with pytest.raises(aiohttp.ServerDisconnectedError):
        async with client.post("/api/v1/statuses", json={"status": "lost answer"}, headers=headers):
            pass
    assert len(sandbox.statuses) == before + 1
    async with client.post(
        "/api/v1/statuses", json={"status": "lost answer"}, headers=headers
    ) as resp:
        assert resp.status == 200
    assert len(sandbox.statuses) == before + 1


async def test_truncate_cuts_the_body(client: aiohttp.ClientSession, sandbox: Sandbox) -> None:
    sandbox.faults.add("/api/v1/accounts/1", "truncate", keep_bytes=10)
    with pytest.raises(aiohttp.ClientPayloadError):
        async with client.get("/api/v1/accounts/1") as resp:
            await resp.read()
    sandbox.faults.add("/api/v1/accounts/1", "truncate", cut_connection=False)
    async with client.get("/api/v1/accounts/1") as resp:
        assert resp.status == 200
        with pytest.raises(ValueError, match=r"Expecting|Unterminated"):
            await resp.json()


async def test_rate_limit_fault(client: aiohttp.ClientSession, sandbox: Sandbox) -> None:
    sandbox.faults.add("/api/v1/timelines", "rate_limit", reset_in=30)
    async with client.get("/api/v1/timelines/home") as resp:
        assert resp.status == 429
        assert await resp.json() == {"error": "Too many requests"}
        assert resp.headers["X-RateLimit-Remaining"] == "0"
        assert resp.headers["X-RateLimit-Reset"].endswith("Z")


async def test_close_connections_mode(client: aiohttp.ClientSession, sandbox: Sandbox) -> None:
    sandbox.faults.close_connections = True
    for _ in range(2):
        async with client.get("/api/v1/instance") as resp:
            assert resp.status == 200
            assert resp.headers["Connection"] == "close"


async def test_faults_over_http(
    client: aiohttp.ClientSession, sandbox: Sandbox, running: RunningSandbox
) -> None:
    spec = {"path": "/api/v1/lists", "kind": "status", "status": 500, "count": 1, "method": "GET"}
    async with client.post("/_sandbox/faults", json=spec) as resp:
        added = await resp.json()
    assert added["kind"] == "status"
    assert added["count"] == 1
    async with client.post("/_sandbox/faults", json={"path": "x", "kind": "explode"}) as resp:
        assert resp.status == 422
    async with client.post("/_sandbox/faults", json={"close_connections": True}) as resp:
        assert await resp.json() == {"close_connections": True}
    async with client.get("/_sandbox/faults") as resp:
        listed = await resp.json()
    assert listed["close_connections"] is True
    assert len(listed["faults"]) == 1
    async with client.get("/api/v1/lists") as resp:
        assert resp.status == 500
    async with client.delete("/_sandbox/faults") as resp:
        assert resp.status == 200
    assert sandbox.faults.active == []
    assert sandbox.faults.close_connections is False


async def test_latency_does_not_block_other_requests(
    client: aiohttp.ClientSession, sandbox: Sandbox
) -> None:
    sandbox.faults.add("/api/v1/timelines/home", "latency", seconds=0.3)

    async def slow() -> int:
        async with client.get("/api/v1/timelines/home") as resp:
            return resp.status

    task = asyncio.create_task(slow())
    await asyncio.sleep(0.05)
    started = time.monotonic()
    async with client.get("/api/v1/instance") as resp:
        assert resp.status == 200
    assert time.monotonic() - started < 0.2
    assert await task == 200
