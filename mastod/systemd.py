"""systemd integration without libsystemd: sd_notify(3), the watchdog, sd_listen_fds(3).

Every function is a no-op (or returns nothing) outside systemd, so the daemon calls them
unconditionally.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import socket
import time
from collections.abc import Mapping, MutableMapping

from mastod.logs import get_logger

log = get_logger(__name__)

SD_LISTEN_FDS_START = 3


class Notifier:
    """Sends sd_notify datagrams to `$NOTIFY_SOCKET` (a path, or `@name` for an abstract one)."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self._env: Mapping[str, str] = os.environ if env is None else env
        address = self._env.get("NOTIFY_SOCKET", "")
        if address.startswith("@"):
            address = "\0" + address[1:]
        elif address and not address.startswith("/"):
            log.warning("unsupported NOTIFY_SOCKET, not notifying systemd", address=address)
            address = ""
        self._address = address or None
        self._socket: socket.socket | None = None

    @property
    def enabled(self) -> bool:
        return self._address is not None

    def notify(self, *assignments: str) -> bool:
        """Send `VAR=value` lines in one datagram; False if not under systemd or it failed."""
        if self._address is None:
            return False
        try:
            if self._socket is None:
                self._socket = socket.socket(
                    socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC
                )
                # the manager drains its socket promptly; never hang the event loop on it
                self._socket.settimeout(1.0)
            self._socket.sendto("\n".join(assignments).encode(), self._address)
        except OSError as exc:
            log.warning("cannot notify systemd", error=str(exc))
            return False
        return True

    def ready(self, status: str | None = None) -> bool:
        """Startup is finished: listening, notifications source started."""
        return self.notify("READY=1", *([f"STATUS={status}"] if status else []))

    def reloading(self) -> bool:
        """A reload began; `ready()` says it is over. systemd wants the monotonic time with it."""
        usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        return self.notify("RELOADING=1", f"MONOTONIC_USEC={usec}")

    def stopping(self, status: str | None = None) -> bool:
        return self.notify("STOPPING=1", *([f"STATUS={status}"] if status else []))

    def status(self, text: str) -> bool:
        """Free-form status shown by `systemctl status`."""
        return self.notify(f"STATUS={text}")

    def watchdog(self) -> bool:
        return self.notify("WATCHDOG=1")

    def watchdog_interval(self) -> float | None:
        return watchdog_interval(self._env)

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None


def watchdog_interval(env: Mapping[str, str] | None = None) -> float | None:
    """Seconds between watchdog pings (half of `WatchdogSec=`), or None if not requested."""
    env = os.environ if env is None else env
    try:
        usec = int(env.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    if usec <= 0:
        return None
    pid = env.get("WATCHDOG_PID")
    if pid is not None and pid.strip() != str(os.getpid()):
        return None  # meant for another process (we were forked or exec'd by it)
    return usec / 2_000_000


async def watchdog_loop(notifier: Notifier, interval: float) -> None:
    """Ping the watchdog every `interval` seconds until cancelled.

    Running on the event loop is the point: if the loop stalls, pings stop and systemd
    restarts the daemon.
    """
    while True:
        notifier.watchdog()
        await asyncio.sleep(interval)


def listen_fds(
    env: MutableMapping[str, str] | None = None,
    *,
    start: int = SD_LISTEN_FDS_START,
    unset_environment: bool = True,
) -> list[int]:
    """File descriptors passed by socket activation (`LISTEN_FDS`), each made close-on-exec.

    As sd_listen_fds(3): only when `LISTEN_PID` is our pid; the variables are removed so that
    child processes do not take the sockets for theirs.
    """
    env = os.environ if env is None else env
    pid, count = env.get("LISTEN_PID", ""), env.get("LISTEN_FDS", "")
    if unset_environment:
        for name in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"):
            env.pop(name, None)
    if not pid or pid.strip() != str(os.getpid()):
        return []
    try:
        number = int(count)
    except ValueError:
        return []
    fds = list(range(start, start + max(number, 0)))
    for fd in fds:
        flags = fcntl.fcntl(fd, fcntl.F_GETFD)
        fcntl.fcntl(fd, fcntl.F_SETFD, flags | fcntl.FD_CLOEXEC)
    return fds
