"""Configuration: immutable dataclasses, loaded from YAML and validated once at start.

The dataclasses below are the contract every other module reads. Loading and validation
(`load_config`) turn a YAML document into them or raise `ConfigError` naming the dotted key.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

NotificationSource = Literal["auto", "push", "streaming", "none"]
PushPolicy = Literal["all", "followed", "follower", "none"]
LogFormat = Literal["auto", "console", "json"]
LogLevel = Literal["debug", "info", "warning", "error"]

DEFAULT_NOTIFICATION_TYPES: tuple[str, ...] = (
    "mention",
    "status",
    "reblog",
    "follow",
    "follow_request",
    "favourite",
    "poll",
    "update",
)


def _runtime_dir() -> Path:
    """Where the socket goes by default: systemd's RuntimeDirectory for root, else the user's."""
    if os.geteuid() == 0 or os.access("/run/mastod", os.W_OK):
        return Path("/run/mastod")
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg:
        return Path(xdg) / "mastod"
    return Path(f"/tmp/mastod-{os.getuid()}")  # noqa: S108 - private 0700 dir, per user


def _state_dir() -> Path:
    if os.geteuid() == 0:
        return Path("/var/lib/mastod")
    xdg = os.environ.get("XDG_STATE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".local" / "state") / "mastod"


def default_socket_path() -> Path:
    return _runtime_dir() / "mastod.sock"


def socket_candidates() -> tuple[Path, ...]:
    """Sockets a client tries, in order, when neither --socket nor a config names one."""
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    paths = [Path("/run/mastod/mastod.sock")]
    if xdg:
        paths.append(Path(xdg) / "mastod" / "mastod.sock")
    paths.append(Path(f"/tmp/mastod-{os.getuid()}/mastod.sock"))  # noqa: S108
    return tuple(paths)


@dataclass(frozen=True, slots=True)
class MastodonConfig:
    base_url: str
    access_token: str | None = field(default=None, repr=False)
    access_token_file: Path | None = None
    timeout: float = 30.0  # seconds, whole request
    connect_timeout: float = 10.0
    max_retries: int = 3  # idempotent requests only, on 502/503/504 and connection errors
    rate_limit_max_wait: float = 60.0  # on 429, wait for X-RateLimit-Reset when it is this close
    media_poll_timeout: float = 60.0  # upload_media: how long to wait for 202 -> 200
    media_poll_interval: float = 1.0
    max_sessions: int = 8  # pooled client sessions for per-call base_url/access_token overrides


@dataclass(frozen=True, slots=True)
class HttpConfig:
    host: str = "127.0.0.1"
    port: int = 8765


@dataclass(frozen=True, slots=True)
class RpcConfig:
    unix_socket: Path | None = field(default_factory=default_socket_path)  # None: no socket
    http: HttpConfig | None = field(default_factory=HttpConfig)  # None: no HTTP/WS listener
    token_file: Path = field(default_factory=lambda: _state_dir() / "rpc.token")
    require_token: bool = True
    allowed_hosts: tuple[str, ...] = ()  # Host names accepted besides loopback ones
    max_frame_bytes: int = 1024 * 1024
    shutdown_grace: float = 10.0  # seconds in-flight calls get on SIGTERM


@dataclass(frozen=True, slots=True)
class NotificationsConfig:
    source: NotificationSource = "auto"
    types: tuple[str, ...] = DEFAULT_NOTIFICATION_TYPES
    policy: PushPolicy = "all"
    queue_size: int = 1000  # per subscriber, before it gets a `dropped` marker


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    host: str = "127.0.0.1"
    port: int = 8766
    public_url: str | None = None
    max_body_bytes: int = 64 * 1024
    unsubscribe_on_exit: bool = False


@dataclass(frozen=True, slots=True)
class NgrokConfig:
    auth_token: str | None = field(default=None, repr=False)
    region: str | None = None


@dataclass(frozen=True, slots=True)
class LogConfig:
    level: LogLevel = "info"
    format: LogFormat = "auto"


@dataclass(frozen=True, slots=True)
class Config:
    mastodon: MastodonConfig
    rpc: RpcConfig = field(default_factory=RpcConfig)
    notifications: NotificationsConfig = field(default_factory=NotificationsConfig)
    webhook: WebhookConfig = field(default_factory=WebhookConfig)
    ngrok: NgrokConfig = field(default_factory=NgrokConfig)
    state_dir: Path = field(default_factory=_state_dir)
    log: LogConfig = field(default_factory=LogConfig)


class ConfigError(Exception):
    """A config value is wrong: `key` is the dotted path (`rpc.http.port`), `reason` why."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"{key}: {reason}" if key else reason)
        self.key = key
        self.reason = reason
