"""`mastod call` as a real subprocess: what it sends (to a Unix-socket server that records the
request, or to the real daemon), and the one line it prints when something is wrong."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import grp
import json
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import BOUND, Home, run
from tests.security.proc import Proc, daemon, layout, sandbox_with_token


@dataclass
class Recorder:
    """A Unix-socket JSON-RPC server answering every request with `result`."""

    path: Path
    result: Any = True
    requests: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
async def recorder(home: Home) -> AsyncIterator[Recorder]:
    home.socket.parent.mkdir(mode=0o700)
    state = Recorder(home.socket)

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        line = await reader.readline()
        if line:
            request = json.loads(line)
            state.requests.append(request)
            reply = {"jsonrpc": "2.0", "id": request["id"], "result": state.result}
            writer.write(json.dumps(reply).encode() + b"\n")
            with contextlib.suppress(ConnectionError):  # the client may have gone
                await writer.drain()
        writer.close()

    server = await asyncio.start_unix_server(answer, path=str(home.socket))
    yield state
    server.close()
    await server.wait_closed()


@pytest.fixture
async def real_daemon(tmp_path: Path) -> AsyncIterator[Proc]:
    async with (
        sandbox_with_token() as (instance, token),
        daemon(layout(tmp_path, instance.url, token)) as running,
    ):
        yield running


async def test_file_params_are_sent_inline(home: Home, recorder: Recorder) -> None:
    photo = home.base / "home" / "photo.png"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n-not-really")
    code, _, err = await run(
        "call", "upload_media", "file=@~/photo.png", "description=@alice's photo",
        "--socket", str(recorder.path), env=home.env,
    )  # fmt: skip
    assert code == 0, err
    params = recorder.requests[0]["params"]
    assert params == {
        "file": {
            "data": base64.b64encode(photo.read_bytes()).decode(),
            "filename": "photo.png",
            "mime_type": "image/png",
        },
        "description": "@alice's photo",  # not a file parameter: taken as it is
    }
    code, _, err = await run(
        "call", "upload_media", "file=@missing.png", "--socket", str(recorder.path), env=home.env
    )
    assert (code, err) == (
        2,
        "mastod call: file: cannot read missing.png: No such file or directory\n",
    )


async def test_json_and_pairs_merge_and_pairs_win(home: Home, recorder: Recorder) -> None:
    code, _, err = await run(
        "call", "get_home_timeline", "--json", '{"limit": 5, "local": true}', "limit:=2",
        "--socket", str(recorder.path), env=home.env,
    )  # fmt: skip
    assert code == 0, err
    assert recorder.requests[0]["params"] == {"limit": 2, "local": True}
    _, out, _ = await run("call", "--help", env=home.env)
    assert "merged into it and win" in " ".join(out.split())


async def test_a_closed_stdout_ends_quietly(home: Home, recorder: Recorder) -> None:
    recorder.result = ["x" * 1000] * 2000  # more than a pipe holds
    shell = (
        f"{sys.executable} -m mastod call big --socket {recorder.path} 2>{home.base}/err "
        "| head -c 1 >/dev/null; echo ${PIPESTATUS[0]}"
    )
    proc = await asyncio.create_subprocess_exec("bash", "-c", shell, stdout=asyncio.subprocess.PIPE)
    out, _ = await asyncio.wait_for(proc.communicate(), BOUND)
    assert out.decode().strip() == "0"
    assert (home.base / "err").read_text() == ""


async def test_a_socket_of_another_group_is_named(home: Home) -> None:
    private = home.base / "private"
    private.mkdir(mode=0o750)
    os.chown(private, 65534, 65534)
    os.chmod(private, 0o750)
    sock = private / "mastod.sock"
    code, _, err = await run("call", "status", "--socket", str(sock), env=home.env)
    assert code == 1
    group = grp.getgrgid(65534).gr_name
    assert err == (
        f"mastod call: permission denied on {sock}: only members of the group {group!r} may "
        f"use the daemon (sudo usermod -aG {group} $USER, then log in again)\n"
    )


async def test_a_socket_of_another_group_found_by_the_config(home: Home) -> None:
    """No --socket: the config names the socket, in the daemon's directory (0750)."""
    private = home.base / "run-mastod"
    private.mkdir(mode=0o750)
    os.chown(private, 65534, 65534)
    config = home.base / "mastod.yaml"
    config.write_text(f"rpc: {{unix_socket: {private}/mastod.sock}}\n")
    code, _, err = await run("call", "status", env={**home.env, "MASTOD_CONFIG": str(config)})
    assert code == 1
    assert err.startswith(f"mastod call: permission denied on {private}/mastod.sock: only ")
    assert "usermod -aG" in err
    assert len(err.splitlines()) == 1


async def test_an_unreadable_config_is_no_traceback(home: Home) -> None:
    private = home.base / "private"
    private.mkdir(mode=0o700)
    os.chown(private, 65534, 65534)
    env = {**home.env, "MASTOD_CONFIG": str(private / "mastod.yaml")}
    code, _, err = await run("call", "status", env=env, cwd=home.base)
    assert code == 1
    assert err.startswith("mastod call: no daemon listening on ")
    assert len(err.splitlines()) == 1


async def test_profile_names_the_template_units_socket(home: Home) -> None:
    code, _, err = await run("call", "status", "--profile", "work", env=home.env)
    assert (code, err) == (
        1,
        "mastod call: no daemon listening on /run/mastod/work.sock (is `mastod serve` running?)\n",
    )
    code, _, err = await run("call", "status", "--profile", "../etc", env=home.env)
    assert code == 2
    assert err.startswith("mastod call: invalid profile name '../etc'")


async def test_the_socket_the_daemon_really_uses_is_found(home: Home, recorder: Recorder) -> None:
    # ./config/mastod.yaml names a socket no daemon listens on (as when `./run --config X`
    # serves elsewhere); the client finds the live one in the default places
    (home.base / "config" / "mastod.yaml").write_text("rpc: {unix_socket: /nonexistent.sock}\n")
    code, out, err = await run("call", "status", env=home.env, cwd=home.base)
    assert (code, out, err) == (0, "true\n", "")
    assert len(recorder.requests) == 1


async def test_parameter_errors_say_what_would_be_right(real_daemon: Proc) -> None:
    sock = ("--socket", str(real_daemon.layout.socket_path))
    code, _, err = await run("call", "get_home_timeline", "limit=5", *sock, as_user=False)
    assert code == 1
    error, hint = err.splitlines()
    assert json.loads(error)["message"] == "Invalid params: limit: must be an integer, got '5'"
    assert hint == "mastod call: hint: limit=5 sends a string; send JSON with limit:=5"
    _, _, err = await run("call", "get_home_timelin", *sock, as_user=False)
    message = json.loads(err)["message"]
    assert message == "Method not found: get_home_timelin (did you mean 'get_home_timeline'?)"
    _, _, err = await run("call", "get_status", "statusid=1", *sock, as_user=False)
    assert "(did you mean 'status_id'?)" in json.loads(err)["message"]
    _, _, err = await run(
        "call", "publish_status", "status=hi", "visibility=secret", *sock, as_user=False
    )
    assert "visibility: must be one of 'public', 'unlisted', 'private', 'direct'" in err
    assert "hint" not in err
