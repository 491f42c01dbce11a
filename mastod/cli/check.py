"""`mastod check-config`: validate the config as `serve` would, including the paths it will
create or read, and warn (stderr, exit 0) about set-ups that work but are risky."""

from __future__ import annotations

import argparse
import ipaddress
import os
import stat
import sys
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_CONFIG = 0, 2


def add_parser(sub: Any) -> None:
    check = sub.add_parser(
        "check-config",
        help="validate the config file and exit",
        description="Validate the config as `mastod serve` would (also the files and "
        "directories it will create or read); warnings on stderr do not fail it.",
    )
    check.add_argument("--config", type=Path)
    check.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from mastod.config import ConfigError, default_config_path, load_config

    path = args.config or default_config_path(os.environ)
    try:
        config = load_config(path)
        problem = path_problem(config)
    except ConfigError as exc:
        # a message with no key (unreadable file, YAML error) names the file already
        print(f"mastod: {path}: {exc}" if exc.key else f"mastod: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    if problem is not None:
        print(f"mastod: {path}: {problem}", file=sys.stderr)
        return EXIT_CONFIG
    for warning in warnings(config, path):
        print(f"mastod: warning: {warning}", file=sys.stderr)
    print(f"{path}: ok")
    return EXIT_OK


def path_problem(config: Any) -> str | None:
    """The first path `serve` would fail to create or read, as `key: reason`, or None."""
    rpc = config.rpc
    checks: list[tuple[str, Path, bool]] = [("state_dir", config.state_dir, True)]
    if rpc.unix_socket is not None:
        checks.append(("rpc.unix_socket", rpc.unix_socket.parent, True))
    if rpc.http is not None and rpc.require_token:
        checks.append(("rpc.token_file", rpc.token_file, False))
    for key, where, is_dir in checks:
        reason = _unusable(where, is_dir=is_dir)
        if reason is not None:
            return f"{key}: {reason}"
    return None


def _unusable(path: Path, *, is_dir: bool) -> str | None:
    """Why this user could not use `path` (a directory to write in, or a file to read or
    create), or None."""
    if path.exists():
        if is_dir:
            if not path.is_dir():
                return f"{path} is not a directory"
            if not os.access(path, os.W_OK | os.X_OK):
                return f"cannot write in {path}: Permission denied"
            return None
        if not os.access(path, os.R_OK):
            return f"cannot read {path}: Permission denied"
        return None
    # Missing: serve creates it, so the nearest existing ancestor must be a writable directory.
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                return f"cannot create {path}: {parent} is not a directory"
            if not os.access(parent, os.W_OK | os.X_OK):
                return f"cannot create {path}: Permission denied in {parent}"
            return None
    return None


def warnings(config: Any, path: Path) -> list[str]:
    rpc = config.rpc
    found = []
    if config.mastodon.access_token is None:
        found.append(
            "no access token (mastodon.access_token_file, $MASTOD_ACCESS_TOKEN or the "
            "credential mastodon-access-token): only public endpoints will work; "
            "`mastod init` gets one"
        )
    if rpc.http is not None and not _loopback(rpc.http.host):
        found.append(
            f"rpc.http.host is {rpc.http.host!r}, not loopback: other machines can reach "
            "the RPC listener (anyone with the token has full use of the account)"
        )
    if rpc.http is not None and not rpc.require_token:
        found.append(
            "rpc.require_token is false: every local user and process can use the account over HTTP"
        )
    inline = _inline_secrets(path)
    if inline and _readable_by_others(path):
        found.append(
            f"{path} holds {' and '.join(inline)} and other users can read it "
            f"(chmod 600 it, or move the token to a file: access_token_file)"
        )
    return found


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _inline_secrets(path: Path) -> list[str]:
    import yaml

    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return []
    found = []
    for section, key in (("mastodon", "access_token"), ("ngrok", "auth_token")):
        block = doc.get(section) if isinstance(doc, dict) else None
        if isinstance(block, dict) and isinstance(block.get(key), str) and block[key].strip():
            found.append(f"{section}.{key}")
    return found


def _readable_by_others(path: Path) -> bool:
    try:
        return bool(stat.S_IMODE(path.stat().st_mode) & 0o004)
    except OSError:
        return False
