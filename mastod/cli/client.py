"""What `call` and `listen` share: finding the daemon's socket, connecting, and saying in one
line why a connection failed. Standard library only (PyYAML when a config names the socket):
shell scripts run these commands many times."""

from __future__ import annotations

import argparse
import grp
import os
import socket
import stat
from pathlib import Path

from mastod.paths import default_config_path, default_socket_path, profile_socket, socket_candidates


def socket_args(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--socket", type=Path, help="the daemon's Unix socket")
    where.add_argument("--config", type=Path, help="find the socket in this config file")
    where.add_argument(
        "--profile",
        metavar="NAME",
        help="the daemon of the template unit mastod@NAME (socket /run/mastod/NAME.sock)",
    )


def socket_path(args: argparse.Namespace) -> Path:
    """--socket, else --profile's, else the config's `rpc.unix_socket` (when that socket
    exists), else the first socket a daemon is listening on among the default places."""
    if args.socket is not None:
        return Path(args.socket)
    if args.profile is not None:
        return profile_socket(args.profile)
    from_config = _socket_from_config(args.config or default_config_path(os.environ))
    if from_config is not None and (args.config is not None or _is_socket(from_config)):
        return from_config
    for candidate in socket_candidates():
        if _is_socket(candidate):
            return candidate
    return from_config or default_socket_path()


def _is_socket(path: Path) -> bool:
    try:
        return stat.S_ISSOCK(path.stat().st_mode)
    except OSError:
        return False


def _socket_from_config(path: Path) -> Path | None:
    """`rpc.unix_socket` from a config file, read without validating (or reading) the rest."""
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError):
        return None
    import yaml

    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    rpc = doc.get("rpc") if isinstance(doc, dict) else None
    value = rpc.get("unix_socket") if isinstance(rpc, dict) else None
    return Path(value).expanduser() if isinstance(value, str) else None


def connect(path: Path, timeout: float | None) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(str(path))
    except OSError:
        sock.close()
        raise
    return sock


def connect_error(path: Path, exc: OSError) -> str:
    """One line saying why `path` could not be reached and what to do about it."""
    if isinstance(exc, PermissionError):
        group = _group_of(path)
        join = f"the group {group!r}" if group else "the daemon's group"
        return (
            f"permission denied on {path}: only members of {join} may use the daemon "
            f"(sudo usermod -aG {group or 'mastod'} $USER, then log in again)"
        )
    if isinstance(exc, FileNotFoundError | ConnectionRefusedError):
        return f"no daemon listening on {path} (is `mastod serve` running?)"
    if isinstance(exc, TimeoutError):
        return f"no answer from {path} in time"
    return f"cannot talk to {path}: {exc.strerror or exc}"


def _group_of(path: Path) -> str | None:
    """The group that may use the socket: its own, else that of the first directory on the
    way to it that this user cannot enter."""
    for candidate in (path, *path.parents):
        try:
            gid = candidate.stat().st_gid
        except OSError:
            continue
        try:
            return grp.getgrgid(gid).gr_name
        except KeyError:
            return str(gid)
    return None


def read_line(sock: socket.socket) -> bytes:
    chunks: list[bytes] = []
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionResetError(0, "connection closed before the answer")
        newline = chunk.find(b"\n")
        if newline >= 0:
            chunks.append(chunk[:newline])
            return b"".join(chunks)
        chunks.append(chunk)


class StdoutClosed(Exception):
    """The reader of our stdout has gone (`| head`): no error, stop quietly."""


def print_line(text: str) -> None:
    try:
        print(text, flush=True)
    except BrokenPipeError:
        raise StdoutClosed from None


def silence_stdout() -> None:
    """Keep the interpreter from complaining about a closed pipe when it flushes at exit."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
