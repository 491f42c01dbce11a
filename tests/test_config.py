from __future__ import annotations

import dataclasses
import os
import re
import stat
import typing
from pathlib import Path
from typing import Any

import pytest
import yaml

from mastod.config import (
    DEFAULT_NOTIFICATION_TYPES,
    NOTIFICATION_TYPES,
    Config,
    ConfigError,
    HttpConfig,
    MqttConfig,
    default_config_path,
    load_config,
    load_or_create_rpc_token,
)

EXAMPLE = Path(__file__).resolve().parent.parent / "config" / "mastod.example.yaml"
BASE = "mastodon:\n  base_url: https://mastodon.example\n"
SECRET = "tok-3f9a1c77e2b54d0e8a6b"  # never to be seen in a message or repr


def write(tmp_path: Path, text: str, name: str = "mastod.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def load(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> Config:
    return load_config(write(tmp_path, text), env=env or {})


def error(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, text, env)
    return info.value


def secret_file(tmp_path: Path, content: str = SECRET + "\n", mode: int = 0o600) -> Path:
    path = tmp_path / "access-token"
    path.write_text(content)
    path.chmod(mode)
    return path


# --- defaults and structure ---------------------------------------------------------------


def test_minimal_config_gets_every_default(tmp_path: Path) -> None:
    config = load(tmp_path, BASE)
    assert config == Config(mastodon=config.mastodon)
    assert config.mastodon.base_url == "https://mastodon.example"
    assert config.mastodon.access_token is None
    assert config.rpc.http == HttpConfig(host="127.0.0.1", port=8765)
    assert config.notifications.types == DEFAULT_NOTIFICATION_TYPES
    assert config.log.format == "auto"


def test_empty_file_lacks_only_base_url(tmp_path: Path) -> None:
    exc = error(tmp_path, "")
    assert str(exc) == "mastodon.base_url: required"
    assert exc.key == "mastodon.base_url"


def test_empty_section_lacks_base_url(tmp_path: Path) -> None:
    assert str(error(tmp_path, "mastodon: {}\n")) == "mastodon.base_url: required"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (BASE + "rpc:\n  htp: {}\n", "rpc.htp: unknown key (expected one of: unix_socket, http,"),
        (
            BASE + "rpc:\n  http: {prot: 1}\n",
            "rpc.http.prot: unknown key (expected one of: host, port, read_timeout)",
        ),
        (BASE + "colour: blue\n", "colour: unknown key (expected one of: mastodon, rpc,"),
        (BASE + "rpc:\n  http: {port: abc}\n", "rpc.http.port: must be an integer, got 'abc'"),
        (BASE + "rpc:\n  http: {port: 8765.5}\n", "rpc.http.port: must be an integer, got 8765.5"),
        (BASE + "rpc:\n  http: {port: true}\n", "rpc.http.port: must be an integer, got true"),
        (BASE + "rpc:\n  http: {port: 0}\n", "rpc.http.port: must be 1-65535"),
        (BASE + "webhook:\n  port: 65536\n", "webhook.port: must be 1-65535"),
        (BASE + "rpc:\n  http: 8765\n", "rpc.http: must be a mapping, got 8765"),
        (
            BASE + "rpc:\n  require_token: 'yes'\n",
            "rpc.require_token: must be true or false, got 'yes'",
        ),
        (BASE + "rpc:\n  unix_socket: 5\n", "rpc.unix_socket: must be a path or null, got 5"),
        (BASE + "rpc:\n  token_file: null\n", "rpc.token_file: must be a path, got null"),
        (BASE + "rpc:\n  token_file: ''\n", "rpc.token_file: must not be empty"),
        (
            BASE + "rpc:\n  allowed_hosts: [a.example, 3]\n",
            "rpc.allowed_hosts[1]: must be a string, got 3",
        ),
        (
            BASE + "rpc:\n  allowed_hosts: a.example\n",
            "rpc.allowed_hosts: must be a list, got 'a.example'",
        ),
        (BASE + "rpc:\n  max_frame_bytes: 0\n", "rpc.max_frame_bytes: must be positive"),
        (BASE + "rpc:\n  shutdown_grace: -1\n", "rpc.shutdown_grace: must be positive"),
        (BASE + "rpc:\n  shutdown_grace: .nan\n", "rpc.shutdown_grace: must be a number, got nan"),
        (BASE + "  timeout: 0\n", "mastodon.timeout: must be positive"),
        (BASE + "  max_retries: -1\n", "mastodon.max_retries: must be at least 0"),
        (BASE + "notifications:\n  queue_size: 0\n", "notifications.queue_size: must be positive"),
        (
            BASE + "notifications:\n  retention: {max_rows: 0}\n",
            "notifications.retention.max_rows: must be positive",
        ),
        (
            BASE + "notifications:\n  retention: {max_age: -1}\n",
            "notifications.retention.max_age: must be positive",
        ),
        (BASE + "webhook:\n  max_body_bytes: -5\n", "webhook.max_body_bytes: must be positive"),
        (
            BASE + "notifications:\n  source: pull\n",
            "notifications.source: must be one of auto, push, streaming, none",
        ),
        (
            BASE + "notifications:\n  policy: [all]\n",
            "notifications.policy: must be one of all, followed, follower, none",
        ),
        (BASE + "log:\n  level: trace\n", "log.level: must be one of debug, info, warning, error"),
        (BASE + "log:\n  format: xml\n", "log.format: must be one of auto, console, json"),
        (BASE + "ngrok: []\n", "ngrok: must be a mapping, got a list"),
        ("mastodon: null\n", "mastodon: must be a mapping, got null"),
        ("mastodon:\n  base_url: null\n", "mastodon.base_url: must be a string, got null"),
    ],
)
def test_rejected_value_names_dotted_key(tmp_path: Path, text: str, message: str) -> None:
    exc = error(tmp_path, text)
    assert str(exc).startswith(message)
    assert str(exc) == f"{exc.key}: {exc.reason}"
    assert "\n" not in str(exc)


def test_zero_is_allowed_where_it_means_never(tmp_path: Path) -> None:
    config = load(tmp_path, BASE + "  max_retries: 0\n  rate_limit_max_wait: 0\n")
    assert (config.mastodon.max_retries, config.mastodon.rate_limit_max_wait) == (0, 0.0)


def test_retention_defaults_and_no_age_limit(tmp_path: Path) -> None:
    retention = load(tmp_path, BASE).notifications.retention
    assert (retention.max_rows, retention.max_age) == (10_000, 30 * 24 * 3600.0)
    text = BASE + "notifications:\n  retention: {max_rows: 500, max_age: null}\n"
    retention = load(tmp_path, text).notifications.retention
    assert (retention.max_rows, retention.max_age) == (500, None)


def test_integers_are_accepted_for_floats(tmp_path: Path) -> None:
    config = load(tmp_path, BASE + "  timeout: 5\n")
    assert config.mastodon.timeout == 5.0
    assert isinstance(config.mastodon.timeout, float)


# --- URLs -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "normalised"),
    [
        ("https://mastodon.example", "https://mastodon.example"),
        ("https://mastodon.example/", "https://mastodon.example"),
        ("http://127.0.0.1:3000/", "http://127.0.0.1:3000"),
        ("HTTPS://Mastodon.Example", "https://mastodon.example"),
        ("https://mastodon.example:443/", "https://mastodon.example"),
    ],
)
def test_base_url_is_normalised(tmp_path: Path, url: str, normalised: str) -> None:
    config = load(tmp_path, f"mastodon:\n  base_url: '{url}'\n")
    assert config.mastodon.base_url == normalised


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("mastodon.example", "must be an http(s) URL with a host"),
        ("ftp://mastodon.example", "must be an http(s) URL with a host"),
        ("https://", "must be an http(s) URL with a host"),
        ("https://mastodon.example:99999", "must be an http(s) URL"),
        ("https://mastodon.example/api/v1", "must not have a path"),
        ("https://mastodon.example//", "must not have a path"),
        ("https://mastodon.example/?x=1", "must not have a query or fragment"),
        ("https://mastodon.example?", "must not have a query or fragment"),
        ("https://mastodon.example#top", "must not have a query or fragment"),
        (f"https://me:{SECRET}@mastodon.example", "must not contain credentials"),
    ],
)
def test_bad_base_url(tmp_path: Path, url: str, reason: str) -> None:
    exc = error(tmp_path, f"mastodon:\n  base_url: '{url}'\n")
    assert exc.key == "mastodon.base_url"
    assert exc.reason.startswith(reason)
    assert SECRET not in str(exc)


def test_public_url_may_have_a_path(tmp_path: Path) -> None:
    config = load(tmp_path, BASE + "webhook:\n  public_url: https://proxy.example/mastod/\n")
    assert config.webhook.public_url == "https://proxy.example/mastod"


@pytest.mark.parametrize(
    "url", ["ftp://proxy.example", "proxy.example", "https://proxy.example/?a=b"]
)
def test_bad_public_url(tmp_path: Path, url: str) -> None:
    exc = error(tmp_path, BASE + f"webhook:\n  public_url: '{url}'\n")
    assert exc.key == "webhook.public_url"


# --- notification types and listeners -------------------------------------------------------


def test_every_mastodon_notification_type_is_accepted(tmp_path: Path) -> None:
    types = sorted(NOTIFICATION_TYPES)
    config = load(tmp_path, BASE + f"notifications:\n  types: {types}\n")
    assert config.notifications.types == tuple(types)
    assert {"admin.sign_up", "severed_relationships", "quote", "quoted_update"} <= set(types)


def test_duplicate_notification_types_collapse(tmp_path: Path) -> None:
    config = load(tmp_path, BASE + "notifications:\n  types: [mention, follow, mention]\n")
    assert config.notifications.types == ("mention", "follow")


@pytest.mark.parametrize(
    ("types", "reason"),
    [("[mention, likes]", "unknown notification type 'likes'"), ("[]", "must list at least one")],
)
def test_bad_notification_types(tmp_path: Path, types: str, reason: str) -> None:
    exc = error(tmp_path, BASE + f"notifications:\n  types: {types}\n")
    assert exc.key == "notifications.types"
    assert exc.reason.startswith(reason)


def test_null_disables_one_listener(tmp_path: Path) -> None:
    assert load(tmp_path, BASE + "rpc:\n  http: null\n").rpc.http is None
    assert load(tmp_path, BASE + "rpc:\n  unix_socket: null\n").rpc.unix_socket is None


def test_at_least_one_listener_remains(tmp_path: Path) -> None:
    exc = error(tmp_path, BASE + "rpc:\n  http: null\n  unix_socket: null\n")
    assert exc.key == "rpc"
    assert "no way to reach the daemon" in exc.reason


def test_empty_http_mapping_means_defaults(tmp_path: Path) -> None:
    assert load(tmp_path, BASE + "rpc:\n  http: {}\n").rpc.http == HttpConfig()


def test_paths_expand_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    config = load(tmp_path, BASE + "state_dir: ~/state\nrpc:\n  unix_socket: ~/m.sock\n")
    assert config.state_dir == tmp_path / "home" / "state"
    assert config.rpc.unix_socket == tmp_path / "home" / "m.sock"


# --- the document itself ----------------------------------------------------------------------


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    exc = error(tmp_path, "- mastodon\n")
    assert exc.key == ""
    assert exc.reason.endswith("the top level must be a mapping, got a list")


def test_yaml_syntax_error_gives_line_and_column_only(tmp_path: Path) -> None:
    text = f"mastodon:\n  access_token: {SECRET}\n  base_url: [https://x\nrpc: {{\n"
    exc = error(tmp_path, text)
    assert exc.key == ""
    assert re.fullmatch(r".*mastod\.yaml: line \d+, column \d+: invalid YAML: .+", str(exc))
    assert SECRET not in str(exc)
    assert exc.__cause__ is None
    assert exc.__suppress_context__


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope.yaml", env={})
    assert str(info.value) == f"cannot read {tmp_path / 'nope.yaml'}: No such file or directory"


def test_default_config_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    env = {"XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    assert default_config_path(env) == Path("config/mastod.yaml")
    assert default_config_path({**env, "MASTOD_CONFIG": "/etc/m.yaml"}) == Path("/etc/m.yaml")
    written = tmp_path / "xdg" / "mastod" / "mastod.yaml"  # by `mastod init`
    written.parent.mkdir(parents=True)
    written.write_text("")
    assert default_config_path(env) == written
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "mastod.yaml").write_text("")
    assert default_config_path(env) == Path("config/mastod.yaml")  # the local one comes first


# --- overrides --------------------------------------------------------------------------------


def test_overrides_without_a_file() -> None:
    overrides = {"mastodon": {"base_url": "http://127.0.0.1:9999", "access_token": SECRET}}
    config = load_config(None, env={}, overrides=overrides)
    assert config.mastodon.base_url == "http://127.0.0.1:9999"
    assert config.mastodon.access_token == SECRET


def test_overrides_merge_over_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, BASE + "  timeout: 5\nrpc:\n  http: {port: 9000}\n")
    overrides = {"mastodon": {"base_url": "https://other.example"}, "rpc": {"unix_socket": None}}
    config = load_config(path, env={}, overrides=overrides)
    assert config.mastodon.base_url == "https://other.example"
    assert config.mastodon.timeout == 5.0
    assert config.rpc.http == HttpConfig(port=9000)
    assert config.rpc.unix_socket is None


def test_overrides_are_validated() -> None:
    with pytest.raises(ConfigError, match=r"^mastodon\.base_url: must be an http\(s\) URL"):
        load_config(None, env={}, overrides={"mastodon": {"base_url": "localhost"}})


# --- access token -----------------------------------------------------------------------------


def credentials(tmp_path: Path, token: str) -> str:
    directory = tmp_path / "credentials"
    directory.mkdir()
    (directory / "mastodon-access-token").write_text(token)
    (directory / "mastodon-access-token").chmod(0o400)
    return str(directory)


def test_token_order_inline_first(tmp_path: Path) -> None:
    env = {"MASTOD_ACCESS_TOKEN": "env", "CREDENTIALS_DIRECTORY": credentials(tmp_path, "cred")}
    config = load(tmp_path, BASE + "  access_token: inline\n", env)
    assert config.mastodon.access_token == "inline"


def test_token_order_file_before_environment(tmp_path: Path) -> None:
    env = {"MASTOD_ACCESS_TOKEN": "env", "CREDENTIALS_DIRECTORY": credentials(tmp_path, "cred")}
    path = secret_file(tmp_path, "  from-file \n")
    config = load(tmp_path, BASE + f"  access_token_file: {path}\n", env)
    assert config.mastodon.access_token == "from-file"
    assert config.mastodon.access_token_file == path


def test_token_order_environment_before_credential(tmp_path: Path) -> None:
    env = {"MASTOD_ACCESS_TOKEN": "env", "CREDENTIALS_DIRECTORY": credentials(tmp_path, "cred")}
    assert load(tmp_path, BASE, env).mastodon.access_token == "env"


def test_token_order_credential_last(tmp_path: Path) -> None:
    env = {"MASTOD_ACCESS_TOKEN": "  ", "CREDENTIALS_DIRECTORY": credentials(tmp_path, "cred\n")}
    assert load(tmp_path, BASE, env).mastodon.access_token == "cred"


def test_no_token_anywhere_means_public_only(tmp_path: Path) -> None:
    env = {"CREDENTIALS_DIRECTORY": str(tmp_path)}  # set, but without our credential
    assert load(tmp_path, BASE, env).mastodon.access_token is None


def test_token_and_token_file_together(tmp_path: Path) -> None:
    path = secret_file(tmp_path)
    exc = error(tmp_path, BASE + f"  access_token: {SECRET}x\n  access_token_file: {path}\n")
    assert exc.key == "mastodon.access_token_file"
    assert "not both" in exc.reason


def test_world_readable_token_file_is_refused(tmp_path: Path) -> None:
    path = secret_file(tmp_path, mode=0o644)
    exc = error(tmp_path, BASE + f"  access_token_file: {path}\n")
    assert str(exc) == (
        f"mastodon.access_token_file: {path} is readable by other users (chmod 600 it)"
    )


def test_group_readable_token_file_is_accepted(tmp_path: Path) -> None:
    path = secret_file(tmp_path, mode=0o640)
    assert load(tmp_path, BASE + f"  access_token_file: {path}\n").mastodon.access_token == SECRET


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        ("missing", "No such file or directory"),
        ("empty", "the file is empty"),
        ("directory", "not a regular file"),
        ("binary", "not UTF-8 text"),
    ],
)
def test_unreadable_token_file(tmp_path: Path, setup: str, reason: str) -> None:
    path = tmp_path / "access-token"
    if setup == "empty":
        secret_file(tmp_path, " \n")
    elif setup == "directory":
        path.mkdir(mode=0o700)
    elif setup == "binary":
        path.write_bytes(b"\xff\xfe")
        path.chmod(0o600)
    exc = error(tmp_path, BASE + f"  access_token_file: {path}\n")
    assert str(exc) == f"mastodon.access_token_file: cannot read {path}: {reason}"


def test_ngrok_token_from_environment_then_credential(tmp_path: Path) -> None:
    directory = tmp_path / "credentials"
    directory.mkdir()
    (directory / "ngrok-auth-token").write_text("ngrok-cred")
    (directory / "ngrok-auth-token").chmod(0o400)
    env = {"CREDENTIALS_DIRECTORY": str(directory)}
    assert load(tmp_path, BASE, env).ngrok.auth_token == "ngrok-cred"
    assert load(tmp_path, BASE, {**env, "NGROK_AUTHTOKEN": "ngrok-env"}).ngrok.auth_token == (
        "ngrok-env"
    )
    inline = load(tmp_path, BASE + "ngrok: {auth_token: ngrok-inline}\n", env)
    assert inline.ngrok.auth_token == "ngrok-inline"


@pytest.mark.parametrize(
    "text",
    [
        BASE + f"  access_token: [{SECRET}]\n",
        BASE + f"  access_token: {{value: {SECRET}}}\n",
        BASE + "  access_token: 123456789\n",
        BASE + f"ngrok:\n  auth_token: [{SECRET}]\n",
        BASE + f"  access_token: {SECRET}\n  timeout: 0\n",
        f"mastodon:\n  access_token: {SECRET}\n",
    ],
)
def test_errors_never_show_a_secret(tmp_path: Path, text: str) -> None:
    exc = error(tmp_path, text)
    assert SECRET not in str(exc)
    assert "123456789" not in str(exc)
    assert SECRET not in repr(exc)


def test_repr_never_shows_a_secret(tmp_path: Path) -> None:
    env = {"MASTOD_ACCESS_TOKEN": SECRET, "NGROK_AUTHTOKEN": SECRET + "n"}
    config = load(tmp_path, BASE, env)
    assert config.mastodon.access_token == SECRET
    assert config.ngrok.auth_token == SECRET + "n"
    assert SECRET not in repr(config)
    assert SECRET not in str(config)


# --- RPC token --------------------------------------------------------------------------------


def test_rpc_token_is_created_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "state" / "sub" / "rpc.token"
    token = load_or_create_rpc_token(path)
    assert len(token) >= 43
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert path.read_text().strip() == token
    assert os.listdir(path.parent) == ["rpc.token"]  # no temporary file left behind
    assert load_or_create_rpc_token(path) == token
    assert load_or_create_rpc_token(tmp_path / "other.token") != token


def test_existing_rpc_token_is_read(tmp_path: Path) -> None:
    path = tmp_path / "rpc.token"
    path.write_text("chosen-token\n")
    path.chmod(0o600)
    assert load_or_create_rpc_token(path) == "chosen-token"


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644])
def test_shared_rpc_token_is_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "rpc.token"
    path.write_text(SECRET)
    path.chmod(mode)
    with pytest.raises(ConfigError) as info:
        load_or_create_rpc_token(path)
    assert str(info.value) == (
        f"rpc.token_file: {path} is readable by group or other users (chmod 600 it)"
    )


def test_rpc_token_that_cannot_be_read(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(ConfigError, match=r"^rpc\.token_file: cannot read .*: Not a directory$"):
        load_or_create_rpc_token(tmp_path / "file" / "rpc.token")


def test_rpc_token_that_cannot_be_created(tmp_path: Path) -> None:
    # the name fits, the temporary file's longer name does not: creation fails even for root
    path = tmp_path / ("t" * 250)
    with pytest.raises(
        ConfigError, match=r"^rpc\.token_file: cannot create .*: File name too long$"
    ):
        load_or_create_rpc_token(path)
    assert os.listdir(tmp_path) == []


# --- the example file -------------------------------------------------------------------------


def dotted_fields(cls: Any, prefix: str = "") -> list[str]:
    """Every dotted key of the config dataclasses, sections included."""
    keys = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        key = f"{prefix}{f.name}"
        keys.append(key)
        inner = [t for t in (hints[f.name], *typing.get_args(hints[f.name])) if t is not type(None)]
        section = next((t for t in inner if dataclasses.is_dataclass(t)), None)
        if section is not None and f.default is not None:  # an off-by-default section: below
            keys.extend(dotted_fields(section, key + "."))
    return keys


def test_example_names_every_field() -> None:
    document = yaml.safe_load(EXAMPLE.read_text())
    missing = []
    for key in dotted_fields(Config):
        node: Any = document
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                missing.append(key)
                break
            node = node[part]
    assert missing == []
    assert "rpc.http.port" in dotted_fields(Config)


def test_example_shows_the_mqtt_section_commented_out(tmp_path: Path) -> None:
    lines = EXAMPLE.read_text().splitlines()
    start = lines.index("#mqtt:")
    block = [lines[start]]
    for line in lines[start + 1 :]:
        if not line.startswith("#  "):
            break
        block.append(line)
    section = yaml.safe_load("\n".join(line[1:] for line in block))
    missing = [
        k for k in dotted_fields(MqttConfig) if k != "password" and not _has(section["mqtt"], k)
    ]
    assert missing == []
    config = load(tmp_path, BASE + "\n".join(line[1:] for line in block))
    assert config.mqtt == MqttConfig()


def _has(node: Any, key: str) -> bool:
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def test_example_comments_every_value() -> None:
    lines = EXAMPLE.read_text().splitlines()
    for number, line in enumerate(lines):
        if re.match(r"\s*[a-z_]+:", line):
            assert (
                lines[number - 1].lstrip().startswith("#") or not line.split(":", 1)[1].strip()
            ), f"line {number + 1} has no comment above it: {line!r}"


def test_example_loads_and_matches_the_defaults(tmp_path: Path) -> None:
    example = load_config(EXAMPLE, env={})
    defaults = load(tmp_path, BASE)
    assert example.mastodon.base_url == "https://mastodon.example"
    # paths default per user (root vs not), the example shows the systemd ones
    assert example.state_dir == Path("/var/lib/mastod")
    rpc = dataclasses.replace(
        example.rpc, unix_socket=defaults.rpc.unix_socket, token_file=defaults.rpc.token_file
    )
    assert dataclasses.replace(example, rpc=rpc, state_dir=defaults.state_dir) == defaults
