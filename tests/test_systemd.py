from __future__ import annotations

import asyncio
import fcntl
import os
import secrets
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from mastod.systemd import Notifier, listen_fds, watchdog_interval, watchdog_loop

SYSTEMD = Path(__file__).resolve().parent.parent / "systemd"
UNIT = SYSTEMD / "mastod.service"


@pytest.fixture
def manager(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[socket.socket]:
    """A stand-in for systemd: a datagram socket named by NOTIFY_SOCKET."""
    path = tmp_path / "notify"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(2)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    yield sock
    sock.close()


def received(sock: socket.socket) -> bytes:
    return sock.recv(4096)


def test_datagrams_are_exact(manager: socket.socket) -> None:
    notifier = Notifier()
    assert notifier.enabled
    assert notifier.ready()
    assert received(manager) == b"READY=1"
    assert notifier.ready("listening on /run/mastod/mastod.sock")
    assert received(manager) == b"READY=1\nSTATUS=listening on /run/mastod/mastod.sock"
    assert notifier.status("streaming reconnecting")
    assert received(manager) == b"STATUS=streaming reconnecting"
    assert notifier.watchdog()
    assert received(manager) == b"WATCHDOG=1"
    assert notifier.reloading()
    reloading = received(manager).split(b"\n")
    assert reloading[0] == b"RELOADING=1"
    assert reloading[1].startswith(b"MONOTONIC_USEC=")
    assert int(reloading[1].partition(b"=")[2]) > 0
    assert notifier.stopping()
    assert received(manager) == b"STOPPING=1"
    assert notifier.stopping("draining 2 calls")
    assert received(manager) == b"STOPPING=1\nSTATUS=draining 2 calls"
    notifier.close()


def test_abstract_socket_name() -> None:
    name = "mastod-test-" + secrets.token_hex(8)
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(2)
        notifier = Notifier({"NOTIFY_SOCKET": "@" + name})
        assert notifier.ready("up")
        assert received(sock) == b"READY=1\nSTATUS=up"
        notifier.close()


def test_no_notify_socket_means_no_op(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    notifier = Notifier()
    assert not notifier.enabled
    assert notifier.ready() is False
    assert notifier.watchdog() is False
    assert Notifier({"NOTIFY_SOCKET": ""}).ready() is False


def test_unsupported_address_is_ignored() -> None:
    notifier = Notifier({"NOTIFY_SOCKET": "vsock:2:1234"})
    assert not notifier.enabled
    assert notifier.ready() is False


def test_vanished_manager_does_not_raise(tmp_path: Path) -> None:
    notifier = Notifier({"NOTIFY_SOCKET": str(tmp_path / "gone")})
    assert notifier.enabled
    assert notifier.ready() is False
    notifier.close()


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"WATCHDOG_USEC": "30000000"}, 15.0),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}, 15.0),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid() + 1)}, None),
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "-5"}, None),
        ({"WATCHDOG_USEC": "soon"}, None),
        ({"WATCHDOG_PID": str(os.getpid())}, None),
        ({}, None),
    ],
)
def test_watchdog_interval(env: dict[str, str], expected: float | None) -> None:
    assert watchdog_interval(env) == expected
    assert Notifier(env).watchdog_interval() == expected


async def test_watchdog_loop_pings_until_cancelled(manager: socket.socket) -> None:
    notifier = Notifier()
    manager.setblocking(False)
    loop = asyncio.get_running_loop()
    task = asyncio.create_task(watchdog_loop(notifier, 0.01))
    pings = [await asyncio.wait_for(loop.sock_recv(manager, 64), 2) for _ in range(4)]
    assert pings == [b"WATCHDOG=1"] * 4
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(0.05)
    with pytest.raises(BlockingIOError):
        manager.recv(64)  # nothing more once cancelled
    notifier.close()


# --- socket activation ----------------------------------------------------------------------


@pytest.fixture
def passed_fds() -> Iterator[tuple[int, list[socket.socket]]]:
    """Two real sockets dup'd onto consecutive fds, as systemd would pass them from fd 3."""
    pairs = [socket.socketpair() for _ in range(2)]
    start = 200
    while any(_is_open(fd) for fd in (start, start + 1)):
        start += 2
    for offset, (ours, _) in enumerate(pairs):
        os.dup2(ours.fileno(), start + offset, inheritable=True)
    yield start, [peer for _, peer in pairs]
    for offset in range(2):
        os.close(start + offset)
    for a, b in pairs:
        a.close()
        b.close()


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def test_listen_fds(passed_fds: tuple[int, list[socket.socket]]) -> None:
    start, peers = passed_fds
    env = {"LISTEN_PID": str(os.getpid()), "LISTEN_FDS": "2", "LISTEN_FDNAMES": "rpc:other"}
    fds = listen_fds(env, start=start)
    assert fds == [start, start + 1]
    assert env == {}  # unset, as sd_listen_fds does
    for fd in fds:
        assert fcntl.fcntl(fd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC
    # they are the real sockets: bytes written to one come out of its peer
    os.write(fds[1], b"hi")
    assert peers[1].recv(2) == b"hi"


@pytest.mark.parametrize(
    "env",
    [
        {"LISTEN_PID": "1", "LISTEN_FDS": "2"},
        {"LISTEN_FDS": "2"},
        {"LISTEN_PID": str(os.getpid()), "LISTEN_FDS": "two"},
        {"LISTEN_PID": str(os.getpid()), "LISTEN_FDS": "0"},
        {},
    ],
)
def test_listen_fds_not_for_us(env: dict[str, str]) -> None:
    assert listen_fds(env, start=10_000) == []
    assert "LISTEN_FDS" not in env
    assert "LISTEN_PID" not in env


def test_listen_fds_can_keep_the_environment() -> None:
    env = {"LISTEN_PID": "1", "LISTEN_FDS": "1"}
    assert listen_fds(env, unset_environment=False) == []
    assert env == {"LISTEN_PID": "1", "LISTEN_FDS": "1"}


def test_listen_fds_defaults_to_fd_3(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LISTEN_PID", "1")  # not us: nothing is touched but the variables
    monkeypatch.setenv("LISTEN_FDS", "1")
    assert listen_fds() == []
    assert "LISTEN_FDS" not in os.environ


# --- the unit file --------------------------------------------------------------------------


def unit_directives(unit: Path = UNIT) -> dict[str, list[str]]:
    """`Key=value` lines of the unit, by key (a key may repeat)."""
    directives: dict[str, list[str]] = {}
    for raw in unit.read_text().splitlines():
        line = raw.strip()
        if line and not line.startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            directives.setdefault(key.strip(), []).append(value.strip())
    return directives


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("Type", "notify"),
        ("NotifyAccess", "main"),
        ("ExecStart", "/opt/mastod/bin/mastod serve --config /etc/mastod/mastod.yaml"),
        ("ExecReload", "kill -HUP $MAINPID"),
        ("WatchdogSec", "30"),
        ("Restart", "on-failure"),
        ("TimeoutStopSec", "20"),
        ("User", "mastod"),
        ("Group", "mastod"),
        ("RuntimeDirectory", "mastod"),
        ("RuntimeDirectoryMode", "0750"),
        ("StateDirectory", "mastod"),
        ("StateDirectoryMode", "0700"),
        ("UMask", "0027"),
        ("LoadCredential", "mastodon-access-token:/etc/mastod/access-token"),
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("PrivateDevices", "yes"),
        ("ProtectKernelTunables", "yes"),
        ("ProtectKernelModules", "yes"),
        ("ProtectKernelLogs", "yes"),
        ("ProtectControlGroups", "yes"),
        ("ProtectClock", "yes"),
        ("ProtectHostname", "yes"),
        ("RestrictAddressFamilies", "AF_UNIX AF_INET AF_INET6"),
        ("RestrictNamespaces", "yes"),
        ("LockPersonality", "yes"),
        ("MemoryDenyWriteExecute", "yes"),
        ("RestrictRealtime", "yes"),
        ("RestrictSUIDSGID", "yes"),
        ("SystemCallFilter", "@system-service"),
        ("SystemCallArchitectures", "native"),
        ("CapabilityBoundingSet", ""),
        ("WantedBy", "multi-user.target"),
    ],
)
def test_unit_has_directive(key: str, value: str) -> None:
    assert unit_directives().get(key) == [value]


def test_unit_has_no_dynamic_user_alongside_user() -> None:
    assert "DynamicUser" not in unit_directives()


# --- the template unit: one daemon per account --------------------------------------------------

PER_INSTANCE = {
    "Description": ["mastod %i - scriptable Mastodon account (JSON-RPC and notifications)"],
    "ExecStart": ["/opt/mastod/bin/mastod serve --config /etc/mastod/%i.yaml"],
    "ExecReload": ["kill -HUP $MAINPID"],
    "RuntimeDirectoryPreserve": ["yes"],  # /run/mastod is shared by the instances
    "StateDirectory": ["mastod/%i"],
    "LoadCredential": ["mastodon-access-token:/etc/mastod/%i.access-token"],
}


def test_template_unit_is_the_service_per_instance() -> None:
    """Everything else (type, watchdog, user, hardening) is the single unit's, so the two
    cannot drift apart."""
    template = unit_directives(SYSTEMD / "mastod@.service")
    single = unit_directives()
    assert {k: template.get(k) for k in PER_INSTANCE} == PER_INSTANCE
    shared = {k: v for k, v in template.items() if k not in PER_INSTANCE}
    assert shared == {k: v for k, v in single.items() if k not in PER_INSTANCE}


def test_template_socket_is_the_instances_socket() -> None:
    socket_unit = unit_directives(SYSTEMD / "mastod@.socket")
    assert socket_unit["ListenStream"] == ["/run/mastod/%i.sock"]
    assert socket_unit["SocketMode"] == ["0660"]
    assert socket_unit["SocketGroup"] == ["mastod"]
    assert socket_unit["Accept"] == ["no"]
