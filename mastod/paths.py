"""Default places of the socket and the state, in the standard library only: `mastod call`
reads them on every run and must start fast."""

from __future__ import annotations

import os
from pathlib import Path


def _runtime_dir() -> Path:
    """Where the socket goes by default: systemd's RuntimeDirectory for root, else the user's."""
    if os.geteuid() == 0 or os.access("/run/mastod", os.W_OK):
        return Path("/run/mastod")
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg:
        return Path(xdg) / "mastod"
    return Path(f"/tmp/mastod-{os.getuid()}")  # noqa: S108 - private 0700 dir, per user


def default_state_dir() -> Path:
    """Where state goes by default: systemd's StateDirectory for root, else the user's."""
    if os.geteuid() == 0:
        return Path("/var/lib/mastod")
    xdg = os.environ.get("XDG_STATE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".local" / "state") / "mastod"


def default_socket_path() -> Path:
    return _runtime_dir() / "mastod.sock"


def socket_candidates() -> tuple[Path, ...]:
    """Sockets a client tries, in order, when neither --socket nor a config names one."""
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    paths = [Path("/run/mastod/mastod.sock"), Path("/run/mastod.sock")]  # service, .socket unit
    if xdg:
        paths.append(Path(xdg) / "mastod" / "mastod.sock")
    paths.append(Path(f"/tmp/mastod-{os.getuid()}/mastod.sock"))  # noqa: S108
    return tuple(paths)
