"""Configuration: immutable dataclasses (`model`), loaded from YAML and validated once at
start (`loader`). Every other module imports from here."""

from __future__ import annotations

from mastod.config.loader import load_config, load_or_create_rpc_token
from mastod.config.model import (
    DEFAULT_NOTIFICATION_TYPES,
    NOTIFICATION_TYPES,
    Config,
    ConfigError,
    HttpConfig,
    LogConfig,
    LogFormat,
    LogLevel,
    MastodonConfig,
    MediaConfig,
    MqttConfig,
    MqttTlsConfig,
    NgrokConfig,
    NotificationsConfig,
    NotificationSource,
    PushPolicy,
    RpcConfig,
    WebhookConfig,
)
from mastod.paths import (
    default_config_path,
    default_socket_path,
    default_state_dir,
    socket_candidates,
)

__all__ = [
    "DEFAULT_NOTIFICATION_TYPES",
    "NOTIFICATION_TYPES",
    "Config",
    "ConfigError",
    "HttpConfig",
    "LogConfig",
    "LogFormat",
    "LogLevel",
    "MastodonConfig",
    "MediaConfig",
    "MqttConfig",
    "MqttTlsConfig",
    "NgrokConfig",
    "NotificationSource",
    "NotificationsConfig",
    "PushPolicy",
    "RpcConfig",
    "WebhookConfig",
    "default_config_path",
    "default_socket_path",
    "default_state_dir",
    "load_config",
    "load_or_create_rpc_token",
    "socket_candidates",
]
