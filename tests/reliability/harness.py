"""What the reliability tests share: the sandbox as upstream (no rate limit), the daemon as a
real subprocess (`python -m mastod serve --config ...`) or its app in-process (the fault
tests), JSON-RPC clients on all three transports, a subscriber that resumes with `since_id`
after every crash, and `/proc` figures (RSS, threads, file descriptors by kind) of the
daemon's process.

Everything listens on 127.0.0.1 or on Unix sockets in a private temporary directory; every
wait is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import random
import shutil
import signal
import socket
import sys
import tempfile
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from aiohttp import web

from mastod.app import Daemon
from mastod.sandbox import OWNER_TOKEN, RunningSandbox, Sandbox, start_sandbox
from tests.integration.conftest import start_daemon

ROOT = Path(__file__).resolve().parents[2]
NO_RATE_LIMIT = 10**9  # the sandbox's per-token limit, effectively off for load
READY_TIMEOUT = 30.0
CALL_TIMEOUT = 30.0  # a hang detector, not a performance bound
LINE_LIMIT = 1 << 24  # StreamReader limit: a timeline page is far below it
_ENV_DROP = ("NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "WATCHDOG_USEC")
_ENV_DROP_PREFIX = ("MASTOD_", "NGROK_")


# -- places and ports ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def scratch_dir(prefix: str = "mrel-") -> Iterator[Path]:
    """A short private directory (Unix socket paths must fit in 108 bytes), removed after."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


# -- upstream -----------------------------------------------------------------------------------


async def start_upstream(*, record: bool = True, rate_limit: int = NO_RATE_LIMIT) -> RunningSandbox:
    """A sandbox on 127.0.0.1. `record`: keep requests (as many as `record_limit`, 10,000)."""
    sandbox = Sandbox()
    sandbox.recording = record
    return await start_sandbox(sandbox=sandbox, rate_limit=rate_limit)


def alice_id(upstream: RunningSandbox) -> str:
    return upstream.sandbox.account_by_username("alice").id


def id_order(notification_id: str) -> tuple[int, str]:
    """Mastodon id order: by length, then lexically."""
    return len(notification_id), notification_id


def alice_notifications(upstream: RunningSandbox, after: str | None = None) -> list[str]:
    """Ids of the sandbox's notifications for alice (after `after`), in Mastodon id order."""
    me = alice_id(upstream)
    ids = [n.id for n in upstream.sandbox.notifications.values() if n.account_id == me]
    if after is not None:
        ids = [i for i in ids if id_order(i) > id_order(after)]
    return sorted(ids, key=id_order)


class Actor:
    """Makes bob act through `POST /_sandbox/act`, as a user of the sandbox would."""

    def __init__(self, upstream: RunningSandbox) -> None:
        self.url = f"{upstream.url}/_sandbox/act"
        self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=CALL_TIMEOUT))
        self.made: list[str] = []
        self._n = itertools.count(1)

    async def mention(self, text: str | None = None) -> list[str]:
        body = {"actor": "bob", "action": "mention", "text": text or f"@alice ping {next(self._n)}"}
        async with self.session.post(self.url, json=body) as response:
            assert response.status == 200, await response.text()
            made = [str(n["id"]) for n in (await response.json())["notifications"]]
        self.made.extend(made)
        return made

    async def close(self) -> None:
        await self.session.close()


async def generate(
    actor: Actor, stop: asyncio.Event, *, pause: tuple[float, float], limit: int
) -> int:
    """Mention alice until `stop` (at most `limit` times), sleeping `pause` between; how many."""
    done = 0
    while not stop.is_set() and done < limit:
        await actor.mention()
        done += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), random.uniform(*pause))
    return done


# -- the daemon as a subprocess -----------------------------------------------------------------


def write_config(
    workdir: Path,
    base_url: str,
    *,
    source: str = "none",
    http: bool = False,
    webhook_port: int | None = None,
    sections: dict[str, dict[str, Any]] | None = None,
) -> Path:
    """A config file for the daemon in `workdir`; `sections` are merged over each section."""
    token_file = workdir / "access-token"
    token_file.write_text(OWNER_TOKEN + "\n")
    token_file.chmod(0o600)
    doc: dict[str, Any] = {
        "mastodon": {"base_url": base_url, "access_token_file": str(token_file)},
        "rpc": {
            "unix_socket": str(workdir / "run" / "mastod.sock"),
            "http": {"host": "127.0.0.1", "port": free_port()} if http else None,
            "token_file": str(workdir / "state" / "rpc.token"),
        },
        "notifications": {"source": source},
        "state_dir": str(workdir / "state"),
        "log": {"level": "info", "format": "json"},
    }
    if webhook_port is not None:
        doc["webhook"] = {
            "host": "127.0.0.1",
            "port": webhook_port,
            "public_url": f"http://127.0.0.1:{webhook_port}",
        }
    for key, value in (sections or {}).items():
        doc[key] = {**(doc.get(key) or {}), **value}
    path = workdir / "mastod.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def _child_env(extra: dict[str, str]) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in _ENV_DROP and not k.startswith(_ENV_DROP_PREFIX)
    }
    return {**env, **extra}


@dataclass
class DaemonProcess:
    """`python -m <module> serve --config <config_path>`, logging to `log_path`."""

    config_path: Path
    module: str = "mastod"
    env: dict[str, str] = field(default_factory=dict)
    proc: asyncio.subprocess.Process | None = None
    starts: int = 0
    kills: int = 0

    def __post_init__(self) -> None:
        doc = yaml.safe_load(self.config_path.read_text())
        self.doc = doc
        self.socket_path = Path(doc["rpc"]["unix_socket"])
        http = doc["rpc"].get("http")
        self.http_port: int | None = None if http is None else int(http["port"])
        self.token_file = Path(doc["rpc"]["token_file"])
        self.log_path = self.config_path.with_suffix(".log")
        webhook = doc.get("webhook") or {}
        self.webhook_port: int | None = webhook.get("port")
        self.base_url: str = doc["mastodon"]["base_url"]

    @property
    def http_url(self) -> str:
        assert self.http_port is not None
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def rpc_token(self) -> str:
        return self.token_file.read_text().strip()

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    async def spawn(self) -> None:
        with self.log_path.open("ab") as log:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", self.module, "serve", "--config", str(self.config_path),
                stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log,
                cwd=ROOT, env=_child_env(self.env),
            )  # fmt: skip
        self.starts += 1

    async def wait_ready(self, timeout: float = READY_TIMEOUT) -> dict[str, Any]:
        """`status` over the Unix socket, once it answers (the daemon is then listening)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if not self.running:
                raise AssertionError(f"the daemon exited: {self.tail()}")
            with contextlib.suppress(OSError, ConnectionError, ValueError, TimeoutError):
                answer = await unix_call(self.socket_path, "status", timeout=2.0)
                if "result" in answer and answer["result"]["status"] in ("ok", "degraded"):
                    return dict(answer["result"])
            if loop.time() > deadline:
                raise AssertionError(f"the daemon is not ready after {timeout}s: {self.tail()}")
            await asyncio.sleep(0.02)

    async def wait_source(self, state: str, timeout: float = READY_TIMEOUT) -> None:
        """Until `status.notifications.state` (or, for push, `.subscription`) is `state`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            notes = (await self.wait_ready(timeout))["notifications"]
            if state in (notes.get("state"), notes.get("subscription")):
                return
            assert loop.time() < deadline, f"notification source never {state}: {notes}"
            await asyncio.sleep(0.05)

    async def start(self) -> dict[str, Any]:
        await self.spawn()
        return await self.wait_ready()

    async def kill(self) -> None:
        """SIGKILL: no cleanup runs, nothing is flushed beyond what the kernel already has."""
        if self.running:
            assert self.proc is not None
            self.proc.send_signal(signal.SIGKILL)
            await asyncio.wait_for(self.proc.wait(), 10)
            self.kills += 1

    async def stop(self) -> int:
        """SIGTERM and the exit code (the daemon drains and cleans up)."""
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.proc.wait(), 30)

    def tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def log_events(self, event: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            with contextlib.suppress(ValueError):
                entry = json.loads(line)
                if isinstance(entry, dict) and entry.get("event") == event:
                    found.append(entry)
        return found


@contextlib.asynccontextmanager
async def daemon_process(config_path: Path, **kwargs: Any) -> AsyncIterator[DaemonProcess]:
    """A started daemon; killed at the end if a test left it running."""
    daemon = DaemonProcess(config_path, **kwargs)
    try:
        await daemon.start()
        yield daemon
    finally:
        if daemon.running:
            await daemon.kill()


# -- JSON-RPC clients ---------------------------------------------------------------------------


def frame(request_id: int | str, method: str, params: Any = None) -> dict[str, Any]:
    out: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
    if params is not None:
        out["params"] = params
    return out


async def unix_call(
    path: Path, method: str, params: Any = None, *, timeout: float = CALL_TIMEOUT
) -> dict[str, Any]:
    """One call on a fresh Unix-socket connection."""
    reader, writer = await asyncio.wait_for(
        asyncio.open_unix_connection(str(path), limit=LINE_LIMIT), timeout
    )
    try:
        writer.write(json.dumps(frame(1, method, params)).encode() + b"\n")
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), timeout)
    finally:
        writer.close()
        with contextlib.suppress(OSError, ConnectionError):
            await writer.wait_closed()
    if not line:
        raise ConnectionResetError("the daemon closed the connection")
    answer: dict[str, Any] = json.loads(line)
    return answer


class RpcClient:
    """A client on one connection (Unix socket, HTTP keep-alive, or WebSocket); calls are
    sequential on it. `call` returns the whole JSON-RPC response object."""

    transport = "?"

    async def call(self, method: str, params: Any = None) -> dict[str, Any]:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError


class UnixClient(RpcClient):
    transport = "unix"

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self._ids = itertools.count(1)

    @classmethod
    async def open(cls, path: Path) -> UnixClient:
        reader, writer = await asyncio.wait_for(
            asyncio.open_unix_connection(str(path), limit=LINE_LIMIT), CALL_TIMEOUT
        )
        return cls(reader, writer)

    async def call(self, method: str, params: Any = None) -> dict[str, Any]:
        request_id = next(self._ids)
        self.writer.write(json.dumps(frame(request_id, method, params)).encode() + b"\n")
        await self.writer.drain()
        line = await asyncio.wait_for(self.reader.readline(), CALL_TIMEOUT)
        if not line:
            raise ConnectionResetError("the daemon closed the connection")
        answer: dict[str, Any] = json.loads(line)
        assert answer.get("id") == request_id, answer
        return answer

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError, ConnectionError):
            await self.writer.wait_closed()


class HttpClient(RpcClient):
    transport = "http"

    def __init__(self, url: str, token: str) -> None:
        self.url = f"{url}/rpc"
        # its own connector: one keep-alive connection per client, as separate programs have
        self.session = aiohttp.ClientSession(
            headers={"Authorization": f"Bearer {token}"},
            timeout=aiohttp.ClientTimeout(total=CALL_TIMEOUT),
            connector=aiohttp.TCPConnector(limit=1),
        )
        self._ids = itertools.count(1)

    async def call(self, method: str, params: Any = None) -> dict[str, Any]:
        request_id = next(self._ids)
        async with self.session.post(self.url, json=frame(request_id, method, params)) as response:
            assert response.status == 200, (response.status, await response.text())
            answer: dict[str, Any] = await response.json()
        assert answer.get("id") == request_id, answer
        return answer

    async def close(self) -> None:
        await self.session.close()


class WsClient(RpcClient):
    transport = "websocket"

    def __init__(self, session: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.session, self.ws = session, ws
        self._ids = itertools.count(1)

    @classmethod
    async def open(cls, url: str, token: str) -> WsClient:
        session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=CALL_TIMEOUT))
        try:
            ws = await session.ws_connect(
                f"{url}/rpc", headers={"Authorization": f"Bearer {token}"}, max_msg_size=LINE_LIMIT
            )
        except BaseException:
            await session.close()
            raise
        return cls(session, ws)

    async def call(self, method: str, params: Any = None) -> dict[str, Any]:
        request_id = next(self._ids)
        await self.ws.send_str(json.dumps(frame(request_id, method, params)))
        while True:
            message = await self.ws.receive(timeout=CALL_TIMEOUT)
            if message.type is not aiohttp.WSMsgType.TEXT:
                raise ConnectionResetError(f"WebSocket ended: {message.type.name}")
            answer: dict[str, Any] = json.loads(message.data)
            if answer.get("id") == request_id:
                return answer

    async def close(self) -> None:
        await self.ws.close()
        await self.session.close()


# -- subscribers ----------------------------------------------------------------------------------


@dataclass
class Received:
    """What one subscriber got, in arrival order, across all its connections."""

    ids: list[str] = field(default_factory=list)
    connections: int = 0
    dropped: int = 0
    errors: list[str] = field(default_factory=list)
    last: str | None = None  # the since_id the next subscribe uses

    def duplicates(self) -> list[str]:
        return [i for i, n in Counter(self.ids).items() if n > 1]

    def out_of_order(self) -> list[tuple[str, str]]:
        return [(a, b) for a, b in itertools.pairwise(self.ids) if id_order(b) <= id_order(a)]


async def resuming_subscriber(
    path: Path, since_id: str, got: Received, stop: asyncio.Event, *, retry: float = 0.03
) -> None:
    """Subscribe on the Unix socket and read notifications until `stop`; whenever the
    connection ends (the daemon died), connect again and `subscribe(since_id=<last id
    received>)`. A `dropped` marker resumes from the `since_id` it names."""
    got.last = since_id
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_unix_connection(str(path), limit=LINE_LIMIT)
        except OSError:
            await asyncio.sleep(retry)
            continue
        got.connections += 1
        try:
            request = frame("sub", "subscribe", {"since_id": got.last})
            writer.write(json.dumps(request).encode() + b"\n")
            await writer.drain()
            while not stop.is_set():
                reading = asyncio.ensure_future(reader.readline())
                stopping = asyncio.ensure_future(stop.wait())
                await asyncio.wait({reading, stopping}, return_when=asyncio.FIRST_COMPLETED)
                stopping.cancel()
                if not reading.done():
                    reading.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await reading
                    break
                line = reading.result()
                if not line:
                    break  # EOF: the daemon is gone
                message = json.loads(line)
                if message.get("id") == "sub":
                    if "error" in message:
                        got.errors.append(json.dumps(message["error"]))
                        break
                    continue
                if message.get("method") == "notification":
                    notification_id = str(message["params"]["notification"]["id"])
                    got.ids.append(notification_id)
                    got.last = notification_id
                elif message.get("method") == "dropped":
                    got.dropped += 1
                    got.last = str(message["params"]["since_id"])
                    break
        except (OSError, ConnectionError, ValueError, asyncio.IncompleteReadError) as exc:
            got.errors.append(type(exc).__name__)
        finally:
            writer.close()
            with contextlib.suppress(OSError, ConnectionError):
                await writer.wait_closed()
        if not stop.is_set():
            await asyncio.sleep(retry)


async def wait_until(predicate: Any, timeout: float, what: str, step: float = 0.05) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(step)


# -- /proc figures of the daemon ----------------------------------------------------------------


def proc_status(pid: int) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return fields


def rss_kib(pid: int) -> int:
    return int(proc_status(pid)["VmRSS"].split()[0])


def thread_count(pid: int) -> int:
    return int(proc_status(pid)["Threads"])


def fd_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def _tcp_sockets(pid: int) -> dict[str, tuple[int, int, str]]:
    """inode -> (local port, remote port, state) of the process's network namespace."""
    found: dict[str, tuple[int, int, str]] = {}
    for name in ("tcp", "tcp6"):
        with contextlib.suppress(FileNotFoundError):
            for line in Path(f"/proc/{pid}/net/{name}").read_text().splitlines()[1:]:
                cols = line.split()
                local, remote, state, inode = cols[1], cols[2], cols[3], cols[9]
                found[inode] = (_port(local), _port(remote), state)
    return found


def _port(address: str) -> int:
    """The port of a /proc/net/tcp address (`0100007F:1F90`)."""
    return int(address.rsplit(":", 1)[1], 16)


def fd_kinds(
    pid: int, *, rpc_port: int | None, webhook_port: int | None, upstream_port: int
) -> Counter[str]:
    """The daemon's open file descriptors by what they are:

    `rpc-listen`/`rpc-conn` (HTTP and WebSocket clients), `unix` (the RPC socket, its clients
    and the event loop's own socketpair), `upstream` (pooled connections to Mastodon),
    `webhook-listen`/`webhook-conn` (Web Push), `store` (the SQLite files), `other`.
    """
    tcp = _tcp_sockets(pid)
    kinds: Counter[str] = Counter()
    fd_dir = Path(f"/proc/{pid}/fd")
    for entry in list(fd_dir.iterdir()):
        try:
            target = os.readlink(entry)
        except FileNotFoundError:
            continue
        if target.startswith("socket:["):
            inode = target[8:-1]
            if inode in tcp:
                local, remote, state = tcp[inode]
                listening = state == "0A"
                if rpc_port is not None and local == rpc_port:
                    kinds["rpc-listen" if listening else "rpc-conn"] += 1
                elif webhook_port is not None and local == webhook_port:
                    kinds["webhook-listen" if listening else "webhook-conn"] += 1
                elif remote == upstream_port:
                    kinds["upstream"] += 1
                else:
                    kinds["tcp-other"] += 1
            else:
                kinds["unix"] += 1
        elif ".sqlite3" in target:
            kinds["store"] += 1
        else:
            kinds["other"] += 1
    return kinds


def without(kinds: Counter[str], names: Iterable[str]) -> Counter[str]:
    return Counter({k: v for k, v in kinds.items() if k not in set(names)})


# -- the daemon in-process ----------------------------------------------------------------------


@dataclass
class InProcess:
    """The daemon's real app (`mastod.app.build`) served on its Unix socket in this process."""

    daemon: Daemon
    runner: web.AppRunner
    socket_path: Path

    async def call(self, method: str, params: Any = None) -> dict[str, Any]:
        return await unix_call(self.socket_path, method, params)


@contextlib.asynccontextmanager
async def in_process_daemon(
    workdir: Path, base_url: str, sections: dict[str, dict[str, Any]] | None = None
) -> AsyncIterator[InProcess]:
    rpc, runner = await start_daemon(workdir, base_url, sections)
    try:
        yield InProcess(rpc.daemon, runner, rpc.path)
    finally:
        await runner.cleanup()
