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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test here runs for many seconds (loads, crash loops, fault storms): all `slow`,
    which `./test -m "not slow"` skips. The hook sees the whole session's items."""
    here = Path(__file__).resolve().parent
    for item in items:
        if here in item.path.resolve().parents:
            item.add_marker(pytest.mark.slow)
