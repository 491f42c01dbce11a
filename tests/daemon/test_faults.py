"""Faults a long-running daemon must survive (issue 13), on the real daemon as systemd runs
it: a subprocess, real signals, the notify socket. Upstream is the sandbox instance (in this
process, so a test can revoke a token or shift its clock) or a TCP server that never answers.
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from aiohttp import web

from mastod.rpc.errors import INTERNAL_ERROR, STOPPED_TEXT
from mastod.sandbox import CLIENT_ID, CLIENT_SECRET, RunningSandbox, Sandbox, start_sandbox
from tests.daemon.conftest import Daemon, free_port, start_daemon, write_config
from tests.servers import serve

SCOPES = "read write follow push"
SANDBOX_APP = "1"  # the sandbox's pre-registered app, whose client id and secret we hold


@pytest.fixture
async def instance() -> AsyncIterator[RunningSandbox]:
    running = await start_sandbox(sandbox=Sandbox())
    yield running
    await running.close()


def records(daemon: Daemon) -> list[dict[str, Any]]:
    return [json.loads(line) for line in daemon.stderr_lines if line.startswith("{")]


async def finish(daemon: Daemon) -> list[dict[str, Any]]:
    """Stop the daemon (it must exit 0); its log records."""
    assert await daemon.stop() == 0
    await daemon._pump
    daemon.notify.close()
    return records(daemon)


async def push_daemon(tmp_path: Path, instance: RunningSandbox, token: str, **extra: Any) -> Daemon:
    """The daemon with Web Push from the sandbox (to its loopback webhook) and `token`."""
    port = free_port()
    webhook = {"host": "127.0.0.1", "port": port, "public_url": f"http://127.0.0.1:{port}"}
    config = write_config(
        tmp_path, instance.url, notifications={"source": "push"}, webhook=webhook, **extra
    )
    (tmp_path / "access-token").write_text(token + "\n")
    daemon = await start_daemon(tmp_path, config)
    await daemon.notifications(until="READY=1", timeout=30)
    await daemon.status_when(
        lambda s: (
            s["account_state"] == "verified" and s["notifications"]["subscription"] == "registered"
        )
    )
    return daemon


async def reload(daemon: Daemon) -> str:
    """SIGHUP, then wait for the reload to be over (RELOADING=1 ... READY=1); the STATUS= it
    ended with."""
    daemon.proc.send_signal(signal.SIGHUP)
    await daemon.notifications(until="RELOADING=1")
    ready = (await daemon.notifications(until="READY=1"))[-1]
    return ready.partition("STATUS=")[2]


async def mention(instance: RunningSandbox) -> str:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{instance.url}/_sandbox/act", json={"action": "mention"}) as response,
    ):
        made: str = (await response.json())["notifications"][0]["id"]
    return made


async def delivered(daemon: Daemon, notification_id: str) -> None:
    """Wait until a subscriber replaying the store from the start gets `notification_id`."""
    reader, writer = await asyncio.open_unix_connection(str(daemon.socket_path), limit=1 << 24)
    try:
        frame = {"jsonrpc": "2.0", "id": 1, "method": "subscribe", "params": {"since_id": ""}}
        writer.write(json.dumps(frame).encode() + b"\n")
        while True:
            message = json.loads(await asyncio.wait_for(reader.readline(), 30))
            notification = message.get("params", {}).get("notification", {})
            if message.get("method") == "notification" and notification["id"] == notification_id:
                return
    finally:
        writer.close()


async def test_a_revoked_token_is_noticed_and_a_new_one_heals_on_sighup(
    tmp_path: Path, instance: RunningSandbox
) -> None:
    sandbox = instance.sandbox
    first = sandbox.add_token("first-token-7c1d9e", "1", SCOPES, SANDBOX_APP).token
    daemon = await push_daemon(tmp_path, instance, first)
    form = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "token": first}
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{instance.url}/oauth/revoke", data=form) as response,
    ):
        assert response.status == 200
    revoked_at = len(sandbox.recorded)

    answer = await daemon.call("get_home_timeline", {"limit": 1})
    assert answer["error"]["code"] == -32001
    status = (await daemon.call("status"))["result"]  # at once, not at the next re-check
    assert (status["account_state"], status["account_error"]) == (
        "unauthorized",
        "The access token was revoked",
    )
    assert status["status"] == "degraded"
    assert "SIGHUP" in status["problems"][0]
    status = await daemon.status_when(
        lambda s: s["notifications"]["subscription"].startswith("error")
    )
    assert status["notifications"]["subscription"] == "error: The access token was revoked"
    missed = await mention(instance)  # the instance cannot push it: no subscription now
    await daemon.call("get_home_timeline", {"limit": 1})  # a second 401: same episode
    since = [r.path for r in sandbox.recorded[revoked_at:] if not r.path.startswith("/_sandbox")]
    # the two calls and one subscription re-check: no burst
    assert since.count("/api/v1/timelines/home") == 2
    assert since.count("/api/v1/push/subscription") == 1
    assert "/api/v1/accounts/verify_credentials" not in since

    second = sandbox.add_token("second-token-52ab0f", "1", SCOPES, SANDBOX_APP).token
    (tmp_path / "access-token").write_text(second + "\n")
    await reload(daemon)
    status = await daemon.status_when(
        lambda s: (
            s["account_state"] == "verified" and s["notifications"]["subscription"] == "registered"
        )
    )
    assert (status["status"], status["problems"], status["account"]["acct"]) == ("ok", [], "alice")
    assert second in sandbox.push_subscriptions
    await delivered(daemon, missed)  # fetched by the catch-up after the token came back
    logs = await finish(daemon)
    text = "".join(daemon.stderr_lines)
    assert first not in text
    assert second not in text
    assert [e["event"] for e in logs].count("account.unauthorized") == 1
    [reloaded] = [e for e in logs if e["event"] == "daemon.reloaded"]
    assert reloaded["reloaded"] == ["mastodon.access_token"]


async def test_sighup_reloads_log_level_and_rpc_token_and_keeps_them_on_a_bad_config(
    tmp_path: Path, instance: RunningSandbox
) -> None:
    config = write_config(tmp_path, instance.url, log={"level": "info", "format": "json"})
    (tmp_path / "access-token").write_text(
        instance.sandbox.add_token("tok-93be41", "1", SCOPES, SANDBOX_APP).token + "\n"
    )
    daemon = await start_daemon(tmp_path, config)
    await daemon.notifications(until="READY=1", timeout=30)
    old_rpc = daemon.rpc_token
    assert (await daemon.call("status"))["result"]["status"] == "ok"

    doc = yaml.safe_load(config.read_text())
    doc["log"]["level"] = "warning"
    doc["rpc"]["shutdown_grace"] = 3.0  # needs a restart: named in the log, not applied
    config.write_text(yaml.safe_dump(doc))
    daemon.token_file.write_text("new-rpc-token-0d4c7a2b\n")
    assert await reload(daemon) == "reloaded: log.level, rpc.token"
    await daemon.call("status")  # not logged any more: info is below warning
    frame = {"jsonrpc": "2.0", "id": 1, "method": "status"}
    async with aiohttp.ClientSession() as session:
        for token, expected in ((old_rpc, 401), ("new-rpc-token-0d4c7a2b", 200)):
            headers = {"Authorization": f"Bearer {token}"}
            async with session.post(f"{daemon.http_url}/rpc", json=frame, headers=headers) as r:
                assert r.status == expected

    config.write_text("mastodon: [not, a, mapping\n")
    assert await reload(daemon) == "reload failed (config error), running values kept"
    status = (await daemon.call("status"))["result"]  # still served, with the same token
    assert status["account_state"] == "verified"
    logs = await finish(daemon)
    events = [e["event"] for e in logs]
    [reloaded] = [e for e in logs if e["event"] == "daemon.reloaded"]
    assert reloaded["reloaded"] == ["log.level", "rpc.token"]
    assert reloaded["restart_needed_for"] == ["rpc.shutdown_grace"]
    after = events[events.index("daemon.reloaded") :]
    assert "rpc.call" in events[: events.index("daemon.reloaded")]
    assert "rpc.call" not in after
    [failed] = [e for e in logs if e["event"] == "daemon.reload_failed"]
    assert failed["error"].startswith(str(config))
    assert "new-rpc-token-0d4c7a2b" not in "".join(daemon.stderr_lines)


async def test_skewed_clocks_do_not_silence_push(tmp_path: Path, instance: RunningSandbox) -> None:
    """The instance's clock 6 minutes ahead: every push's `exp` is over 24 h + 5 min away."""
    token = instance.sandbox.add_token("tok-skew-61e0", "1", SCOPES, SANDBOX_APP).token
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{instance.url}/_sandbox/clock", json={"offset": 360}) as response,
    ):
        assert response.status == 200
    daemon = await push_daemon(tmp_path, instance, token)
    first, second = await mention(instance), await mention(instance)
    await delivered(daemon, first)
    await delivered(daemon, second)
    status = await daemon.status_when(lambda s: s["notifications"]["pushes"]["clock_skewed"] == 2)
    pushes = status["notifications"]
    assert (pushes["pushes"]["accepted"], pushes["pushes"]["rejected"]) == (2, 0)
    assert 350 <= pushes["clock_skew_s"] <= 362
    assert 355 <= status["instance_clock"]["offset_s"] <= 362  # from the Date of its answers
    assert status["status"] == "degraded"
    said = re.fullmatch(
        r"the instance's clock is (\d+) s ahead of ours \(webhook\.clock_skew is 300 s\): .*",
        status["problems"][0],
    )
    assert said is not None
    assert 355 <= int(said[1]) <= 362
    logs = await finish(daemon)
    [skew] = [e for e in logs if e["event"] == "push.clock_skew"]  # once for the episode
    assert (skew["reason"], skew["window_s"]) == ("VAPID exp more than 24 h away", 300.0)
    assert 350 <= skew["offset_s"] <= 362


@pytest.fixture
async def silent() -> AsyncIterator[str]:
    """A TCP server that accepts connections and never answers."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    for writer in held:
        writer.close()
    server.close()
    await server.wait_closed()


async def test_a_silent_instance_holds_neither_ready_nor_sigterm(
    tmp_path: Path, silent: str
) -> None:
    config = write_config(tmp_path, silent, notifications={"source": "streaming"})
    daemon = await start_daemon(tmp_path, config)
    await daemon.notifications(until="READY=1", timeout=30)
    assert daemon.socket_path.exists()
    status = (await daemon.call("status"))["result"]
    assert (status["status"], status["account_state"]) == ("ok", "checking")
    assert status["notifications"]["source"] == "streaming"
    logs = await finish(daemon)  # SIGTERM while the account check and streaming still wait
    assert [e["event"] for e in logs][-1] == "daemon.stopped"
    assert not daemon.socket_path.exists()


@pytest.fixture
async def stuck() -> AsyncIterator[tuple[str, asyncio.Queue[str]]]:
    """An instance whose statuses never come (until the test is over): its URL and a queue
    that gets the path of each request as it arrives."""
    arrived: asyncio.Queue[str] = asyncio.Queue()
    release = asyncio.Event()

    async def status(request: web.Request) -> web.Response:
        arrived.put_nowait(request.path)
        await release.wait()
        return web.json_response({"error": "too late"}, status=503)

    async def me(_: web.Request) -> web.Response:
        return web.json_response({"id": "1", "username": "alice", "acct": "alice"})

    app = web.Application()
    app.router.add_get("/api/v1/statuses/{id}", status)
    app.router.add_get("/api/v1/accounts/verify_credentials", me)
    runner, url, _ = await serve(app)
    yield url, arrived
    release.set()
    await runner.cleanup()


async def call_pending(
    tmp_path: Path, stuck: tuple[str, asyncio.Queue[str]], grace: float
) -> tuple[Daemon, asyncio.Task[Any]]:
    """The daemon against the stuck instance, with `get_status` on its Unix socket held there;
    the task gives its answer."""
    url, arrived = stuck
    config = write_config(tmp_path, url, rpc={"shutdown_grace": grace})
    daemon = await start_daemon(tmp_path, config)
    await daemon.notifications(until="READY=1", timeout=30)
    reader, writer = await asyncio.open_unix_connection(str(daemon.socket_path))
    writer.write(b'{"jsonrpc":"2.0","id":"slow","method":"get_status","params":["1"]}\n')
    await writer.drain()

    async def answer() -> Any:
        line = await asyncio.wait_for(reader.readline(), 60)
        writer.close()
        return json.loads(line)

    task = asyncio.create_task(answer())
    assert await asyncio.wait_for(arrived.get(), 20) == "/api/v1/statuses/1"
    return daemon, task


STOPPED = {"code": INTERNAL_ERROR, "message": STOPPED_TEXT}


async def test_calls_past_the_grace_period_are_answered_daemon_stopped(
    tmp_path: Path, stuck: tuple[str, asyncio.Queue[str]]
) -> None:
    daemon, over_unix = await call_pending(tmp_path, stuck, grace=0.5)
    headers = {"Authorization": f"Bearer {daemon.rpc_token}"}
    frame = {"jsonrpc": "2.0", "id": 7, "method": "get_status", "params": ["2"]}
    async with aiohttp.ClientSession() as session:
        over_http = asyncio.create_task(
            session.post(f"{daemon.http_url}/rpc", json=frame, headers=headers)
        )
        assert await asyncio.wait_for(stuck[1].get(), 20) == "/api/v1/statuses/2"
        daemon.proc.terminate()
        assert (await over_unix) == {"jsonrpc": "2.0", "error": STOPPED, "id": "slow"}
        async with await over_http as response:
            assert await response.json() == {"jsonrpc": "2.0", "error": STOPPED, "id": 7}
    logs = await finish(daemon)
    [cancelled] = [e for e in logs if e["event"] == "daemon.calls_cancelled"]
    assert cancelled["count"] == 2


async def test_a_second_sigterm_cuts_the_grace_period_short(
    tmp_path: Path, stuck: tuple[str, asyncio.Queue[str]]
) -> None:
    daemon, pending = await call_pending(tmp_path, stuck, grace=600)
    daemon.proc.terminate()
    await daemon.notifications(until="STOPPING=1")
    daemon.proc.terminate()
    assert (await pending)["error"] == STOPPED
    logs = await finish(daemon)  # within its bound, far below the 600 s of grace
    assert "daemon.stop_now" in [e["event"] for e in logs]
