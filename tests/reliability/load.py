"""The load run, shared by `test_load` and the soak.

The daemon runs as its own process (through `tests.reliability.probe`, which only adds a task
count on SIGUSR1) with Web Push from the in-process sandbox as its notification source. For
`seconds`:

- `clients` concurrent RPC clients (half on the Unix socket, a quarter each on HTTP and
  WebSocket), each on its own connection, call as fast as answers come: `get_status`,
  `get_home_timeline`, `status`, `publish_status`, and invalid calls (unknown method,
  mistyped parameter, unknown id, unparsable JSON), each with its expected answer;
- bob mentions alice as fast as the sandbox lets him (a Web Push flood);
- healthy subscribers (Unix socket and WebSocket) take every notification;
- a stalled subscriber subscribes and never reads, and a client sends requests and never reads
  its replies (on the Unix socket and on a WebSocket).

With `faults=True` (the soak) the sandbox also misbehaves throughout (`inject_faults`: 429s,
5xx, HTML pages, resets, cut answers, timeouts, slow answers, lost `publish_status` answers,
failing notification fetches and backfills, `Connection: close` spells); calls that go
upstream may then answer the documented upstream errors, and nothing else.

Measured on the daemon's process: RSS (sampled), threads, file descriptors by kind, and
event-loop tasks, idle before and idle after.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import os
import random
import re
import secrets
import signal
import socket
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from mastod.sandbox import RunningSandbox
from mastod.sandbox.faults import FaultKind
from tests.reliability.harness import (
    CALL_TIMEOUT,
    LINE_LIMIT,
    Actor,
    DaemonProcess,
    HttpClient,
    Received,
    RpcClient,
    UnixClient,
    WsClient,
    alice_id,
    alice_notifications,
    fd_count,
    fd_kinds,
    frame,
    free_port,
    resuming_subscriber,
    rss_kib,
    thread_count,
    wait_until,
    write_config,
)
from tests.reliability.probe import PROBE_ENV
from tests.wsframe import text_frame

# Per subscriber. The stalled one overflows it once the socket buffers in between are full
# (about 80 frames); a healthy one would have to fall about 140 notifications behind.
QUEUE_SIZE = 64
POOLED = ("upstream", "webhook-conn")  # keep-alive pools, bounded by aiohttp's connector limit
POOL_LIMIT = 100  # aiohttp's default TCPConnector limit, on both sides
MAX_CALLS_PER_CLIENT = 100_000  # a bound on every loop; time ends them long before
UNREAD_UNIX = 20_000  # requests the never-reading Unix client sends at most (it is pushed back)
UNREAD_WS = 300  # and the WebSocket one (every one is still answered after it goes away)
STALL_TOP_UP = 600  # at most this many more mentions for the stalled subscriber to overflow


@dataclass
class Figures:
    """The daemon's process at one moment."""

    rss_kib: int
    threads: int
    fds: int
    fd_kinds: Counter[str]
    tasks: int
    tasks_by_name: dict[str, int]

    def line(self) -> str:
        kinds = ", ".join(f"{k}={v}" for k, v in sorted(self.fd_kinds.items()))
        return (
            f"RSS {self.rss_kib / 1024:.1f} MiB, {self.threads} threads, {self.fds} fds ({kinds}), "
            f"{self.tasks} tasks"
        )


@dataclass
class LoadReport:
    seconds: float
    clients: int
    calls: Counter[str] = field(default_factory=Counter)  # by method
    outcomes: Counter[str] = field(default_factory=Counter)  # "ok" or the error code
    by_transport: Counter[str] = field(default_factory=Counter)
    unexpected: list[str] = field(default_factory=list)
    per_client: list[int] = field(default_factory=list)
    notifications: int = 0
    delivered: dict[str, int] = field(default_factory=dict)
    out_of_order: dict[str, int] = field(default_factory=dict)
    duplicates: dict[str, int] = field(default_factory=dict)
    missing: dict[str, int] = field(default_factory=dict)
    healthy_dropped: int = 0
    stalled_dropped: bool = False
    unread_requests: dict[str, int] = field(default_factory=dict)  # by transport
    published: dict[str, str] = field(default_factory=dict)  # text -> id, for each success
    publish_failed: list[str] = field(default_factory=list)  # texts whose call failed
    not_exactly_once: list[str] = field(default_factory=list)
    faults: Counter[str] = field(default_factory=Counter)  # injected, by kind
    rss_samples: list[tuple[float, int]] = field(default_factory=list)
    phases: dict[str, float] = field(default_factory=dict)  # seconds from the start
    before: Figures | None = None
    after: Figures | None = None
    elapsed: float = 0.0

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    @property
    def peak_rss_kib(self) -> int:
        return max((kib for _, kib in self.rss_samples), default=0)

    def summary(self) -> str:
        assert self.before is not None
        assert self.after is not None
        codes = ", ".join(f"{k}: {v}" for k, v in sorted(self.outcomes.items()))
        spread = f"{min(self.per_client, default=0)}-{max(self.per_client, default=0)}"
        return "\n".join(
            [
                f"load: {self.clients} clients for {self.seconds:.0f}s "
                f"({self.elapsed:.1f}s with set-up and settling)",
                f"  calls: {self.total_calls} ({dict(self.by_transport)}), per client {spread}",
                f"  outcomes: {codes}; unexpected: {len(self.unexpected)}",
                f"  publish_status: {len(self.published)} published, "
                f"{len(self.publish_failed)} failed, {len(self.not_exactly_once)} not exactly once",
                f"  faults injected: {sum(self.faults.values())} {dict(self.faults)}",
                f"  notifications: {self.notifications} made, delivered per subscriber "
                f"{self.delivered}, missing {self.missing}, duplicated {self.duplicates}, "
                f"out of order {self.out_of_order}; healthy drops {self.healthy_dropped}; "
                f"stalled subscriber dropped: {self.stalled_dropped}; "
                f"requests sent by the clients that never read: {self.unread_requests}",
                f"  before: {self.before.line()}",
                f"  after:  {self.after.line()}",
                f"  not back to idle: {leaked(self.before, self.after) or 'nothing'}",
                f"  peak RSS {self.peak_rss_kib / 1024:.1f} MiB over {len(self.rss_samples)} "
                f"samples",
                "  phases: " + ", ".join(f"{k} {v:.1f}s" for k, v in self.phases.items()),
            ]
        )


# -- the calls ------------------------------------------------------------------------------------


Check = Callable[[dict[str, Any]], bool]
CLIENT_FAILURES = (
    OSError,
    ConnectionError,
    TimeoutError,
    aiohttp.ClientError,
    AssertionError,
    ValueError,
)


def _is_error(code: int) -> Check:
    return lambda answer: answer.get("error", {}).get("code") == code


# Calls that go to Mastodon: with faults injected they may also answer these (README's table).
UPSTREAM_METHODS = frozenset({"get_status", "get_home_timeline", "publish_status"})
FAULT_CODES = frozenset({-32029, -32050, -32051, -32052})


def _call_mix(status_ids: list[str], run: str, client: int) -> list[tuple[int, str, Any, Check]]:
    """(weight, method, params, check) of every kind of call a load client makes."""
    n = itertools.count()
    return [
        (30, "get_status", lambda: [random.choice(status_ids)],
         lambda a: a.get("result", {}).get("id") in status_ids),
        (20, "get_home_timeline", lambda: {"limit": 5},
         lambda a: isinstance(a.get("result"), list) and len(a["result"]) == 5),
        (10, "status", lambda: None,
         lambda a: a.get("result", {}).get("status") == "ok"),
        (10, "publish_status", lambda: {"status": f"load {run} {client} {next(n)}"},
         lambda a: "id" in a.get("result", {})),
        (10, "no_such_method", lambda: {}, _is_error(-32601)),
        (10, "get_home_timeline", lambda: {"limit": "five"}, _is_error(-32602)),
        (5, "get_status", lambda: ["9" * 18], _is_error(-32004)),
        (5, "<unparsable>", lambda: None, _is_error(-32700)),
    ]  # fmt: skip


async def _raw(client: RpcClient, text: str) -> dict[str, Any]:
    """Send `text` as a frame (not JSON) and read the one answer."""
    if isinstance(client, UnixClient):
        client.writer.write(text.encode() + b"\n")
        await client.writer.drain()
        line = await asyncio.wait_for(client.reader.readline(), CALL_TIMEOUT)
        answer: dict[str, Any] = json.loads(line)
        return answer
    if isinstance(client, WsClient):
        await client.ws.send_str(text)
        message = await client.ws.receive(timeout=CALL_TIMEOUT)
        return dict(json.loads(message.data))
    assert isinstance(client, HttpClient)
    json_type = {"Content-Type": "application/json"}
    async with client.session.post(client.url, data=text.encode(), headers=json_type) as response:
        return dict(await response.json(content_type=None))


async def _client_loop(
    client: RpcClient,
    index: int,
    status_ids: list[str],
    deadline: float,
    report: LoadReport,
    *,
    run: str = "warm-up",
    faults: bool = False,
) -> None:
    mix = _call_mix(status_ids, run, index)
    weights = [w for w, *_ in mix]
    done = 0
    loop = asyncio.get_running_loop()
    try:
        while loop.time() < deadline and done < MAX_CALLS_PER_CLIENT:
            _, method, make_params, check = random.choices(mix, weights)[0]
            params = make_params()
            try:
                if method == "<unparsable>":
                    answer = await _raw(client, '{"jsonrpc": "2.0", "id": 7, "method": ')
                else:
                    answer = await client.call(method, params)
            except CLIENT_FAILURES as exc:
                report.unexpected.append(f"{client.transport} {method}: {exc!r}"[:300])
                return
            report.calls[method] += 1
            report.by_transport[client.transport] += 1
            code = answer["error"]["code"] if "error" in answer else None
            report.outcomes["ok" if code is None else str(code)] += 1
            if method == "publish_status":
                if code is None:
                    report.published[params["status"]] = str(answer["result"].get("id"))
                else:
                    report.publish_failed.append(params["status"])
            tolerated = faults and method in UPSTREAM_METHODS and code in FAULT_CODES
            if not tolerated and not check(answer):
                report.unexpected.append(f"{client.transport} {method}: {answer}"[:300])
            done += 1
    finally:
        report.per_client.append(done)
        await client.close()


# -- the ones that never read ---------------------------------------------------------------------


def _never_reading_unix(path: Path) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(str(path))
    sock.setblocking(False)
    return sock


async def _stall_subscriber(path: Path, since_id: str) -> socket.socket:
    """Subscribes and never reads a byte."""
    sock = _never_reading_unix(path)
    request = frame("stalled", "subscribe", {"since_id": since_id})
    await asyncio.get_running_loop().sock_sendall(sock, json.dumps(request).encode() + b"\n")
    return sock


async def _never_reading_ws(port: int, token: str) -> socket.socket:
    """A WebSocket on a raw socket: the handshake is read, nothing after it ever is."""
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await loop.sock_connect(sock, ("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET /rpc HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        f"Authorization: Bearer {token}\r\n\r\n"
    )
    await loop.sock_sendall(sock, request.encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = await asyncio.wait_for(loop.sock_recv(sock, 1), CALL_TIMEOUT)
        assert chunk, head
        head += chunk
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


async def _flood_unread(sock: socket.socket, most: int, *, ws: bool = False) -> int:
    """Send requests with big replies and never read one, until the daemon stops reading us
    (a send blocked for 2 s) or `most` were sent; how many were."""
    loop = asyncio.get_running_loop()
    for i in range(most):
        text = json.dumps(frame(i, "get_home_timeline", {"limit": 40}))
        data = text_frame(text.encode()) if ws else text.encode() + b"\n"
        try:
            await asyncio.wait_for(loop.sock_sendall(sock, data), 2.0)
        except TimeoutError:
            return i  # back-pressure: the daemon no longer reads this connection
    return most


async def _ws_subscriber(
    url: str, token: str, since_id: str, got: Received, stop: asyncio.Event
) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(
            f"{url}/rpc", headers={"Authorization": f"Bearer {token}"}, max_msg_size=LINE_LIMIT
        ) as ws,
    ):
        got.connections += 1
        await ws.send_str(json.dumps(frame("sub", "subscribe", {"since_id": since_id})))
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                message = await ws.receive(timeout=0.2)
                if message.type is not aiohttp.WSMsgType.TEXT:
                    got.errors.append(message.type.name)
                    return
                data = json.loads(message.data)
                if data.get("method") == "notification":
                    got.ids.append(str(data["params"]["notification"]["id"]))
                elif data.get("method") == "dropped":  # fell behind: resume where it stopped
                    got.dropped += 1
                    since = data["params"]["since_id"]
                    await ws.send_str(json.dumps(frame("sub", "subscribe", {"since_id": since})))


# -- upstream faults during the load (the soak) ---------------------------------------------------

HTML_PAGE = "<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>"
NOTIFICATION = re.compile(r"^/api/v1/notifications/\d+$")
NOTIFICATIONS = re.compile(r"^/api/v1/notifications$")
UPSTREAM_TIMEOUT = 2.0  # the load daemon's mastodon.timeout


# name: (path, kind, most requests it hits, options)
SOAK_FAULTS: dict[str, tuple[str | re.Pattern[str], FaultKind, int, dict[str, Any]]] = {
    "429 storm": ("/api/v1/statuses/", "rate_limit", 10, {"reset_in": 0.3}),
    "503 timeline": ("/api/v1/timelines/home", "status", 5, {"status": 503}),
    "502 HTML": (
        "/api/v1/statuses/",
        "status",
        3,
        {"status": 502, "body": HTML_PAGE, "content_type": "text/html"},
    ),
    "reset": ("/api/v1/statuses/", "drop", 3, {"method": "GET"}),
    "slow": ("/api/v1/", "latency", 20, {"seconds": 0.3}),
    "timeout": ("/api/v1/timelines/home", "latency", 1, {"seconds": UPSTREAM_TIMEOUT + 0.5}),
    "cut mid-answer": ("/api/v1/statuses/", "truncate", 3, {"method": "GET"}),
    "cut JSON": ("/api/v1/timelines/home", "truncate", 1, {"cut_connection": False}),
    "publish answer lost": ("/api/v1/statuses", "drop", 1, {"method": "POST", "after": True}),
    "publish 502 after": (
        "/api/v1/statuses",
        "status",
        1,
        {"method": "POST", "status": 502, "after": True},
    ),
    "push fetch 503": (NOTIFICATION, "status", 3, {"status": 503}),
    "backfill 502": (NOTIFICATIONS, "status", 1, {"status": 502}),
}


async def inject_faults(
    upstream: RunningSandbox, stop: asyncio.Event, counts: Counter[str], rng: random.Random
) -> None:
    """Program a random fault every 0.1-0.6 s until `stop`; then clear them all."""
    f = upstream.sandbox.faults
    names = sorted(SOAK_FAULTS)
    try:
        while not stop.is_set():
            name = rng.choice(names)
            path, kind, most, options = SOAK_FAULTS[name]
            f.add(path, kind, count=rng.randint(1, most), **options)
            counts[name] += 1
            if rng.random() < 0.05:
                f.close_connections = not f.close_connections
                counts["connection: close spell"] += f.close_connections
            f.active[:] = [x for x in f.active if x.count is None or x.count > 0]
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), rng.uniform(0.1, 0.6))
    finally:
        f.clear()


def check_published(upstream: RunningSandbox, report: LoadReport) -> None:
    """Each successful publish_status made exactly its one status; a failed one at most one."""
    texts = Counter(s.text for s in upstream.sandbox.statuses.values())
    for text, status_id in report.published.items():
        status = upstream.sandbox.statuses.get(status_id)
        if texts[text] != 1 or status is None or status.text != text:
            report.not_exactly_once.append(f"{text!r}: {texts[text]} statuses")
    for text in report.publish_failed:
        if texts[text] > 1:
            report.not_exactly_once.append(f"{text!r} (failed call): {texts[text]} statuses")


# -- figures --------------------------------------------------------------------------------------


async def probe_tasks(daemon: DaemonProcess, probe_file: Path) -> dict[str, Any]:
    probe_file.unlink(missing_ok=True)
    os.kill(daemon.pid, signal.SIGUSR1)
    await wait_until(probe_file.exists, 10, "the task probe")
    data: dict[str, Any] = json.loads(probe_file.read_text())
    return data


async def figures(daemon: DaemonProcess, probe_file: Path, upstream_port: int) -> Figures:
    tasks = await probe_tasks(daemon, probe_file)
    kinds = fd_kinds(
        daemon.pid,
        rpc_port=daemon.http_port,
        webhook_port=daemon.webhook_port,
        upstream_port=upstream_port,
    )
    return Figures(
        rss_kib=rss_kib(daemon.pid),
        threads=thread_count(daemon.pid),
        fds=fd_count(daemon.pid),
        fd_kinds=kinds,
        tasks=int(tasks["tasks"]),
        tasks_by_name=dict(tasks["by_name"]),
    )


def leaked(before: Figures, after: Figures) -> dict[str, tuple[int, int]]:
    """What did not come back: fd kinds other than the keep-alive pools, and task kinds."""
    diff: dict[str, tuple[int, int]] = {}
    for kind in set(before.fd_kinds) | set(after.fd_kinds):
        if kind == "store":
            # SQLite keeps the fd of a closed connection (the maintenance checkpoint's) open
            # for reuse while the loop's connection holds locks on the file: at most one more
            if not before.fd_kinds[kind] <= after.fd_kinds[kind] <= before.fd_kinds[kind] + 1:
                diff[f"fd {kind}"] = (before.fd_kinds[kind], after.fd_kinds[kind])
        elif kind in POOLED:
            if after.fd_kinds[kind] > POOL_LIMIT:
                diff[f"fd {kind}"] = (before.fd_kinds[kind], after.fd_kinds[kind])
        elif before.fd_kinds[kind] != after.fd_kinds[kind]:
            diff[f"fd {kind}"] = (before.fd_kinds[kind], after.fd_kinds[kind])
    # aiohttp's servers and asyncio's Unix server run one unnamed task per open connection:
    # a kept-alive push connection from the sandbox's pool holds one
    served = ("webhook-conn", "rpc-conn", "unix")
    allowance = sum(max(0, after.fd_kinds[k] - before.fd_kinds[k]) for k in served)
    for name in set(before.tasks_by_name) | set(after.tasks_by_name):
        b, a = before.tasks_by_name.get(name, 0), after.tasks_by_name.get(name, 0)
        if a > b + (allowance if name == "Task" else 0):
            diff[f"task {name}"] = (b, a)
    return diff


async def _sample_rss(pid: int, stop: asyncio.Event, out: list[tuple[float, int]]) -> None:
    started = time.monotonic()
    while not stop.is_set():
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            out.append((time.monotonic() - started, rss_kib(pid)))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.5)


# -- the run --------------------------------------------------------------------------------------


def load_config(workdir: Path, upstream: RunningSandbox) -> Path:
    return write_config(
        workdir,
        upstream.url,
        source="push",
        http=True,
        webhook_port=free_port(),
        sections={
            "notifications": {"queue_size": QUEUE_SIZE},
            "mastodon": {
                "timeout": UPSTREAM_TIMEOUT,
                "max_retries": 2,
                "rate_limit_max_wait": 2.0,
            },
        },
    )


async def _open_clients(daemon: DaemonProcess, count: int) -> list[RpcClient]:
    """`count` clients: half on the Unix socket, a quarter each on HTTP and WebSocket."""
    token = daemon.rpc_token

    async def one(i: int) -> RpcClient:
        if i % 4 in (0, 1):
            return await UnixClient.open(daemon.socket_path)
        if i % 4 == 2:
            return HttpClient(daemon.http_url, token)
        return await WsClient.open(daemon.http_url, token)

    return list(await asyncio.gather(*(one(i) for i in range(count))))


async def _warm_up(daemon: DaemonProcess, status_ids: list[str]) -> None:
    """A few of every call on every transport, so what is made lazily exists before 'before'."""
    report = LoadReport(seconds=0, clients=8)
    clients = await _open_clients(daemon, 8)
    deadline = asyncio.get_running_loop().time() + 1.0
    await asyncio.gather(
        *(_client_loop(c, i, status_ids, deadline, report) for i, c in enumerate(clients))
    )
    assert not report.unexpected, report.unexpected[:5]


async def _settle(
    daemon: DaemonProcess, probe_file: Path, port: int, before: Figures, within: float
) -> Figures:
    """Figures once the daemon is idle again: no leaked kind left (or `within` s passed)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        after = await figures(daemon, probe_file, port)
        if not leaked(before, after) or loop.time() > deadline:
            return after
        await asyncio.sleep(0.25)


async def run_load(
    upstream: RunningSandbox,
    daemon: DaemonProcess,
    probe_file: Path,
    *,
    seconds: float,
    clients: int = 200,
    faults: bool = False,
    rng: random.Random | None = None,
    settle: float = 30.0,
) -> LoadReport:
    """Drive the running `daemon` (started with `load_config`) for `seconds`, then wait up to
    `settle` seconds for it to be idle again (requests that a client sent before it went
    away are still answered: after a never-reading WebSocket client that can take a while)."""
    began = time.monotonic()
    run = secrets.token_hex(3)
    rng = rng or random.Random()
    report = LoadReport(seconds=seconds, clients=clients)
    sb = upstream.sandbox
    upstream_port = int(upstream.url.rsplit(":", 1)[1])
    me = alice_id(upstream)
    status_ids = [s.id for s in sb.statuses.values() if s.account_id == me][:5]

    def phase(name: str) -> None:
        report.phases[name] = time.monotonic() - began

    await _warm_up(daemon, status_ids)
    await asyncio.sleep(1.0)  # the warm-up's connections close
    before = report.before = await figures(daemon, probe_file, upstream_port)
    phase("warm-up")
    since = alice_notifications(upstream)[-1]
    token = daemon.rpc_token
    stop, stop_reading, stop_sampling = asyncio.Event(), asyncio.Event(), asyncio.Event()
    sampler = asyncio.create_task(_sample_rss(daemon.pid, stop_sampling, report.rss_samples))
    healthy: dict[str, Received] = {f"unix-{i}": Received() for i in range(4)}
    healthy.update({f"ws-{i}": Received() for i in range(2)})
    readers = [
        asyncio.create_task(
            resuming_subscriber(daemon.socket_path, since, got, stop_reading)
            if name.startswith("unix")
            else _ws_subscriber(daemon.http_url, token, since, got, stop_reading)
        )
        for name, got in healthy.items()
    ]
    await wait_until(
        lambda: all(g.connections for g in healthy.values()), 10, "the subscribers to connect"
    )
    stalled = await _stall_subscriber(daemon.socket_path, since)
    unread = _never_reading_unix(daemon.socket_path)
    assert daemon.http_port is not None
    unread_ws = await _never_reading_ws(daemon.http_port, token)
    # Both fill up before the load and stay stalled through it. The Unix socket pushes back
    # (the daemon stops reading at 64 requests in flight); over TCP the kernel's buffers take
    # megabytes, so the WebSocket one stops at UNREAD_WS.
    report.unread_requests["unix"] = await _flood_unread(unread, UNREAD_UNIX)
    report.unread_requests["websocket"] = await _flood_unread(unread_ws, UNREAD_WS, ws=True)
    phase("stalled")
    actor = Actor(upstream)
    try:
        rpc_clients = await _open_clients(daemon, clients)
        phase("connected")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds

        async def flood() -> None:
            while loop.time() < deadline and len(actor.made) < 20_000:
                await actor.mention()

        injector = (
            asyncio.create_task(inject_faults(upstream, stop, report.faults, rng))
            if faults
            else None
        )
        await asyncio.gather(
            *(
                _client_loop(c, i, status_ids, deadline, report, run=run, faults=faults)
                for i, c in enumerate(rpc_clients)
            ),
            *(flood() for _ in range(4)),
        )
        stop.set()
        if injector is not None:
            await injector
        phase("load")
        # keep bob mentioning until the stalled subscriber's queue has overflowed (bounded)
        for extra in range(STALL_TOP_UP):
            if extra % 10 == 0 and await _subscribers(daemon) == len(healthy):
                break
            await actor.mention()
        phase("stall top-up")
        expected = alice_notifications(upstream, after=since)
        report.notifications = len(expected)
        wanted = set(expected)
        with contextlib.suppress(AssertionError):  # a shortfall is reported, not raised here
            await wait_until(
                lambda: all(set(g.ids) >= wanted for g in healthy.values()),
                60,
                "every subscriber to have every notification",
            )
        phase("delivered")
        await asyncio.sleep(0.5)
        report.stalled_dropped = await _subscribers(daemon) == len(healthy)
    finally:
        stop.set()
        stop_reading.set()
        await asyncio.gather(*readers, return_exceptions=True)
        phase("readers")
        for sock in (stalled, unread, unread_ws):
            sock.close()
        await actor.close()
    for name, got in healthy.items():
        report.delivered[name] = len(got.ids)
        report.missing[name] = len(wanted - set(got.ids))
        report.duplicates[name] = len(got.duplicates())
        report.out_of_order[name] = len(got.out_of_order())
        report.healthy_dropped += got.dropped
    report.after = await _settle(daemon, probe_file, upstream_port, before, settle)
    phase("settled")
    check_published(upstream, report)  # after the settle: late requests have finished
    stop_sampling.set()
    await sampler
    report.elapsed = time.monotonic() - began
    return report


async def _subscribers(daemon: DaemonProcess) -> int:
    """The daemon's live subscriptions (`status.subscribers`)."""
    client = await UnixClient.open(daemon.socket_path)
    try:
        return int((await client.call("status"))["result"]["subscribers"])
    finally:
        await client.close()


def probe_env(probe_file: Path) -> dict[str, str]:
    return {PROBE_ENV: str(probe_file)}
