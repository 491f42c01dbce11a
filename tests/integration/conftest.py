"""The daemon's real aiohttp app and Unix socket, in-process, against the sandbox instance.

Every exchange the sandbox sees is checked against Mastodon's OpenAPI schema at teardown.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from mastod.app import Daemon, build
from mastod.config import load_config
from mastod.sandbox import OWNER_TOKEN, RunningSandbox, Sandbox, start_sandbox
from mastod.sandbox.recorded import RecordedRequest
from tests.sandbox.openapi_check import check_recorded


def make_sandbox() -> Sandbox:
    sandbox = Sandbox()
    sandbox.record_responses = True
    sandbox.record_limit = None
    return sandbox


@pytest.fixture
async def upstream() -> AsyncIterator[RunningSandbox]:
    sandbox = make_sandbox()
    server = await start_sandbox(sandbox=sandbox)
    try:
        yield server
    finally:
        await server.close()
    violations = check_recorded(
        [r for r in sandbox.recorded if r.fault is None and not r.path.startswith("/_sandbox")]
    )
    assert not violations, "schema violations:\n" + "\n".join(map(str, violations))


@dataclass
class Rpc:
    """A JSON-RPC client on the daemon's Unix socket."""

    path: Path
    daemon: Daemon
    next_id: int = 0

    async def call(self, method: str, params: Any = None) -> Any:
        answer = await self.raw(method, params)
        if "error" in answer:
            raise RpcFailed(answer["error"])
        return answer["result"]

    async def raw(self, method: str, params: Any = None) -> dict[str, Any]:
        self.next_id += 1
        frame: dict[str, Any] = {"jsonrpc": "2.0", "id": self.next_id, "method": method}
        if params is not None:
            frame["params"] = params
        reader, writer = await asyncio.open_unix_connection(str(self.path), limit=1 << 24)
        try:
            writer.write(json.dumps(frame).encode() + b"\n")
            await writer.drain()
            line = await asyncio.wait_for(reader.readline(), 30)
        finally:
            writer.close()
        answer: dict[str, Any] = json.loads(line)
        assert answer["id"] == self.next_id
        return answer


class RpcFailed(Exception):
    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error["message"])
        self.error = error
        self.code: int = error["code"]
        self.data: dict[str, Any] = error.get("data") or {}


async def start_daemon(
    tmp_path: Path, base_url: str, sections: dict[str, Any] | None = None, **mastodon: Any
) -> tuple[Rpc, web.AppRunner]:
    """The daemon's app, set up (listening on its Unix socket); `sections` override config."""
    overrides: dict[str, Any] = {
        "mastodon": {"base_url": base_url, "access_token": OWNER_TOKEN, **mastodon},
        "rpc": {
            "unix_socket": str(tmp_path / "mastod.sock"),
            "http": None,
            "token_file": str(tmp_path / "rpc.token"),
        },
        "notifications": {"source": "none"},
        "state_dir": str(tmp_path / "state"),
    }
    for key, value in (sections or {}).items():
        overrides[key] = {**overrides.get(key, {}), **value}
    config = load_config(None, env={}, overrides=overrides)
    daemon = build(config, rpc_token=None)
    runner = web.AppRunner(daemon.app)
    await runner.setup()
    # the account is verified in the background: let it finish, so no test counts its request
    await asyncio.wait_for(daemon.state.account.checked.wait(), 30)
    assert daemon.unix is not None
    # The account is verified in the background: let that request be made before a test
    # counts what reached the instance.
    account = daemon.state.account
    async with asyncio.timeout(30):
        while account.state in ("not started", "checking"):
            await asyncio.sleep(0.01)
    return Rpc(daemon.unix.path, daemon), runner


@pytest.fixture
async def rpc(tmp_path: Path, upstream: RunningSandbox) -> AsyncIterator[Rpc]:
    client, runner = await start_daemon(
        tmp_path,
        upstream.url,
        {"media": {"upload_dirs": [str(tmp_path)]}},  # the tests' files may be named by path
        max_retries=2,
        rate_limit_max_wait=2.0,
        media_poll_interval=0.05,
        media_poll_timeout=5.0,
    )
    yield client
    await runner.cleanup()


def sent(upstream: RunningSandbox, since: int) -> list[RecordedRequest]:
    """Requests the sandbox received after the first `since` ones (sandbox-only paths aside)."""
    return [r for r in upstream.sandbox.recorded[since:] if not r.path.startswith("/_sandbox")]
