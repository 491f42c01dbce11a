"""The `mqtt` config section: validation with dotted keys, and the password's three sources,
mode-checked like the token files and never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from mastod.config import ConfigError, load_config

BASE = {"mastodon": {"base_url": "https://mastodon.example"}}
SECRET = "mqtt-pass-9d2e71"


def load(mqtt: object, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return load_config(None, env=env or {}, overrides={**BASE, "mqtt": mqtt})


def failure(mqtt: object, env: dict[str, str] | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load(mqtt, env)
    assert SECRET not in str(info.value)
    return info.value


def test_off_by_default_and_defaults_when_on() -> None:
    assert load_config(None, env={}, overrides=BASE).mqtt is None
    config = load({}).mqtt
    assert config is not None
    assert (config.url, config.topic_prefix, config.qos) == ("mqtt://localhost:1883", "mastod", 1)
    assert (config.discovery, config.discovery_prefix) == (True, "homeassistant")
    assert config.notify_visibility == "unlisted"
    assert config.tls.verify is True
    assert config.password is None


@pytest.mark.parametrize(
    ("mqtt", "key", "reason"),
    [
        ({"url": "http://broker"}, "mqtt.url", "mqtt:// or mqtts://"),
        ({"url": "mqtt://u:p@broker"}, "mqtt.url", "credentials"),
        ({"url": "mqtt://broker/path"}, "mqtt.url", "only scheme, host and port"),
        ({"qos": 3}, "mqtt.qos", "0-2"),
        ({"topic_prefix": "home/#"}, "mqtt.topic_prefix", "wildcards"),
        ({"topic_prefix": "/mastod"}, "mqtt.topic_prefix", "leading"),
        ({"discovery_prefix": "ha/+"}, "mqtt.discovery_prefix", "wildcards"),
        ({"notify_visibility": "secret"}, "mqtt.notify_visibility", "unlisted"),
        ({"tls": {"verify": "no"}}, "mqtt.tls.verify", "true or false"),
        ({"password": SECRET}, "mqtt.password", "password_file"),
        ({"port": 1883}, "mqtt.port", "unknown key"),
        ({"tls": {"ca_file": "/nonexistent/ca.pem"}}, "mqtt.tls.ca_file", "cannot read"),
    ],
)
def test_bad_values_name_their_key(mqtt: dict[str, object], key: str, reason: str) -> None:
    error = failure(mqtt)
    assert error.key == key
    assert reason in error.reason


def test_password_file_is_mode_checked(tmp_path: Path) -> None:
    secret = tmp_path / "mqtt.password"
    secret.write_text(SECRET + "\n")
    secret.chmod(0o644)
    error = failure({"username": "mastod", "password_file": str(secret)})
    assert error.key == "mqtt.password_file"
    assert "readable by other users" in error.reason
    secret.chmod(0o640)
    config = load({"username": "mastod", "password_file": str(secret)}).mqtt
    assert config is not None
    assert config.password == SECRET
    assert SECRET not in repr(config)
    assert failure({"password_file": str(secret)}).key == "mqtt.username"


def test_password_from_environment_or_credential(tmp_path: Path) -> None:
    env = {"MASTOD_MQTT_PASSWORD": SECRET}
    config = load({"username": "mastod"}, env).mqtt
    assert config is not None
    assert config.password == SECRET
    assert load({}, env).mqtt.password is None  # type: ignore[union-attr] - no user: no password
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "mqtt-password").write_text(SECRET)
    (credentials / "mqtt-password").chmod(0o600)
    config = load({"username": "mastod"}, {"CREDENTIALS_DIRECTORY": str(credentials)}).mqtt
    assert config is not None
    assert config.password == SECRET
