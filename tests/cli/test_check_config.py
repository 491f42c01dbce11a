"""`mastod check-config` (a real subprocess, as an ordinary user): risky set-ups are warned
about on stderr with exit 0; paths `serve` could not create or read fail it, as serve would."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.cli.conftest import Home, run


def write_config(home: Home, document: dict[str, Any], mode: int = 0o600) -> Path:
    path = home.base / "mastod.yaml"
    path.write_text(yaml.safe_dump(document))
    path.chmod(mode)
    return path


def config(home: Home, **sections: Any) -> dict[str, Any]:
    token = home.base / "access-token"
    token.write_text("tok\n")
    token.chmod(0o600)
    document: dict[str, Any] = {
        "mastodon": {"base_url": "https://m.example", "access_token_file": str(token)},
        "rpc": {"unix_socket": str(home.socket), "token_file": str(home.state_dir / "rpc.token")},
        "state_dir": str(home.state_dir),
    }
    for key, value in sections.items():
        document[key] = {**document.get(key, {}), **value} if isinstance(value, dict) else value
    return document


async def check(home: Home, path: Path) -> tuple[int, str, str]:
    return await run("check-config", "--config", str(path), env=home.env)


async def test_a_safe_config_is_ok_with_no_warning(home: Home) -> None:
    path = write_config(home, config(home))
    assert await check(home, path) == (0, f"{path}: ok\n", "")


def _no_token(document: dict[str, Any]) -> None:
    del document["mastodon"]["access_token_file"]


def _public_http(document: dict[str, Any]) -> None:
    document["rpc"]["http"] = {"host": "0.0.0.0", "port": 8765}


def _no_rpc_token(document: dict[str, Any]) -> None:
    document["rpc"]["require_token"] = False


@pytest.mark.parametrize(
    ("change", "warning"),
    [
        (
            _no_token,
            "no access token (mastodon.access_token_file, $MASTOD_ACCESS_TOKEN or the "
            "credential mastodon-access-token): only public endpoints will work; "
            "`mastod init` gets one",
        ),
        (
            _public_http,
            "rpc.http.host is '0.0.0.0', not loopback: other machines can reach the RPC "
            "listener (anyone with the token has full use of the account)",
        ),
        (
            _no_rpc_token,
            "rpc.require_token is false: every local user and process can use the account "
            "over HTTP",
        ),
    ],
)
async def test_risky_set_ups_are_warned_about(
    home: Home, change: Callable[[dict[str, Any]], None], warning: str
) -> None:
    document = config(home)
    change(document)
    path = write_config(home, document)
    assert await check(home, path) == (0, f"{path}: ok\n", f"mastod: warning: {warning}\n")


async def test_an_inline_token_in_a_config_others_can_read(home: Home) -> None:
    document = config(home)
    document["mastodon"] = {"base_url": "https://m.example", "access_token": "inline-secret"}
    private = write_config(home, document, 0o640)
    assert await check(home, private) == (0, f"{private}: ok\n", "")
    shared = write_config(home, document, 0o644)
    code, _, err = await check(home, shared)
    assert code == 0
    assert err == (
        f"mastod: warning: {shared} holds mastodon.access_token and other users can read it "
        "(chmod 600 it, or move the token to a file: access_token_file)\n"
    )
    assert "inline-secret" not in err


async def test_paths_serve_could_not_create_fail(home: Home) -> None:
    blocker = home.base / "a-file"
    blocker.write_text("")
    path = write_config(home, config(home, state_dir=str(blocker / "state")))
    assert await check(home, path) == (
        2,
        "",
        f"mastod: {path}: state_dir: cannot create {blocker}/state: {blocker} is not a directory\n",
    )
    # a directory of another user: this user may not create anything in it
    theirs = home.base / "theirs"
    theirs.mkdir(mode=0o755)
    os.chown(theirs, 65534, 65534)
    token_file = theirs / "rpc.token"
    path = write_config(home, config(home, rpc={"token_file": str(token_file)}))
    assert await check(home, path) == (
        2,
        "",
        f"mastod: {path}: rpc.token_file: cannot create {token_file}: Permission denied in "
        f"{theirs}\n",
    )
    socket_dir = theirs / "run"
    path = write_config(home, config(home, rpc={"unix_socket": str(socket_dir / "m.sock")}))
    code, _, err = await check(home, path)
    assert code == 2
    assert err.startswith(f"mastod: {path}: rpc.unix_socket: cannot create")
