"""The configuration's shape: immutable dataclasses every other module reads, their defaults,
and the per-field checks the loader applies (`mastod.config.loader`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from mastod.net import normalize_url
from mastod.paths import default_socket_path, default_state_dir

NotificationSource = Literal["auto", "push", "streaming", "none"]
PushPolicy = Literal["all", "followed", "follower", "none"]
LogFormat = Literal["auto", "console", "json"]
LogLevel = Literal["debug", "info", "warning", "error"]
Visibility = Literal["public", "unlisted", "private", "direct"]

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


# Mastodon's Notification::TYPES (app/models/notification.rb, 4.5); `notifications.types` and
# push alerts accept these.
NOTIFICATION_TYPES: frozenset[str] = frozenset(
    {
        *DEFAULT_NOTIFICATION_TYPES,
        "severed_relationships",
        "moderation_warning",
        "annual_report",
        "admin.sign_up",
        "admin.report",
        "quote",
        "quoted_update",
        "added_to_collection",
        "collection_update",
    }
)

# Field metadata read by the generic validator: numbers must be positive unless "min"/"max"
# (inclusive) say otherwise; "check" normalises a value or raises ValueError(reason).
_PORT: Mapping[str, Any] = {"min": 1, "max": 65535}
_NON_NEGATIVE: Mapping[str, Any] = {"min": 0}


def _check_base_url(value: str) -> str:
    return normalize_url(value, allow_path=False)


def _check_public_url(value: str) -> str:
    return normalize_url(value, allow_path=True)


def _check_types(value: tuple[str, ...]) -> tuple[str, ...]:
    for name in value:
        if name not in NOTIFICATION_TYPES:
            known = ", ".join(sorted(NOTIFICATION_TYPES))
            raise ValueError(f"unknown notification type {name!r} (expected some of: {known})")
    if not value:
        raise ValueError("must list at least one type (or set notifications.source: none)")
    return tuple(dict.fromkeys(value))


def _check_absolute(value: tuple[Path, ...]) -> tuple[Path, ...]:
    for path in value:
        if not path.is_absolute():
            raise ValueError(f"{str(path)[:80]!r} is not an absolute path")
    return value


@dataclass(frozen=True, slots=True)
class MastodonConfig:
    base_url: str = field(metadata={"check": _check_base_url})
    access_token: str | None = field(default=None, repr=False)
    access_token_file: Path | None = None
    timeout: float = 30.0  # seconds, whole request
    connect_timeout: float = 10.0
    # idempotent requests only, on 502/503/504 and connection errors
    max_retries: int = field(default=3, metadata=_NON_NEGATIVE)
    # on 429, wait for X-RateLimit-Reset when it is this close
    rate_limit_max_wait: float = field(default=60.0, metadata=_NON_NEGATIVE)
    media_poll_timeout: float = 60.0  # upload_media: how long to wait for 202 -> 200
    media_poll_interval: float = 1.0
    max_sessions: int = 8  # pooled client sessions for per-call base_url/access_token overrides


@dataclass(frozen=True, slots=True)
class HttpConfig:
    host: str = "127.0.0.1"
    port: int = field(default=8765, metadata=_PORT)
    read_timeout: float = 10.0  # seconds a request's headers and body may take to arrive


@dataclass(frozen=True, slots=True)
class RpcConfig:
    unix_socket: Path | None = field(default_factory=default_socket_path)  # None: no socket
    http: HttpConfig | None = field(default_factory=HttpConfig)  # None: no HTTP/WS listener
    token_file: Path = field(default_factory=lambda: default_state_dir() / "rpc.token")
    require_token: bool = True
    allowed_hosts: tuple[str, ...] = ()  # Host names accepted besides loopback ones
    max_frame_bytes: int = 1024 * 1024  # calls with inline media: plus their base64 content
    max_batch: int = 100  # calls in one batch frame
    shutdown_grace: float = 10.0  # seconds in-flight calls get on SIGTERM


@dataclass(frozen=True, slots=True)
class RetentionConfig:
    max_rows: int = 10_000  # notifications kept in the log (the newest by id)
    max_age: float | None = 30 * 24 * 3600.0  # seconds one is kept; None: no age limit


@dataclass(frozen=True, slots=True)
class NotificationsConfig:
    source: NotificationSource = "auto"
    types: tuple[str, ...] = field(
        default=DEFAULT_NOTIFICATION_TYPES, metadata={"check": _check_types}
    )
    policy: PushPolicy = "all"
    queue_size: int = 1000  # per subscriber, before it gets a `dropped` marker
    retention: RetentionConfig = field(default_factory=RetentionConfig)
    sweep_interval: float = 300.0  # seconds between re-reads of the newest page


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    host: str = "127.0.0.1"
    port: int = field(default=8766, metadata=_PORT)
    public_url: str | None = field(default=None, metadata={"check": _check_public_url})
    max_body_bytes: int = 64 * 1024
    unsubscribe_on_exit: bool = False
    read_timeout: float = 10.0  # seconds a push's headers and body may take to arrive
    max_connections: int = 256  # open at once; more are closed as soon as they are accepted
    # seconds our clock and the instance's may disagree by, either way, before a push's VAPID
    # `exp` is called out of range (such a push still triggers a catch-up)
    clock_skew: float = field(default=300.0, metadata=_NON_NEGATIVE)


@dataclass(frozen=True, slots=True)
class NgrokConfig:
    auth_token: str | None = field(default=None, repr=False)
    auth_token_file: Path | None = None
    region: str | None = None


def _check_mqtt_url(value: str) -> str:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise ValueError("must be an mqtt:// or mqtts:// URL") from None
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise ValueError("must be an mqtt:// or mqtts:// URL with a host, like mqtt://localhost")
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not contain credentials (use mqtt.username, mqtt.password_file)")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError("must be only scheme, host and port")
    return f"{parts.scheme}://{parts.netloc}"


def _check_topic_prefix(value: str) -> str:
    if any(c in value for c in "+#\0") or value.startswith("/") or value.endswith("/"):
        raise ValueError("must be a topic without wildcards (+, #) or a leading/trailing /")
    return value


@dataclass(frozen=True, slots=True)
class MqttTlsConfig:
    ca_file: Path | None = None  # None: the system's certificate authorities
    verify: bool = True  # check the broker's certificate and host name


@dataclass(frozen=True, slots=True)
class MqttConfig:
    url: str = field(default="mqtt://localhost:1883", metadata={"check": _check_mqtt_url})
    username: str | None = None
    password_file: Path | None = None
    # resolved by the loader from password_file, $MASTOD_MQTT_PASSWORD or the credential
    password: str | None = field(default=None, repr=False)
    client_id: str | None = None  # None: mastod-<host name>-<topic_prefix>
    topic_prefix: str = field(default="mastod", metadata={"check": _check_topic_prefix})
    qos: int = field(default=1, metadata={"min": 0, "max": 2})
    tls: MqttTlsConfig = field(default_factory=MqttTlsConfig)  # used with mqtts://
    discovery: bool = True  # Home Assistant MQTT discovery
    discovery_prefix: str = field(default="homeassistant", metadata={"check": _check_topic_prefix})
    notify_visibility: Visibility = "unlisted"  # of statuses posted by the notify entity


@dataclass(frozen=True, slots=True)
class MediaConfig:
    # Directories whose files a caller may name in file parameters; empty: inline content only.
    upload_dirs: tuple[Path, ...] = field(default=(), metadata={"check": _check_absolute})
    max_bytes: int = 100 * 1024 * 1024  # decoded size of one file parameter


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
    media: MediaConfig = field(default_factory=MediaConfig)
    state_dir: Path = field(default_factory=default_state_dir)
    log: LogConfig = field(default_factory=LogConfig)
    mqtt: MqttConfig | None = None  # the MQTT bridge, off by default


class ConfigError(Exception):
    """A config value is wrong: `key` is the dotted path (`rpc.http.port`), `reason` why."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"{key}: {reason}" if key else reason)
        self.key = key
        self.reason = reason
