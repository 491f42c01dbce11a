"""Default places of the socket and the state, in the standard library only: `mastod call`
reads them on every run and must start fast."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

_PROFILE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def _runtime_dir() -> Path:
    """Where the socket goes by default: /run/mastod for root; the unit's runtime directory
    for the service user (systemd sets $RUNTIME_DIRECTORY from RuntimeDirectory=); else the
    user's own. Not "whatever /run/mastod we can write to": a user merely in its group, or a
    user namespace that maps root, must not take the service's socket path."""
    if os.geteuid() == 0:
        return Path("/run/mastod")
    service = os.environ.get("RUNTIME_DIRECTORY", "").split(":")[0]
    if service:
        return Path(service)
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


def profile_socket(name: str) -> Path:
    """The socket of the template unit `mastod@NAME` (its `RuntimeDirectory` is shared)."""
    if not _PROFILE.fullmatch(name) or ".." in name:
        raise ValueError(f"invalid profile name {name!r} (letters, digits, '_', '.', '-')")
    return Path("/run/mastod") / f"{name}.sock"


def user_config_path(env: Mapping[str, str] = os.environ) -> Path:
    """Where `mastod init` puts the config: /etc/mastod for root (the systemd unit reads it
    there), else the user's XDG config directory."""
    if os.geteuid() == 0:
        return Path("/etc/mastod/mastod.yaml")
    xdg = env.get("XDG_CONFIG_HOME", "").strip()
    base = Path(xdg) if xdg else Path(env.get("HOME") or Path.home()) / ".config"
    return base / "mastod" / "mastod.yaml"


def default_config_path(env: Mapping[str, str] = os.environ) -> Path:
    """`$MASTOD_CONFIG`, else `./config/mastod.yaml`, else the one `mastod init` wrote when
    only that exists."""
    configured = env.get("MASTOD_CONFIG", "").strip()
    if configured:
        return Path(configured).expanduser()
    local = Path("config") / "mastod.yaml"
    if not _exists(local):
        written = user_config_path(env)
        if _exists(written):
            return written
    return local


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:  # a directory on the way this user may not enter
        return False
