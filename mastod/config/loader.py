"""Loading the configuration: YAML (plus overrides) in, a validated frozen `Config` out, or a
`ConfigError` naming the dotted key. Validation is generic, driven by the dataclasses' type
hints and field metadata, so a new field needs no new validation code. Secrets (access token,
ngrok token, RPC token) are resolved here and never appear in an error.
"""

from __future__ import annotations

import dataclasses
import math
import os
import secrets
import stat
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from mastod import hints
from mastod.config.model import Config, ConfigError, MqttConfig
from mastod.hints import DATACLASS, Hint, dataclass_fields


def load_config(
    path: Path | None,
    *,
    env: Mapping[str, str] = os.environ,
    overrides: Mapping[str, Any] | None = None,
) -> Config:
    """Read, validate and freeze the config; `overrides` are merged over the file first.

    With `path=None` no file is read: the document is `overrides` alone (`serve --sandbox`).
    The access token comes from `mastodon.access_token`, else `mastodon.access_token_file`,
    else `$MASTOD_ACCESS_TOKEN`, else the systemd credential `mastodon-access-token`, else
    none (public endpoints only). The ngrok token likewise from `ngrok.auth_token`, else
    `ngrok.auth_token_file`, else `$NGROK_AUTHTOKEN`, else the credential `ngrok-auth-token`.
    """
    document = _read_yaml(path) if path is not None else {}
    if overrides:
        document = _merge(document, overrides)
    config: Config = _build(Config, document, "")
    if config.rpc.unix_socket is None and config.rpc.http is None:
        raise ConfigError("rpc", "unix_socket and http are both null: no way to reach the daemon")
    mastodon = config.mastodon
    if mastodon.access_token is not None and mastodon.access_token_file is not None:
        raise ConfigError(
            "mastodon.access_token_file", "set access_token or access_token_file, not both"
        )
    if mastodon.access_token is None:
        if mastodon.access_token_file is not None:
            token = _read_secret(mastodon.access_token_file, "mastodon.access_token_file", 0o004)
        else:
            token = _env_secret(
                env, "MASTOD_ACCESS_TOKEN", "mastodon-access-token", "mastodon.access_token"
            )
        mastodon = dataclasses.replace(mastodon, access_token=token)
    ngrok = config.ngrok
    if ngrok.auth_token is not None and ngrok.auth_token_file is not None:
        raise ConfigError("ngrok.auth_token_file", "set auth_token or auth_token_file, not both")
    if ngrok.auth_token is None:
        if ngrok.auth_token_file is not None:
            token = _read_secret(ngrok.auth_token_file, "ngrok.auth_token_file", 0o004)
        else:
            token = _env_secret(env, "NGROK_AUTHTOKEN", "ngrok-auth-token", "ngrok.auth_token")
        ngrok = dataclasses.replace(ngrok, auth_token=token)
    return dataclasses.replace(config, mastodon=mastodon, ngrok=ngrok, mqtt=_mqtt(config, env))


def _mqtt(config: Config, env: Mapping[str, str]) -> MqttConfig | None:
    """The `mqtt` section with its password resolved: `mqtt.password_file`, else
    `$MASTOD_MQTT_PASSWORD`, else the systemd credential `mqtt-password`."""
    mqtt = config.mqtt
    if mqtt is None:
        return None
    if mqtt.password is not None:
        raise ConfigError("mqtt.password", "put the password in mqtt.password_file")
    ca_file = mqtt.tls.ca_file
    if ca_file is not None and not os.access(ca_file, os.R_OK):
        raise ConfigError("mqtt.tls.ca_file", f"cannot read {_text(ca_file)}")
    if mqtt.password_file is not None:
        if mqtt.username is None:
            raise ConfigError("mqtt.username", "required with mqtt.password_file")
        password = _read_secret(mqtt.password_file, "mqtt.password_file", 0o004)
    elif mqtt.username is not None:
        password = _env_secret(env, "MASTOD_MQTT_PASSWORD", "mqtt-password", "mqtt.password")
    else:
        password = None  # MQTT sends no password without a user name
    return dataclasses.replace(mqtt, password=password)


def load_or_create_rpc_token(path: Path) -> str:
    """The HTTP/WebSocket bearer token: read from `path`, or generated and stored there 0600."""
    existing = _read_secret(path, "rpc.token_file", 0o044, missing_ok=True)
    if existing is not None:
        return existing
    token = secrets.token_urlsafe(32)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}")
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as file:
                file.write(token + "\n")
                file.flush()
                os.fsync(file.fileno())
            # link() publishes the complete file under its name, and never over another one
            os.link(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)
    except FileExistsError:  # another process created it first: use theirs
        existing = _read_secret(path, "rpc.token_file", 0o044)
        assert existing is not None
        return existing
    except OSError as exc:
        raise ConfigError(
            "rpc.token_file", f"cannot create {_text(path)}: {_reason(exc)}"
        ) from None
    return token


def _read_yaml(path: Path) -> dict[str, Any]:
    import yaml  # here, not at the top: `mastod call` imports this package and needs no YAML

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError("", f"cannot read {_text(path)}: {_reason(exc)}") from None
    try:
        document = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        # problem and mark only: str(exc) quotes the offending line, which may hold a token
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ConfigError(
            "", f"{_text(path)}: {where}invalid YAML: {exc.problem or exc.context}"
        ) from None
    except RecursionError:
        raise ConfigError("", f"{_text(path)}: invalid YAML: nested too deep") from None
    except Exception:
        # quote the value (a token), so none of it is shown
        raise ConfigError(
            "", f"{_text(path)}: invalid YAML (a value does not fit its tag)"
        ) from None
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise ConfigError(
            "", f"{_text(path)}: the top level must be a mapping, got {_show(document)}"
        )
    return document


def _merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        old = merged.get(key)
        if isinstance(old, Mapping) and isinstance(value, Mapping):
            value = _merge(old, value)
        merged[key] = value
    return merged


def _build(cls: Any, data: object, key: str) -> Any:
    """A `cls` instance from a mapping, every field converted and checked by its type hint."""
    if not isinstance(data, Mapping):
        raise ConfigError(key, f"must be a mapping, got {_show(data)}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for name in data:
        if name not in fields:
            expected = ", ".join(fields)
            raise ConfigError(
                _join(key, _text(str(name))), f"unknown key (expected one of: {expected})"
            )
    values = {}
    field_hints = dataclass_fields(cls)
    for f in fields.values():
        sub = _join(key, f.name)
        if f.name not in data:
            if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING:
                continue
            if field_hints[f.name].kind != DATACLASS:
                raise ConfigError(sub, "required")
            data = {**data, f.name: {}}  # a missing section: report its first missing key
        value = _convert(field_hints[f.name], data[f.name], sub, secret=not f.repr)
        values[f.name] = None if value is None else _check(f, value, sub)
    return cls(**values)


_KINDS: Mapping[str, str] = {
    hints.BOOL: "true or false",
    hints.INT: "an integer",
    hints.FLOAT: "a number",
    hints.STR: "a string",
    hints.PATH: "a path",
    hints.ARRAY: "a list",
}


def _convert(hint: Hint, value: object, key: str, *, secret: bool, nullable: bool = False) -> Any:
    kind = hint.kind
    if kind == hints.UNION:
        if value is None:
            return None
        inner = next(arg for arg in hint.args if arg.kind != hints.NULL)
        return _convert(inner, value, key, secret=secret, nullable=True)
    if kind == hints.LITERAL:
        if isinstance(value, str) and value in hint.values:
            return value
        raise ConfigError(key, f"must be one of {', '.join(hint.values)}")
    if kind == DATACLASS:
        return _build(hint.tp, value, key)
    if isinstance(value, str) and kind in (hints.STR, hints.PATH):
        if not value.strip():
            raise ConfigError(key, "must not be empty")
        if kind == hints.STR:
            return value.strip()
        if "\0" in value:
            raise ConfigError(key, "must not contain a NUL character")
        try:
            return Path(value.strip()).expanduser()
        except RuntimeError:  # ~user for a user that does not exist
            raise ConfigError(key, f"cannot expand {_show(value)}: no such user") from None
    if isinstance(value, bool):
        if kind == hints.BOOL:
            return value
    elif kind == hints.INT and isinstance(value, int):
        return value
    elif kind == hints.FLOAT and isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:
            raise ConfigError(key, "is too large") from None
        if math.isfinite(number):
            return number
    if kind == hints.ARRAY and hint.origin is tuple and isinstance(value, list | tuple):
        item = hint.args[0]
        return tuple(_convert(item, v, f"{key}[{i}]", secret=secret) for i, v in enumerate(value))
    shown = _KINDS.get(kind, str(hint.tp)) + (" or null" if nullable else "")
    got = type(value).__name__ if secret else _show(value)
    raise ConfigError(key, f"must be {shown}, got {got}")


def _check(f: dataclasses.Field[Any], value: Any, key: str) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        low, high = f.metadata.get("min"), f.metadata.get("max")
        if low is None and value <= 0:
            raise ConfigError(key, "must be positive")
        if low is not None and high is not None and not low <= value <= high:
            raise ConfigError(key, f"must be {low}-{high}")
        if low is not None and value < low:
            raise ConfigError(key, f"must be at least {low}")
    check: Callable[[Any], Any] | None = f.metadata.get("check")
    if check is None:
        return value
    try:
        return check(value)
    except ValueError as exc:
        raise ConfigError(key, str(exc)) from None


def _read_secret(path: Path, key: str, forbidden: int, *, missing_ok: bool = False) -> str | None:
    """A token file's stripped text; refused if its mode has any `forbidden` bit."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        if missing_ok:
            return None
        raise ConfigError(key, f"cannot read {_text(path)}: No such file or directory") from None
    except OSError as exc:
        raise ConfigError(key, f"cannot read {_text(path)}: {_reason(exc)}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError(key, f"cannot read {_text(path)}: not a regular file")
        if info.st_uid not in (os.geteuid(), 0):
            # whoever owns it can change the token (or read it, whatever the mode says)
            raise ConfigError(
                key,
                f"{_text(path)} is owned by another user (uid {info.st_uid}); it must belong "
                "to the user mastod runs as (or root)",
            )
        if stat.S_IMODE(info.st_mode) & forbidden:
            who = "other users" if forbidden == 0o004 else "group or other users"
            raise ConfigError(key, f"{_text(path)} is readable by {who} (chmod 600 it)")
        text = os.read(fd, 1 << 16).decode("utf-8").strip()  # a token, not a document
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(key, f"cannot read {_text(path)}: {_reason(exc)}") from None
    finally:
        os.close(fd)
    if not text:
        raise ConfigError(key, f"cannot read {_text(path)}: the file is empty")
    return text


def _env_secret(env: Mapping[str, str], variable: str, credential: str, key: str) -> str | None:
    """`$variable`, else the systemd credential (LoadCredential=) of that name, else None."""
    value = env.get(variable, "").strip()
    if value:
        return value
    directory = env.get("CREDENTIALS_DIRECTORY")
    if not directory:
        return None
    return _read_secret(Path(directory) / credential, key, 0o004, missing_ok=True)


def _reason(exc: Exception) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return "not UTF-8 text"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return type(exc).__name__


def _show(value: object) -> str:
    """A short, YAML-flavoured description of a (non-secret) value for an error message."""
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:37] + "...")
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "a list"
    return "a mapping" if isinstance(value, Mapping) else type(value).__name__


def _text(value: object) -> str:
    """`value` as text that stays on one line (a line break in a name or path is escaped)."""
    text = str(value)
    return text if text.isprintable() else repr(text)[1:-1]


def _join(key: str, name: str) -> str:
    return f"{key}.{name}" if key else name
