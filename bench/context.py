"""What every part of a run shares: the mode (full or quick), the processes it started
(upstream, daemons, minimal proxy, load-client worker) and how to start them."""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.daemon import Daemon, clean_env, free_port, start_daemon
from bench.procs import Processes

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
PYCACHE = Path(tempfile.gettempdir()) / "mastod-bench-pycache"


@dataclass(frozen=True)
class Mode:
    name: str
    rounds: int  # the throughput matrix is run this many times, interleaved
    warmup: float
    duration: float
    max_duration: float  # a slow target's window may grow to this to get min_calls
    starts: int  # cold starts of the daemon timed
    profile_s: float
    profile_http: bool
    oneshot_reps: dict[str, int]
    start_baseline_reps: int


FULL = Mode(
    name="full",
    rounds=3,
    warmup=0.25,
    duration=1.0,
    max_duration=2.0,
    starts=3,
    profile_s=6,
    profile_http=True,
    oneshot_reps={"socat": 25, "mastod": 9, "other": 6},
    start_baseline_reps=8,
)
QUICK = Mode(
    name="quick",
    rounds=1,
    warmup=0.1,
    duration=0.3,
    max_duration=1.0,
    starts=1,
    profile_s=2,
    profile_http=False,
    oneshot_reps={"socat": 8, "mastod": 3, "other": 2},
    start_baseline_reps=2,
)


@dataclass
class Server:
    """Something the load clients call: a mastod daemon or the minimal proxy."""

    key: str
    pid: int
    endpoints: dict[str, str]


@dataclass
class Context:
    mode: Mode
    procs: Processes
    workdir: Path
    env: dict[str, str]  # for every Python process we start: bytecode cached
    upstream_url: str = ""
    upstream_pid: int = 0
    servers: dict[str, Server] = field(default_factory=dict)
    daemons: dict[str, Daemon] = field(default_factory=dict)
    worker: Worker | None = None
    profile: bool = True  # py-spy where a suite profiles (off with --no-profile)

    def serve_daemon(self, name: str, level: str, env: dict[str, str] | None = None) -> Daemon:
        """Start a daemon on the upstream at `level` (in `env`, default the run's) and add it
        to the servers the load clients can call."""
        daemon = start_daemon(
            self.procs,
            self.workdir / name,
            self.upstream_url,
            level=level,
            name=name,
            env=self.env if env is None else env,
        )
        self.daemons[name] = daemon
        self.servers[name] = Server(name, daemon.pid, daemon.endpoints())
        return daemon

    def our_pids(self) -> list[int]:
        pids = [os.getpid(), self.upstream_pid, *(s.pid for s in self.servers.values())]
        if self.worker is not None:
            pids.append(self.worker.proc.pid)
        return [p for p in pids if p]


# -- the load-client worker -----------------------------------------------------------------


class Worker:
    """A helper process driven over its stdin/stdout (by default the load clients,
    bench.clients): one JSON command in, one JSON answer out."""

    def __init__(
        self, ctx: Context, module: str = "bench.clients", args: tuple[str, ...] = ()
    ) -> None:
        self.proc = ctx.procs.spawn(
            module.rsplit(".", 1)[-1],
            [sys.executable, "-m", module, *args],
            env=ctx.env,
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=None,
            text=True,
        )

    def run(self, command: dict[str, Any], timeout: float) -> dict[str, Any]:
        self.send(command)
        return self.receive(timeout)

    def send(self, command: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()

    def receive(self, timeout: float) -> dict[str, Any]:
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            raise TimeoutError(f"the load clients did not answer within {timeout:.0f}s")
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the load-client process exited")
        answer: dict[str, Any] = json.loads(line)
        return answer


# -- start-up ------------------------------------------------------------------------------


def python_env() -> dict[str, str]:
    """The environment of every Python process we start. Bytecode is cached under
    PYCACHE: this checkout is an editable install and PYTHONDONTWRITEBYTECODE may be set,
    so without it each start would recompile mastod (the as-is case is measured apart)."""
    env = clean_env(dict(os.environ), {"PYTHONPYCACHEPREFIX": str(PYCACHE)})
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return env


def prime_bytecode(env: dict[str, str]) -> None:
    modules = "mastod.app, mastod.daemon, mastod.cli, bench.clients, bench.upstream, mastodon"
    subprocess.run([sys.executable, "-c", f"import {modules}"], env=env, check=True, cwd=ROOT)


def start_upstream(ctx: Context) -> None:
    proc = ctx.procs.spawn(
        "upstream",
        [sys.executable, "-m", "bench.upstream"],
        env=ctx.env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], 30)
    line = proc.stdout.readline() if ready else ""
    if not line.startswith("PORT "):
        raise RuntimeError(f"the upstream did not start: {line!r}")
    ctx.upstream_url = f"http://127.0.0.1:{int(line.split()[1])}"
    ctx.upstream_pid = proc.pid


@contextlib.contextmanager
def running(mode: Mode, *, profile: bool = True) -> Iterator[Context]:
    """A run's context: a temporary directory, the upstream started, bytecode primed; every
    process started in it is stopped when the block ends."""
    env = python_env()
    with (
        tempfile.TemporaryDirectory(prefix="mastod-bench-") as tmp,
        Processes().scope() as procs,
    ):
        ctx = Context(mode=mode, procs=procs, workdir=Path(tmp), env=env, profile=profile)
        prime_bytecode(env)
        start_upstream(ctx)
        yield ctx


def start_proxy(ctx: Context) -> Server:
    socket_path = ctx.workdir / "proxy.sock"
    port = free_port()
    proc = ctx.procs.spawn(
        "proxy",
        [
            sys.executable,
            "-m",
            "bench.proxy",
            "--upstream",
            ctx.upstream_url,
            "--socket",
            str(socket_path),
            "--port",
            str(port),
            "--token",
            "proxy-token",
        ],
        env=ctx.env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], 30)
    if not ready or proc.stdout.readline().strip() != "READY":
        raise RuntimeError("the minimal proxy did not start")
    endpoints = {
        "socket": str(socket_path),
        "http_url": f"http://127.0.0.1:{port}",
        "rpc_token": "proxy-token",
    }
    return Server("proxy", proc.pid, endpoints)


def as_is_env() -> dict[str, str]:
    """The environment as this checkout runs mastod: no bytecode cache of ours."""
    env = clean_env(dict(os.environ))
    env.pop("PYTHONPYCACHEPREFIX", None)
    return env
