"""Fixtures: a sandbox on a real loopback port whose traffic must conform to the OpenAPI schema."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from mastod.sandbox import OWNER_TOKEN, RunningSandbox, Sandbox, start_sandbox
from tests.sandbox.openapi_check import check_recorded


def auth(token: str = OWNER_TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def sandbox() -> Sandbox:
    sb = Sandbox()
    sb.record_responses = True
    return sb


@pytest.fixture
async def running(sandbox: Sandbox) -> AsyncIterator[RunningSandbox]:
    """The sandbox served on 127.0.0.1; on teardown every exchange is checked against the schema."""
    server = await start_sandbox(sandbox=sandbox)
    try:
        yield server
    finally:
        await server.close()
    violations = check_recorded(sandbox.recorded)
    assert not violations, "schema violations:\n" + "\n".join(map(str, violations))


@pytest.fixture
async def client(running: RunningSandbox) -> AsyncIterator[aiohttp.ClientSession]:
    """A session bound to the sandbox's base URL, authenticated as alice by default."""
    async with aiohttp.ClientSession(base_url=running.url, headers=auth()) as session:
        yield session


@pytest.fixture
async def anon(running: RunningSandbox) -> AsyncIterator[aiohttp.ClientSession]:
    """A session bound to the sandbox with no token."""
    async with aiohttp.ClientSession(base_url=running.url) as session:
        yield session
