"""The real daemon app in-process (`mastod.app.build`, served by an aiohttp `AppRunner` on
127.0.0.1 and its Unix socket), with the sandbox as its Mastodon, for fuzz and security tests.

Unlike `tests/integration`, the sandbox here does not rate-limit (a fuzz run makes tens of
thousands of calls) and the daemon neither waits on 429 nor retries: every answer comes at
once, so a slow answer can only mean a hang.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from mastod.app import Daemon, build
from mastod.config import Config, load_config
from mastod.sandbox import OWNER_TOKEN, RunningSandbox, Sandbox, start_sandbox
from tests.servers import serve

RPC_TOKEN = "fuzz-rpc-token-7Hq2LmX9pVb3KcZ1"
HTTP_CONFIG_PORT = 8765  # only names the configured host; the site binds port 0
_SUN_PATH_MAX = 100  # sockaddr_un.sun_path is 108 bytes on Linux


@dataclass
class Rig:
    daemon: Daemon
    config: Config
    upstream: RunningSandbox
    socket_path: Path
    port: int
    token: str

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def sandbox(self) -> Sandbox:
        return self.upstream.sandbox


def short_dir(tmp_path: Path) -> Path:
    """`tmp_path`, or a shorter private directory when a socket path there would not fit."""
    if len(str(tmp_path / "run" / "mastod.sock")) <= _SUN_PATH_MAX:
        return tmp_path
    return Path(tempfile.mkdtemp(prefix="mfz-"))


@asynccontextmanager
async def running_daemon(
    tmp_path: Path,
    *,
    token: str | None = RPC_TOKEN,
    rpc: dict[str, Any] | None = None,
    mastodon: dict[str, Any] | None = None,
    notifications: dict[str, Any] | None = None,
    webhook: dict[str, Any] | None = None,
    media: dict[str, Any] | None = None,
) -> AsyncIterator[Rig]:
    """Sandbox up, daemon built and listening (Unix socket + HTTP/WS); both torn down after.
    Notifications are off unless `notifications` (and `webhook`) say otherwise."""
    base = short_dir(tmp_path)
    sandbox = Sandbox()
    sandbox.record_limit = 5_000
    upstream = await start_sandbox(sandbox=sandbox, rate_limit=10**9)
    runner: web.AppRunner | None = None
    try:
        config = load_config(
            None,
            env={},
            overrides={
                "mastodon": {
                    "base_url": upstream.url,
                    "access_token": OWNER_TOKEN,
                    "max_retries": 0,
                    "rate_limit_max_wait": 0,
                    "media_poll_interval": 0.05,
                    "media_poll_timeout": 2.0,
                    **(mastodon or {}),
                },
                "rpc": {
                    "unix_socket": str(base / "run" / "mastod.sock"),
                    "http": {"host": "127.0.0.1", "port": HTTP_CONFIG_PORT},
                    "token_file": str(base / "state" / "rpc.token"),
                    **(rpc or {}),
                },
                "notifications": notifications or {"source": "none"},
                "webhook": webhook or {},
                "media": media or {},
                "state_dir": str(base / "state"),
            },
        )
        daemon = build(config, rpc_token=token)
        runner, _, port = await serve(daemon.app, handle_signals=False, shutdown_timeout=5.0)
        daemon.state.ready = True
        await asyncio.wait_for(daemon.state.account.checked.wait(), 30)
        assert daemon.unix is not None
        yield Rig(daemon, config, upstream, daemon.unix.path, port, token or "")
    finally:
        if runner is not None:
            await runner.cleanup()
        await upstream.close()


def discover_methods(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The `methods` of an `rpc.discover` answer, checked to be what the fuzzers expect."""
    methods = document["methods"]
    assert isinstance(methods, list)
    assert methods
    for method in methods:
        assert isinstance(method["name"], str)
        assert isinstance(method["params"], list)
    return methods


def request(method: str, params: Any = None, id_: Any = 1) -> bytes:
    frame: dict[str, Any] = {"jsonrpc": "2.0", "id": id_, "method": method}
    if params is not None:
        frame["params"] = params
    return json.dumps(frame).encode()
