"""The real daemon as a subprocess (`python -m mastod serve --config ...`) on loopback, with
systemd's notify socket emulated (READY=1 says it listens), its stderr (the JSON log) kept,
and the sandbox in the test process as its Mastodon, with a fresh random access token."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import socket
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mastod.sandbox import OWNER_TOKEN, RunningSandbox, Sandbox, start_sandbox
from tests.fuzz.rig import short_dir

BOUND = 20.0  # seconds: start-up, shutdown and each answer (a hang detector)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def sandbox_with_token() -> AsyncIterator[tuple[RunningSandbox, str]]:
    """The sandbox, and a fresh random token of alice's (all scopes) that no code knows."""
    sandbox = Sandbox()
    owner = sandbox.tokens[OWNER_TOKEN]
    token = "tok-" + secrets.token_urlsafe(24)
    sandbox.add_token(token, owner.account_id, " ".join(sorted(owner.scopes)), owner.app_id)
    running = await start_sandbox(sandbox=sandbox, rate_limit=10**9)
    try:
        yield running, token
    finally:
        await running.close()


@dataclass
class Layout:
    """Where one daemon keeps everything, and its config document."""

    base: Path
    config: dict[str, Any]

    @property
    def config_path(self) -> Path:
        return self.base / "mastod.yaml"

    @property
    def socket_path(self) -> Path:
        return Path(self.config["rpc"]["unix_socket"])

    @property
    def state_dir(self) -> Path:
        return Path(self.config["state_dir"])

    @property
    def token_file(self) -> Path:
        return Path(self.config["rpc"]["token_file"])

    @property
    def http_url(self) -> str:
        http = self.config["rpc"]["http"]
        return f"http://127.0.0.1:{http['port']}"

    def write(self) -> Path:
        self.config_path.write_text(yaml.safe_dump(self.config))
        return self.config_path


def layout(tmp_path: Path, base_url: str, access_token: str, **sections: Any) -> Layout:
    """A config for a daemon under `tmp_path` (token in a 0600 file), listening on loopback."""
    base = short_dir(tmp_path)
    token_file = base / "access-token"
    token_file.write_text(access_token + "\n")
    token_file.chmod(0o600)
    config: dict[str, Any] = {
        "mastodon": {
            "base_url": base_url,
            "access_token_file": str(token_file),
            "max_retries": 0,
            "rate_limit_max_wait": 0,
        },
        "rpc": {
            "unix_socket": str(base / "run" / "mastod.sock"),
            "http": {"host": "127.0.0.1", "port": free_port()},
            "token_file": str(base / "state" / "rpc.token"),
        },
        "notifications": {"source": "none"},
        "state_dir": str(base / "state"),
        "log": {"level": "debug", "format": "json"},
    }
    for key, value in sections.items():
        config[key] = {**config.get(key, {}), **value} if isinstance(value, dict) else value
    return Layout(base, config)


@dataclass
class Proc:
    proc: asyncio.subprocess.Process
    layout: Layout
    notify: socket.socket
    stderr: list[str] = field(default_factory=list)
    stdout: list[str] = field(default_factory=list)
    pumps: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def rpc_token(self) -> str:
        return self.layout.token_file.read_text().strip()

    async def ready(self) -> None:
        """Wait for READY=1 on the notify socket (or the process to end: it failed)."""
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(BOUND):
            while True:
                if self.proc.returncode is not None:
                    raise AssertionError(f"the daemon exited: {''.join(self.stderr)[-2000:]}")
                try:
                    data = await asyncio.wait_for(loop.sock_recv(self.notify, 4096), 0.2)
                except TimeoutError:
                    continue
                if b"READY=1" in data:
                    return

    async def call(self, method: str, params: Any = None, id_: Any = 1) -> dict[str, Any]:
        reader, writer = await asyncio.open_unix_connection(str(self.layout.socket_path))
        frame: dict[str, Any] = {"jsonrpc": "2.0", "id": id_, "method": method}
        if params is not None:
            frame["params"] = params
        writer.write(json.dumps(frame).encode() + b"\n")
        line = await asyncio.wait_for(reader.readline(), BOUND)
        writer.close()
        answer: dict[str, Any] = json.loads(line)
        return answer

    async def exited(self) -> int:
        """Wait for the daemon to exit by itself (bounded); its exit code."""
        code = await asyncio.wait_for(self.proc.wait(), BOUND)
        await asyncio.gather(*self.pumps)
        self.notify.close()
        return code

    async def stop(self) -> int:
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(self.proc.wait(), BOUND)
        await asyncio.gather(*self.pumps)
        self.notify.close()
        return code

    def log_text(self) -> str:
        return "".join(self.stderr) + "".join(self.stdout)


@contextmanager
def umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


async def spawn(
    lay: Layout,
    *args: str,
    env: dict[str, str] | None = None,
    mask: int = 0o022,
    rewrite: bool = True,
) -> Proc:
    """`python -m mastod serve --config <lay>` (or other `args`), started with umask `mask`;
    `rewrite=False` keeps the config file as the test wrote it."""
    if rewrite:
        lay.write()
    notify_path = lay.base / f"notify-{secrets.token_hex(4)}.sock"
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(notify_path))
    notify.setblocking(False)
    command = args or ("serve", "--config", str(lay.config_path))
    with umask(mask):
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "mastod",
            *command,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "NOTIFY_SOCKET": str(notify_path), **(env or {})},
        )
    running = Proc(proc, lay, notify)

    async def pump(stream: asyncio.StreamReader | None, into: list[str]) -> None:
        assert stream is not None
        async for line in stream:
            into.append(line.decode("utf-8", "replace"))

    running.pumps = [
        asyncio.create_task(pump(proc.stderr, running.stderr)),
        asyncio.create_task(pump(proc.stdout, running.stdout)),
    ]
    return running


@asynccontextmanager
async def daemon(lay: Layout, *, mask: int = 0o022) -> AsyncIterator[Proc]:
    """A started daemon (READY=1), stopped with SIGTERM (killed if it must be) afterwards."""
    running = await spawn(lay, mask=mask)
    try:
        await running.ready()
        yield running
    finally:
        if running.proc.returncode is None:
            running.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(running.proc.wait(), BOUND)
            except TimeoutError:
                running.proc.kill()
                await running.proc.wait()
        await asyncio.gather(*running.pumps)
        running.notify.close()


async def run_cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """`python -m mastod <args>`: exit code, stdout, stderr."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "mastod",
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    out, err = await asyncio.wait_for(proc.communicate(), BOUND)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()
