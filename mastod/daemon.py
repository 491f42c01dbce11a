"""`mastod serve`: load and check the config, set up logging and secrets, run the daemon
(optionally against the in-process sandbox instance), and turn start-up failures into one
line on stderr and an exit code."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import resource
import signal
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from mastod.config import (
    Config,
    ConfigError,
    default_config_path,
    default_state_dir,
    load_config,
    load_or_create_rpc_token,
)
from mastod.logs import configure_logging, get_logger
from mastod.push.errors import PushSetupError
from mastod.redaction import register_secret

log = get_logger(__name__)

EXIT_OK, EXIT_ERROR, EXIT_CONFIG = 0, 1, 2
FD_LIMIT = 65536  # open files the daemon asks for: ~1,000 subscribers and clients with room
_SANDBOX_PLACEHOLDER = "http://127.0.0.1"  # replaced by the sandbox's URL once it listens


def run(*, config_path: Path | None, sandbox: bool) -> int:
    if not sandbox:
        return _run(config_path, None)
    # The sandbox forgets everything when it stops, so its notification log, push keys and
    # RPC token must not outlive it (nor mix with a real instance's): all of them go in a
    # private temporary directory, and nothing is written elsewhere (but the socket).
    with tempfile.TemporaryDirectory(prefix="mastod-sandbox-") as scratch:
        return _run(config_path, Path(scratch))


def _run(config_path: Path | None, scratch: Path | None) -> int:
    try:
        config = _load(config_path, scratch)
    except ConfigError as exc:
        print(f"mastod: config: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    configure_logging(config.log.level, config.log.format)
    for secret in (config.mastodon.access_token, config.ngrok.auth_token):
        if secret:
            register_secret(secret)
    try:
        rpc_token = None
        if config.rpc.http is not None and config.rpc.require_token:
            rpc_token = load_or_create_rpc_token(config.rpc.token_file)
            register_secret(rpc_token)
    except ConfigError as exc:
        print(f"mastod: config: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    raise_fd_limit()
    # Until the event loop handles it, a SIGHUP (a reload) must not kill the daemon.
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        asyncio.run(
            _serve(config, rpc_token, scratch is not None, lambda: _load(config_path, scratch))
        )
    except (OSError, RuntimeError, PushSetupError) as exc:
        log.error("daemon.failed", error=str(exc))
        print(f"mastod: {exc}", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK


def raise_fd_limit(wanted: int = FD_LIMIT) -> int:
    """Raise the soft limit on open files towards `wanted` (never past the hard limit); the
    soft limit now. Each subscriber and client holds a descriptor, and systemd starts
    services with a soft limit of 1024 (the hard one is far higher), as most shells do."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError) as exc:
            log.warning("daemon.fd_limit_unchanged", soft=soft, wanted=target, error=str(exc))
            return soft
        log.info("daemon.fd_limit_raised", old=soft, new=target)
        return target
    return soft


def _load(config_path: Path | None, scratch: Path | None) -> Config:
    if scratch is None:
        return load_config(config_path or default_config_path(os.environ))
    from mastod.sandbox import OWNER_TOKEN

    explicit = config_path or (
        Path(os.environ["MASTOD_CONFIG"]) if os.environ.get("MASTOD_CONFIG") else None
    )
    overrides = {
        "mastodon": {
            "base_url": _SANDBOX_PLACEHOLDER,
            "access_token": OWNER_TOKEN,
            "access_token_file": None,
        },
        "state_dir": str(scratch),
    }
    config = load_config(explicit, overrides=overrides)
    if config.rpc.token_file == default_state_dir() / "rpc.token":  # not chosen by the user
        rpc = dataclasses.replace(config.rpc, token_file=scratch / "rpc.token")
        config = dataclasses.replace(config, rpc=rpc)
    return config


async def _serve(
    config: Config, rpc_token: str | None, sandbox: bool, reload: Callable[[], Config]
) -> None:
    from mastod.app import serve

    if not sandbox:
        await serve(config, rpc_token=rpc_token, reload=reload)
        return
    from mastod.sandbox import start_sandbox

    instance = await start_sandbox()
    log.info("sandbox.started", url=instance.url, rpc_token_file=str(config.rpc.token_file))
    try:

        def sandboxed(loaded: Config) -> Config:
            mastodon = dataclasses.replace(loaded.mastodon, base_url=instance.url)
            webhook = loaded.webhook
            if webhook.public_url is None:
                # The sandbox pushes to loopback, so the whole Web Push pipeline runs offline.
                public = f"http://{webhook.host}:{webhook.port}"
                webhook = dataclasses.replace(webhook, public_url=public)
            return dataclasses.replace(loaded, mastodon=mastodon, webhook=webhook)

        await serve(sandboxed(config), rpc_token=rpc_token, reload=lambda: sandboxed(reload()))
    finally:
        await instance.close()
