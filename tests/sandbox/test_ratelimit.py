"""Rate limits: headers on every /api answer, per-token windows aligned to the period, 429."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aiohttp
import pytest

from mastod.sandbox import OTHER_TOKEN, OWNER_TOKEN, Sandbox, start_sandbox
from tests.sandbox.conftest import auth
from tests.sandbox.openapi_check import check_recorded

NOW = [1_700_000_123.25]


@pytest.fixture
async def limited() -> AsyncIterator[aiohttp.ClientSession]:
    sandbox = Sandbox(clock=lambda: NOW[0])
    sandbox.record_responses = True
    server = await start_sandbox(sandbox=sandbox, rate_limit=3, rate_limit_period=300.0)
    try:
        async with aiohttp.ClientSession(base_url=server.url) as session:
            yield session
    finally:
        await server.close()
    assert check_recorded(sandbox.recorded) == []


async def test_headers_count_down_and_reset_is_aligned(limited: aiohttp.ClientSession) -> None:
    NOW[0] = 1_700_000_123.25
    remaining = []
    for _ in range(3):
        async with limited.get("/api/v1/timelines/home", headers=auth(OWNER_TOKEN)) as resp:
            assert resp.status == 200
            remaining.append(resp.headers["X-RateLimit-Remaining"])
            assert resp.headers["X-RateLimit-Limit"] == "3"
            reset = resp.headers["X-RateLimit-Reset"]
    assert remaining == ["2", "1", "0"]
    assert reset == "2023-11-14T22:20:00.000000Z"
    assert datetime.fromisoformat(reset).timestamp() % 300 == 0


async def test_over_the_limit_is_429_until_the_window_ends(limited: aiohttp.ClientSession) -> None:
    NOW[0] = 1_700_001_000.0
    for _ in range(3):
        async with limited.get("/api/v1/notifications", headers=auth(OWNER_TOKEN)) as resp:
            assert resp.status == 200
    async with limited.get("/api/v1/notifications", headers=auth(OWNER_TOKEN)) as resp:
        assert resp.status == 429
        assert await resp.json() == {"error": "Too many requests"}
        assert resp.headers["X-RateLimit-Remaining"] == "0"
        reset = datetime.fromisoformat(resp.headers["X-RateLimit-Reset"])
    assert reset == datetime.fromtimestamp(1_700_001_300, UTC)
    # Another token has its own budget.
    async with limited.get("/api/v1/notifications", headers=auth(OTHER_TOKEN)) as resp:
        assert resp.status == 200
    NOW[0] = 1_700_001_300.0
    async with limited.get("/api/v1/notifications", headers=auth(OWNER_TOKEN)) as resp:
        assert resp.status == 200
        assert resp.headers["X-RateLimit-Remaining"] == "2"


async def test_errors_carry_headers_and_non_api_paths_do_not(
    limited: aiohttp.ClientSession,
) -> None:
    async with limited.get("/api/v1/statuses/0") as resp:
        assert resp.status == 404
        assert "X-RateLimit-Remaining" in resp.headers
    async with limited.post("/oauth/token", json={"grant_type": "password"}) as resp:
        assert "X-RateLimit-Remaining" not in resp.headers
