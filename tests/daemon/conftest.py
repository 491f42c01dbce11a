"""The real daemon as a subprocess (`python -m mastod serve`) on loopback, against a small
aiohttp upstream that answers like Mastodon, with systemd's notify socket emulated."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web

from tests.servers import serve

ACCESS_TOKEN = "upstream-access-token-5f1c2b"
STATUS = {
    "id": "109",
    "content": "<p>hello</p>",
    "visibility": "public",
    "media_attachments": [{"id": "1", "type": "image"}],
    "tags": [{"name": "demo", "url": "https://u.example/tags/demo"}],
    "account": {"id": "1", "username": "alice", "acct": "alice"},
}


@dataclass
class Upstream:
    url: str
    seen: list[tuple[str, str, str | None]] = field(default_factory=list)
    delay: float = 0.0


@pytest.fixture
async def upstream() -> AsyncIterator[Upstream]:
    state = Upstream(url="")

    async def status(request: web.Request) -> web.Response:
        state.seen.append(("GET", request.raw_path, request.headers.get("Authorization")))
        await asyncio.sleep(state.delay)
        if request.match_info["id"] != "109":
            return web.json_response({"error": "Record not found"}, status=404)
        return web.json_response(STATUS)

    async def me(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {ACCESS_TOKEN}":
            return web.json_response({"error": "The access token is invalid"}, status=401)
        return web.json_response(
            {"id": "1", "username": "alice", "acct": "alice", "url": "https://u.example/@alice"}
        )

    app = web.Application()
    app.router.add_get("/api/v1/statuses/{id}", status)
    app.router.add_get("/api/v1/accounts/verify_credentials", me)
    runner, state.url, _ = await serve(app)
    yield state
    await runner.cleanup()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Daemon:
    proc: asyncio.subprocess.Process
    socket_path: Path
    http_url: str
    token_file: Path
    notify: socket.socket
    config_path: Path
    stderr_lines: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        """Collect its log as it comes, and see that it does not outlive the test."""
        self._pump = asyncio.create_task(self._read_log())
        _STARTED.append(self)

    async def _read_log(self) -> None:
        assert self.proc.stderr is not None
        async for line in self.proc.stderr:
            self.stderr_lines.append(line.decode())

    @property
    def rpc_token(self) -> str:
        return self.token_file.read_text().strip()

    async def notifications(self, until: str, timeout: float = 10.0) -> list[str]:
        """sd_notify datagrams received until one contains `until`."""
        loop = asyncio.get_running_loop()
        got: list[str] = []
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            try:
                data = await asyncio.wait_for(loop.sock_recv(self.notify, 4096), 0.2)
            except TimeoutError:
                continue
            got.append(data.decode())
            if until in got[-1]:
                return got
        raise AssertionError(f"no {until} from the daemon within {timeout}s: {got}")

    async def call(self, method: str, params: Any = None) -> Any:
        # an answer can be one long line (rpc.discover is over asyncio's default 64 KiB)
        reader, writer = await asyncio.open_unix_connection(str(self.socket_path), limit=1 << 22)
        frame: dict[str, Any] = {"jsonrpc": "2.0", "id": 1, "method": method}
        if params is not None:
            frame["params"] = params
        writer.write(json.dumps(frame).encode() + b"\n")
        answer = json.loads(await asyncio.wait_for(reader.readline(), 10))
        writer.close()
        return answer

    async def status_when(
        self, condition: Callable[[dict[str, Any]], bool], timeout: float = 20.0
    ) -> dict[str, Any]:
        """The daemon's `status` once `condition` holds for it (polled)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            status: dict[str, Any] = (await self.call("status"))["result"]
            if condition(status):
                return status
            if loop.time() > deadline:
                raise AssertionError(f"status never got there within {timeout}s: {status}")
            await asyncio.sleep(0.05)

    async def close(self) -> None:
        """Kill it if it still runs, read the rest of its log, close the notify socket."""
        if self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()
        await self._pump
        self.notify.close()

    async def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc.returncode is None:
            self.proc.send_signal(sig)
        return await asyncio.wait_for(self.proc.wait(), 20)


def write_config(tmp_path: Path, base_url: str, **extra: Any) -> Path:
    token_file = tmp_path / "access-token"
    token_file.write_text(ACCESS_TOKEN + "\n")
    token_file.chmod(0o600)
    doc: dict[str, Any] = {
        "mastodon": {"base_url": base_url, "access_token_file": str(token_file)},
        "rpc": {
            "unix_socket": str(tmp_path / "run" / "mastod.sock"),
            "http": {"host": "127.0.0.1", "port": free_port()},
            "token_file": str(tmp_path / "state" / "rpc.token"),
        },
        "notifications": {"source": "none"},
        "state_dir": str(tmp_path / "state"),
        "log": {"level": "debug", "format": "json"},
    }
    for key, value in extra.items():
        doc[key] = {**doc.get(key, {}), **value}
    path = tmp_path / "mastod.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


async def start_daemon(
    tmp_path: Path,
    config_path: Path,
    env: dict[str, str] | None = None,
    extra_args: tuple[str, ...] = (),
) -> Daemon:
    doc = yaml.safe_load(config_path.read_text())
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify_path = tmp_path / "notify.sock"
    notify.bind(str(notify_path))
    notify.setblocking(False)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "mastod",
        "serve",
        "--config",
        str(config_path),
        *extra_args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "NOTIFY_SOCKET": str(notify_path), **(env or {})},
    )
    http = doc["rpc"]["http"]
    return Daemon(
        proc=proc,
        socket_path=Path(doc["rpc"]["unix_socket"]),
        http_url=f"http://{http['host']}:{http['port']}",
        token_file=Path(doc["rpc"]["token_file"]),
        notify=notify,
        config_path=config_path,
    )


_STARTED: list[Daemon] = []  # every daemon a test started: none outlives its test


@pytest.fixture(autouse=True)
async def _no_daemon_left_running() -> AsyncIterator[None]:
    """Kill what a test started and did not stop, also when it failed half-way."""
    yield
    while _STARTED:
        running = _STARTED.pop()
        if running.proc.returncode is None:
            await running.close()


@pytest.fixture
async def daemon(tmp_path: Path, upstream: Upstream) -> AsyncIterator[Daemon]:
    config = write_config(tmp_path, upstream.url)
    running = await start_daemon(tmp_path, config)
    await running.notifications(until="READY=1")
    yield running
    await running.close()
