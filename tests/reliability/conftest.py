"""Fixtures of the reliability tests: an upstream sandbox without rate limiting and a short
private work directory (Unix socket paths must fit in 108 bytes)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from mastod.sandbox import RunningSandbox
from tests.reliability.harness import scratch_dir, start_upstream


@pytest.fixture
def workdir() -> Iterator[Path]:
    with scratch_dir() as path:
        yield path


@pytest.fixture
async def upstream() -> AsyncIterator[RunningSandbox]:
    server = await start_upstream()
    try:
        yield server
    finally:
        await server.close()
