"""Start `python -m mastod serve` as a subprocess with a generated YAML config pointing at the
local upstream, and wait for systemd's READY=1 on a NOTIFY_SOCKET datagram socket we own."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bench.fixtures import ACCESS_TOKEN
from bench.procs import Processes

READY_TIMEOUT = 30.0


class DaemonFailed(RuntimeError):
    """The daemon exited or never said READY=1; the message ends with its log's tail."""


@dataclass
class Daemon:
    name: str
    proc: subprocess.Popen[Any]
    socket_path: Path
    http_url: str
    rpc_token: str
    log_path: Path
    ready_s: float  # from just before the exec to READY=1

    @property
    def pid(self) -> int:
        return self.proc.pid

    def endpoints(self) -> dict[str, str]:
        """What a load client needs to reach this daemon."""
        return {
            "socket": str(self.socket_path),
            "http_url": self.http_url,
            "rpc_token": self.rpc_token,
        }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config(
    workdir: Path, upstream_url: str, level: str, extra: dict[str, Any] | None = None
) -> Path:
    """The daemon's YAML; `extra` is merged over it (a suite that needs notifications, say)."""
    workdir.mkdir(parents=True, exist_ok=True)
    token_file = workdir / "access-token"
    token_file.write_text(ACCESS_TOKEN + "\n")
    token_file.chmod(0o600)
    state = workdir / "state"
    doc = {
        "mastodon": {"base_url": upstream_url, "access_token_file": str(token_file)},
        "rpc": {
            "unix_socket": str(workdir / "run" / "mastod.sock"),
            "http": {"host": "127.0.0.1", "port": free_port()},
            "token_file": str(state / "rpc.token"),
            "shutdown_grace": 2.0,
        },
        "notifications": {"source": "none"},
        "state_dir": str(state),
        "log": {"level": level, "format": "json"},
    }
    doc = _merge(doc, extra or {})
    path = workdir / "mastod.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def clean_env(base: dict[str, str], extra: dict[str, str] | None = None) -> dict[str, str]:
    """`base` without anything that would make mastod read another config or socket."""
    env = {
        k: v
        for k, v in base.items()
        if k not in ("MASTOD_CONFIG", "MASTOD_ACCESS_TOKEN", "NOTIFY_SOCKET")
        and not k.startswith(("LISTEN_", "WATCHDOG_"))
    }
    env.update(extra or {})
    return env


def start_daemon(
    procs: Processes,
    workdir: Path,
    upstream_url: str,
    *,
    level: str,
    name: str,
    env: dict[str, str] | None = None,
    extra_config: dict[str, Any] | None = None,
) -> Daemon:
    """Start a daemon in `workdir` and return once it has sent READY=1 (else DaemonFailed).

    `env` is the environment to run it in (default: ours), cleaned of mastod's variables.
    """
    config = write_config(workdir, upstream_url, level, extra_config)
    doc = yaml.safe_load(config.read_text())
    notify_path = workdir / "notify.sock"
    notify_path.unlink(missing_ok=True)
    log_path = workdir / "daemon.log"
    with (
        socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify,
        log_path.open("ab") as log,
    ):
        notify.bind(str(notify_path))
        started = time.perf_counter()
        proc = procs.spawn(
            name,
            [
                sys.executable,
                "-m",
                "mastod",
                "serve",
                "--config",
                str(config),
            ],
            env=clean_env(
                dict(os.environ) if env is None else env, {"NOTIFY_SOCKET": str(notify_path)}
            ),
            cwd=workdir,
            stderr=log,
        )
        ready_s = _wait_ready(notify, proc, started, log_path)
    http = doc["rpc"]["http"]
    token_file = Path(doc["rpc"]["token_file"])
    return Daemon(
        name=name,
        proc=proc,
        socket_path=Path(doc["rpc"]["unix_socket"]),
        http_url=f"http://{http['host']}:{http['port']}",
        rpc_token=token_file.read_text().strip(),
        log_path=log_path,
        ready_s=ready_s,
    )


def _wait_ready(
    notify: socket.socket, proc: subprocess.Popen[Any], started: float, log_path: Path
) -> float:
    deadline = started + READY_TIMEOUT
    notify.settimeout(0.05)
    while time.perf_counter() < deadline:
        try:
            data = notify.recv(4096)
        except TimeoutError:
            if proc.poll() is not None:
                raise DaemonFailed(
                    f"daemon exited with {proc.returncode} before READY=1: {_tail(log_path)}"
                ) from None
            continue
        if b"READY=1" in data.split(b"\n"):
            return time.perf_counter() - started
    raise DaemonFailed(f"no READY=1 within {READY_TIMEOUT}s: {_tail(log_path)}")


def _tail(path: Path, lines: int = 5) -> str:
    try:
        return " | ".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
