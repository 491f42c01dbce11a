"""The whole daemon as systemd runs it: start, READY, calls on every transport, SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import re
import resource
import socket
import stat
import sys
from pathlib import Path

import aiohttp

from mastod.daemon import raise_fd_limit
from tests.daemon.conftest import (
    ACCESS_TOKEN,
    Daemon,
    Upstream,
    start_daemon,
    write_config,
)


async def test_ready_only_when_listening(daemon: Daemon) -> None:
    assert stat.S_IMODE(os.stat(daemon.socket_path).st_mode) == 0o660
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{daemon.http_url}/health") as response,
    ):
        assert (await response.json())["status"] == "ok"
    assert stat.S_IMODE(os.stat(daemon.token_file).st_mode) == 0o600


async def test_get_status_end_to_end_over_the_socket(daemon: Daemon, upstream: Upstream) -> None:
    answer = await daemon.call("get_status", {"status_id": "109"})
    result = answer["result"]
    assert result["id"] == "109"
    assert result["attachments"] == [{"id": "1", "type": "image"}]
    assert result["hashtags"][0]["name"] == "demo"
    assert "media_attachments" not in result
    assert "tags" not in result
    assert upstream.seen[-1] == ("GET", "/api/v1/statuses/109", f"Bearer {ACCESS_TOKEN}")
    missing = await daemon.call("mastodon.get_status", [404])
    assert missing["error"]["code"] == -32004
    assert missing["error"]["data"] == {"http_status": 404, "error": "Record not found"}


async def test_http_and_websocket_with_the_generated_token(daemon: Daemon) -> None:
    headers = {"Authorization": f"Bearer {daemon.rpc_token}"}
    frame = {"jsonrpc": "2.0", "id": 1, "method": "get_status", "params": ["109"]}
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{daemon.http_url}/rpc", json=frame, headers=headers) as r:
            assert (await r.json())["result"]["id"] == "109"
        async with session.ws_connect(f"{daemon.http_url}/rpc", headers=headers) as ws:
            await ws.send_json(frame)
            assert (await ws.receive_json(timeout=5))["result"]["id"] == "109"
        async with session.post(f"{daemon.http_url}/rpc", json=frame) as r:
            assert r.status == 401


async def test_status_and_discover(daemon: Daemon) -> None:
    status = await daemon.status_when(lambda s: s["account_state"] != "checking")
    assert status["account"]["acct"] == "alice"
    assert (status["account_state"], status["account_error"]) == ("verified", None)
    assert status["version"]
    assert set(status["listeners"]) == {"unix", "http"}
    assert ACCESS_TOKEN not in json.dumps(status)
    assert daemon.rpc_token not in json.dumps(status)
    doc = (await daemon.call("rpc.discover"))["result"]
    names = {m["name"] for m in doc["methods"]}
    assert {"get_status", "status", "rpc.discover"} <= names


async def test_sigterm_finishes_in_flight_calls_and_cleans_up(
    daemon: Daemon, upstream: Upstream
) -> None:
    upstream.delay = 1.0
    reader, writer = await asyncio.open_unix_connection(str(daemon.socket_path))
    writer.write(b'{"jsonrpc":"2.0","id":"late","method":"get_status","params":["109"]}\n')
    await writer.drain()
    await asyncio.sleep(0.3)  # the call is now waiting on the upstream
    daemon.proc.terminate()
    answer = json.loads(await asyncio.wait_for(reader.readline(), 10))
    assert answer["result"]["id"] == "109"
    writer.close()
    assert await daemon.stop() == 0
    got = await daemon.notifications(until="STOPPING=1")
    assert any("STOPPING=1" in g for g in got)
    assert not daemon.socket_path.exists()


async def test_logs_hold_no_secret_and_one_line_per_call(daemon: Daemon) -> None:
    await daemon.call("get_status", ["109"])
    await daemon.call("status")
    headers = {"Authorization": f"Bearer {daemon.rpc_token}"}
    async with aiohttp.ClientSession() as session:
        frame = {"jsonrpc": "2.0", "id": 1, "method": "status"}
        async with session.post(f"{daemon.http_url}/rpc", json=frame, headers=headers):
            pass
        async with session.post(f"{daemon.http_url}/rpc", json=frame):
            pass  # 401
        async with session.get(f"{daemon.http_url}/health?token=not-logged"):
            pass
    rpc_token = daemon.rpc_token
    assert await daemon.stop() == 0
    await daemon._pump
    records = [json.loads(line) for line in daemon.stderr_lines if line.startswith("{")]
    assert records, daemon.stderr_lines
    text = "".join(daemon.stderr_lines)
    assert ACCESS_TOKEN not in text
    assert rpc_token not in text
    calls = [r for r in records if r["event"] == "rpc.call"]
    assert [(c["method"], c["transport"], c["outcome"]) for c in calls] == [
        ("get_status", "unix", "ok"),
        ("status", "unix", "ok"),
        ("status", "http", "ok"),
    ]
    # the call's line names the upstream request it made, which has no line of its own
    (fetch,) = calls[0]["upstream"]
    assert re.fullmatch(r"GET /api/v1/statuses/\{status_id\} 200 \d+ms", fetch), fetch
    assert "upstream" not in calls[1]
    requests = [r["path"] for r in records if r["event"] == "mastodon.request"]
    assert "/api/v1/statuses/{status_id}" not in requests
    # HTTP: a line per request that is not a successful RPC exchange, without the query
    http = [(r["verb"], r["path"], r["status"]) for r in records if r["event"] == "http.request"]
    assert http == [("POST", "/rpc", 401), ("GET", "/health", 200)]
    assert "not-logged" not in text


async def test_watchdog_pings(tmp_path: Path, upstream: Upstream) -> None:
    config = write_config(tmp_path, upstream.url)
    daemon = await start_daemon(tmp_path, config, env={"WATCHDOG_USEC": "200000"})
    try:
        await daemon.notifications(until="READY=1")
        pings = await daemon.notifications(until="WATCHDOG=1")
        pings += await daemon.notifications(until="WATCHDOG=1")
        assert sum("WATCHDOG=1" in p for p in pings) >= 2
    finally:
        assert await daemon.stop() == 0
        await daemon._pump
        daemon.notify.close()


async def run_cli(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "mastod",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_cli_call(daemon: Daemon) -> None:
    code, out, err = await run_cli(
        "call", "get_status", "status_id=109", "--socket", str(daemon.socket_path)
    )
    assert (code, json.loads(out)["id"], err) == (0, "109", "")
    code, out, err = await run_cli(
        "call", "--config", str(daemon.config_path), "get_status", "--json", '{"status_id": "nope"}'
    )
    assert (code, out) == (1, "")
    assert json.loads(err)["code"] == -32004
    code, out, err = await run_cli(
        "call", "get_status", "status_id:=[1", "--socket", str(daemon.socket_path)
    )
    assert code == 2
    assert "status_id: not valid JSON" in err
    assert "[1" not in err


async def test_cli_call_without_a_daemon(tmp_path: Path) -> None:
    code, _out, err = await run_cli("call", "status", "--socket", str(tmp_path / "none.sock"))
    assert code == 1
    assert "is `mastod serve` running?" in err


async def test_bad_config_is_one_line_and_exit_2(tmp_path: Path, upstream: Upstream) -> None:
    config = write_config(
        tmp_path, upstream.url, rpc={"http": {"host": "127.0.0.1", "port": 70000}}
    )
    for command in ("check-config", "serve"):
        code, out, err = await run_cli(command, "--config", str(config))
        assert code == 2
        assert "rpc.http.port" in err
        assert len(err.strip().splitlines()) == 1
        assert "Traceback" not in err
    good = write_config(tmp_path, upstream.url)
    code, out, _err = await run_cli("check-config", "--config", str(good))
    assert (code, out.strip().endswith(": ok")) == (0, True)


async def test_socket_activation_uses_the_inherited_socket(
    tmp_path: Path, upstream: Upstream
) -> None:
    """As systemd's mastod.socket does: fd 3 listening, LISTEN_PID/LISTEN_FDS set."""
    activated = tmp_path / "activated.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(activated))
    listener.listen()
    config = write_config(tmp_path, upstream.url)
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "n.sock"))
    fd = listener.fileno()
    proc = await asyncio.create_subprocess_exec(
        "bash",
        "-c",
        f'exec 3<&{fd}; LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" "$@"',
        sys.executable,
        "-m",
        "mastod",
        "serve",
        "--config",
        str(config),
        pass_fds=(fd,),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "NOTIFY_SOCKET": str(tmp_path / "n.sock")},
    )
    try:
        notify.settimeout(20)
        try:
            while b"READY=1" not in await asyncio.to_thread(notify.recv, 4096):
                pass
        except TimeoutError:
            assert proc.stderr is not None
            raise AssertionError((await proc.stderr.read()).decode()[-2000:]) from None
        reader, writer = await asyncio.open_unix_connection(str(activated))
        writer.write(b'{"jsonrpc":"2.0","id":1,"method":"status"}\n')
        status = json.loads(await asyncio.wait_for(reader.readline(), 10))["result"]
        writer.close()
        assert status["listeners"]["unix"] == str(activated)
        assert not (tmp_path / "run" / "mastod.sock").exists()
    finally:
        proc.terminate()
        assert await asyncio.wait_for(proc.wait(), 20) == 0
        listener.close()
        notify.close()
    assert activated.exists()  # systemd's socket: the daemon leaves it in place


def test_the_open_file_limit_is_raised_towards_what_subscribers_need() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))  # systemd's soft limit is 1024
        wanted = 4096 if hard == resource.RLIM_INFINITY else min(4096, hard)
        assert raise_fd_limit(4096) == wanted
        assert resource.getrlimit(resource.RLIMIT_NOFILE) == (wanted, hard)
        assert raise_fd_limit(100) == wanted  # never lowered
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
